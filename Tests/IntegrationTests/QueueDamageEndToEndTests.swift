import Foundation
import MQTT
import StoreAndForward
import TestSupport
import Testing

/// The alarm system starts whatever state its files are in: the agent, as a process, started on
/// a queue directory that made earlier versions trap at every start (issue 16) samples,
/// publishes vitals, sounds a provoked desaturation alarm and reports the damage: a low
/// technical alarm, /readyz, /metrics, the damaged part moved aside.
@Suite(.tags(.slow))
struct QueueDamageEndToEndTests {
    typealias Rig = AlarmEndToEndTests.AlarmRig
    static let prefix = AlarmEndToEndTests.prefix

    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        /// An empty segment file named with the largest sequence.
        case segmentNamedWithTheLargestSequence
        /// A checkpoint with a valid CRC whose lowest unacknowledged sequence is UInt64.max.
        case checkpointAtTheLargestSequence
        /// A segment holding one CRC-valid record whose queue sequence is UInt64.max.
        case recordWithTheLargestSequence

        var testDescription: String { rawValue }

        /// Writes the damage into a fresh queue directory; returns the name of the damaged part.
        func write(into directory: String) throws -> String {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let name: String
            let bytes: [UInt8]
            switch self {
            case .segmentNamedWithTheLargestSequence:
                name = "18446744073709551615.seg"
                bytes = []
            case .checkpointAtTheLargestSequence:
                name = "checkpoint"
                bytes = QueueCheckpoint(lowestUnacknowledged: .max, lastStreamSequences: [:]).encoded()
            case .recordWithTheLargestSequence:
                name = DiskQueue.segmentName(1)
                guard let record = RecordFormat.encode(queueSequence: .max, streamSequence: 1,
                                                       topic: Array("\(QueueDamageEndToEndTests.prefix)/beds/chair-1/vitals".utf8),
                                                       payload: Array("{}".utf8)) else { throw TestFailure("record not encoded") }
                bytes = record
            }
            guard FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes)) else {
                throw TestFailure("cannot write \(name)")
            }
            return name
        }
    }

    static func json(_ message: MQTTClient.Message) -> [String: Any] { AlarmEndToEndTests.json(message) }

    @Test(arguments: Damage.allCases)
    func theAgentSamplesSoundsAlarmsAndReportsTheDamagedQueue(damage: Damage) throws {
        let alarm = try Rig("queue-damage", scenario: ["--scenario", "desaturation", "--scenario-after-s", "2"])
        defer { alarm.stopAll() }
        let rig = alarm.rig
        let damagedName = try damage.write(into: rig.queueDirectory)
        _ = try rig.startBroker()
        try alarm.prepare()
        let vitals = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/beds/+/vitals")
        let events = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/beds/+/alarms/events")
        try rig.startAgent()

        // It samples and publishes.
        let published = vitals.wait(timeout: 60) { $0.count >= 3 }
        #expect(published.count >= 3, "no vitals published:\n\(rig.agentOutput)")

        // The provoked alarm sounds: the high burst once SpO2 is served below 90 %.
        let deadline = Date().addingTimeInterval(60)
        var served: Int64? = nil
        while served == nil && Date() < deadline {
            served = alarm.firstServed("spo2", below: 90)
            if served == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        let servedAt = try #require(served, "the simulator never served SpO2 below 90")
        let high = alarm.waitForEdges(20, after: servedAt, timeout: 30)
        AlarmEndToEndTests.expectBurst(high, .high)
        #expect(rig.agentIsRunning, "the agent stopped:\n\(rig.agentOutput)")

        // The damage is reported: a low technical alarm on the bed, /readyz and /metrics.
        let received = events.wait(timeout: 30) { messages in
            messages.map(Self.json).contains { $0["condition"] as? String == "agent-queue-damaged" }
        }
        let raised = received.map(Self.json).first { $0["condition"] as? String == "agent-queue-damaged" }
        #expect(raised?["event"] as? String == "start" && raised?["priority"] as? String == "low"
                && raised?["kind"] as? String == "technical",
                "\(received.map { String(decoding: $0.payload, as: UTF8.self) })\n\(rig.agentOutput)")
        let readiness = try rig.fetch("/readyz")
        #expect(readiness.body.contains("ok queue: ") && readiness.body.contains("damaged part(s) moved aside")
                && readiness.body.contains(damagedName), "\(readiness.body)")
        let metrics = try rig.metrics()
        #expect(metrics["bedside_queue_quarantined_total"]?.first?.value == 1)
        #expect(metrics["bedside_queue_persistent"]?.first?.value == 1)

        // Moved aside with its reason, not deleted; the queue works on without it.
        let quarantine = rig.queueDirectory + "/" + DiskQueue.quarantineFolder
        let kept = (try? FileManager.default.contentsOfDirectory(atPath: quarantine)) ?? []
        #expect(kept.contains { $0.hasSuffix("-" + damagedName) } && kept.contains { $0.hasSuffix("-\(damagedName).reason") },
                "\(kept)")
        #expect(rig.agentOutput.contains("disk queue: ") && rig.agentOutput.contains("moved to"), "\(rig.agentOutput)")
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
    }

    /// A queue directory that can neither be used nor moved aside (below a plain file): the agent
    /// still samples, sounds alarms and publishes, without persistence, and says so.
    @Test func anUnusableQueueDirectoryLeavesTheAgentPublishingWithoutPersistence() throws {
        let alarm = try Rig("queue-unusable", scenario: ["--scenario", "desaturation", "--scenario-after-s", "2"])
        defer { alarm.stopAll() }
        let rig = alarm.rig
        let plainFile = rig.directory.appendingPathComponent("not-a-directory").path
        guard FileManager.default.createFile(atPath: plainFile, contents: Data([1])) else { throw TestFailure("cannot write \(plainFile)") }
        _ = try rig.startBroker()
        let ports = try rig.startSimulator(monitors: 1, arguments: ["--scenario", "desaturation", "--scenario-after-s", "2",
                                                                    "--update-ms", "250"])
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: AlarmEndToEndTests.periodMilliseconds,
                            queue: "{ directory: \(plainFile)/queue }",
                            extra: "hardware:\n  buzzer: { record_to: \(alarm.buzzerPath) }")
        let vitals = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/beds/+/vitals")
        let alarms = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/beds/+/alarms/#")
        try rig.startAgent()

        #expect(vitals.wait(timeout: 60) { $0.count >= 3 }.count >= 3, "no vitals published:\n\(rig.agentOutput)")
        // Events from before the first connection had nowhere to wait (that is the cost of no
        // persistence); the retained state, published after each connection, shows the fault.
        func activeConditions(_ messages: [MQTTClient.Message]) -> Set<String> {
            var conditions = Set<String>()
            for message in messages where message.topic.hasSuffix("/alarms/state") {
                for alarm in Self.json(message)["active"] as? [[String: Any]] ?? [] {
                    if let condition = alarm["condition"] as? String { conditions.insert(condition) }
                }
            }
            return conditions
        }
        let received = alarms.wait(timeout: 60) { activeConditions($0).isSuperset(of: ["agent-queue-unavailable", "spo2-low"]) }
        #expect(activeConditions(received).isSuperset(of: ["agent-queue-unavailable", "spo2-low"]),
                "\(received.map { String(decoding: $0.payload, as: UTF8.self) })\n\(rig.agentOutput)")
        #expect(alarm.waitForEdges(2, timeout: 30).count >= 2, "nothing sounded:\n\(rig.agentOutput)")
        let readiness = try rig.fetch("/readyz")
        #expect(readiness.status == 503 && readiness.body.contains("fail queue: not available"), "\(readiness.body)")
        #expect(try rig.metrics()["bedside_queue_persistent"]?.first?.value == 0)
        #expect(rig.agentOutput.contains("publishing without it"), "\(rig.agentOutput)")
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
    }
}
