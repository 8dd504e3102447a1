import Foundation
import MQTT
import TestSupport
import Testing

/// The infusion session record end to end, with the simulator at 4x (a monitor and a pump on
/// one bed), real mosquitto and the agent process (host build, or the firmware with FIRMWARE=…):
/// the pump starts the session; `kill -9` and a restart continue it under the same id; the
/// desaturation's alarm is in the record and its acknowledge names the command's sender; the
/// occlusion pauses the pump, which ends the session while the broker is down; the final record
/// arrives once it is back, and the box serves it at /sessions.
@Suite(.tags(.slow))
struct SessionEndToEndTests {
    static let prefix = "bedside/test/box-1"
    static let token = "session-test-token-0123456789abcdef"

    static func json(_ message: MQTTClient.Message) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]) ?? [:]
    }

    static func events(_ record: [String: Any]) -> [[String: Any]] { record["events"] as? [[String: Any]] ?? [] }

    @Test func aSessionIsRecordedThroughAKillAndABrokerOutageAndServedByTheBox() throws {
        let rig = try PublishingRig("session-e2e")
        defer { rig.stopAll() }
        let persistence = rig.directory.appendingPathComponent("broker-data")
        try FileManager.default.createDirectory(at: persistence, withIntermediateDirectories: true)
        var broker = try rig.startBroker(persistence: persistence)
        let sessionsDirectory = rig.directory.appendingPathComponent("sessions").path
        let tokensPath = rig.directory.appendingPathComponent("command-tokens").path
        try "central-1 \(Self.token) acknowledge-alarm,session-start,session-end\n"
            .write(toFile: tokensPath, atomically: true, encoding: .utf8)
        // 4x: the pump pauses (occlusion) and SpO2 starts falling 48 simulated seconds, 12 s, after the start.
        let ports = try rig.startSimulator(monitors: 2, arguments: ["--devices", "monitor:1,pump:1", "--update-ms", "250",
                                                                    "--scenario", "desaturation", "--scenario", "occlusion",
                                                                    "--scenario-after-s", "48"])
        let config = """
            site: test
            box: box-1
            mqtt: { host: 127.0.0.1, port: \(broker.port), keepalive_s: 5 }
            sampling: { interval_ms: 500 }
            queue: { directory: \(rig.queueDirectory) }
            health: { port: \(rig.healthPort), publish_interval_s: 10 }
            commands: { tokens_file: \(tokensPath) }
            charting: { interval_s: 2, fhir: false }
            sessions: { end_after_stopped_s: 14, directory: \(sessionsDirectory) }
            beds:
              - id: chair-1
                devices:
                  - { id: monitor-1, profile: patient-monitor, tcp: { host: 127.0.0.1, port: \(ports[0]) }, response_timeout_ms: 300 }
                  - { id: pump-1, profile: infusion-pump, tcp: { host: 127.0.0.1, port: \(ports[1]) }, response_timeout_ms: 300 }

            """
        try config.write(toFile: rig.configPath, atomically: true, encoding: .utf8)
        let running = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/beds/chair-1/session")
        // Persistent: the broker keeps this subscription and queues for it over its own restart.
        let finals = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/beds/chair-1/sessions",
                                             sessionID: "session-e2e-\(getpid())")
        let alarms = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/beds/chair-1/alarms/events")
        let responses = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/responses")
        try rig.startAgent()

        // The pump runs from the start: a session opens, and its record has rows.
        func openRecords() -> [[String: Any]] { running.messages.map(Self.json).filter { $0["state"] as? String == "open" } }
        running.wait(timeout: 20) { _ in openRecords().contains { ($0["rows"] as? [Any])?.count ?? 0 >= 2 } }
        guard let first = openRecords().last, let id = first["session"] as? String else {
            Issue.record("no open session record:\n\(rig.agentOutput)")
            return
        }
        #expect(first["started_by"] as? String == "pump")
        #expect(id.hasPrefix("chair-1-") && id.count == "chair-1-20261203T214900Z".count, "\(id)")
        let rowsBeforeKill = (first["rows"] as? [Any])?.count ?? 0

        // kill -9 and a restart: the same session goes on, its rows kept.
        rig.killAgent()
        let killedAt = running.messages.count
        try rig.startAgent()
        running.wait(timeout: 20) { messages in
            messages.dropFirst(killedAt).map(Self.json).contains { ($0["rows"] as? [Any])?.count ?? 0 > rowsBeforeKill + 1 }
        }
        let afterRestart = running.messages.dropFirst(killedAt).map(Self.json).filter { $0["state"] as? String == "open" }
        #expect(!afterRestart.isEmpty && afterRestart.allSatisfy { $0["session"] as? String == id },
                "the session did not continue under \(id):\n\(rig.agentOutput)")
        #expect(afterRestart.last.map { Self.events($0).filter { $0["event"] as? String == "session-start" }.count } == 1)
        #expect(afterRestart.last.map { Self.events($0).contains { $0["event"] as? String == "recording-resumed" } } == true)

        // The desaturation: spo2-low starts; acknowledged by command, the record names the sender.
        let started = alarms.wait(timeout: 40) { messages in
            messages.map(Self.json).contains { $0["event"] as? String == "start" && $0["condition"] as? String == "spo2-low" }
        }
        guard let alarmID = started.map(Self.json).first(where: { $0["condition"] as? String == "spo2-low" })?["alarm"] as? String else {
            Issue.record("no spo2-low alarm:\n\(rig.agentOutput)")
            return
        }
        let sender = try CommandSender(port: broker.port, topic: "\(Self.prefix)/commands", responses: responses)
        try sender.send(#"{"id":"s-1","issued":"\#(utcTimestampNow())","command":"acknowledge-alarm","token":"\#(Self.token)","bed":"chair-1","alarm":"\#(alarmID)"}"#)
        try sender.send(#"{"id":"s-2","issued":"\#(utcTimestampNow())","command":"session-start","token":"\#(Self.token)","bed":"chair-1"}"#)
        let answers = responses.messages.map(Self.json)
        #expect(answers.first?["result"] as? String == "accepted", "\(answers)")
        #expect((answers.dropFirst().first?["reason"] as? String)?.contains("open session already (\(id))") == true, "\(answers)")
        let acknowledged = running.wait(timeout: 10) { messages in
            messages.map(Self.json).contains { record in
                Self.events(record).contains { $0["event"] as? String == "alarm-acknowledge" && $0["by"] as? String == "command:central-1" }
            }
        }
        #expect(acknowledged.map(Self.json).contains { record in
            Self.events(record).contains { $0["event"] as? String == "alarm-acknowledge" && $0["by"] as? String == "command:central-1" }
        }, "\(acknowledged.last.map { String(decoding: $0.payload, as: UTF8.self) } ?? "")")

        // The broker goes away; the paused pump ends the session meanwhile.
        broker.stop(graceful: true)
        try waitUntil(timeout: 40, checkingEvery: 0.2) {
            FileManager.default.fileExists(atPath: "\(sessionsDirectory)/\(id).json")
        }
        #expect(FileManager.default.fileExists(atPath: "\(sessionsDirectory)/\(id).json"), "\(rig.agentOutput)")
        broker = try rig.startBroker(persistence: persistence, port: broker.port)
        let delivered = finals.wait(timeout: 60) { !$0.isEmpty }
        guard let final = delivered.first.map(Self.json) else {
            Issue.record("the final record never arrived:\n\(rig.agentOutput)")
            return
        }
        #expect(final["session"] as? String == id && final["state"] as? String == "ended")
        #expect(final["ended_by"] as? String == "pump-stopped")
        let names = Self.events(final).compactMap { $0["event"] as? String }
        for name in ["session-start", "pump-rate", "pump-occlusion", "pump-paused", "alarm-start", "alarm-acknowledge", "session-end"] {
            #expect(names.contains(name), "\(name) missing from \(names)")
        }
        // The desaturation in the rows: an SpO2 minimum below 90.
        let rows = final["rows"] as? [[String: Any]] ?? []
        let lowest = rows.flatMap { ($0["values"] as? [[String: Any]]) ?? [] }
            .filter { $0["name"] as? String == "spo2" }.compactMap { $0["min"] as? Double }.min()
        #expect((lowest ?? 100) < 90, "no desaturation in \(rows.count) rows")
        let summary = final["summary"] as? [String: Any] ?? [:]
        #expect((summary["spo2_lowest"] as? Double ?? 100) < 90 && (summary["spo2_below_90_s"] as? Double ?? 0) > 0, "\(summary)")
        let conditions = (summary["alarms"] as? [[String: Any]] ?? []).compactMap { $0["condition"] as? String }
        #expect(conditions.contains("spo2-low"), "\(summary)")

        // The box serves it: listed, and the same bytes as the file.
        let list = try rig.fetch("/sessions")
        #expect(list.status == 200 && list.body.contains("\"session\":\"\(id)\""), "\(list)")
        let served = try rig.fetch("/sessions/\(id).json")
        let stored = try String(contentsOfFile: "\(sessionsDirectory)/\(id).json", encoding: .utf8)
        #expect(served.status == 200 && served.body == stored)
        #expect(try rig.fetch("/sessions/..%2Fgateway.yaml").status == 404)
        // And draws it: one SVG page that xmllint accepts, with the desaturation's alarm on it.
        let picture = try rig.fetch("/sessions/\(id).svg")
        #expect(picture.status == 200 && picture.body.contains("<svg ") && picture.body.contains(id)
                && picture.body.contains("spo2-low"), "\(picture.status) \(picture.body.prefix(300))")
        let picturePath = ProcessInfo.processInfo.environment["SESSION_PICTURE_OUT"]
            ?? rig.directory.appendingPathComponent("session.svg").path
        try picture.body.write(toFile: picturePath, atomically: true, encoding: .utf8)
        let xmllint = Process()
        xmllint.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        xmllint.arguments = ["--noout", picturePath]
        try xmllint.run()
        xmllint.waitUntilExit()
        #expect(xmllint.terminationStatus == 0, "xmllint refused the served picture (run Deploy/install-deps.sh if it is missing)")
        // Alarm statistics in /metrics.
        let metrics = try rig.metrics()
        #expect(metrics["bedside_alarms_started_total"]?.contains {
            $0.labels["condition"] == "spo2-low" && $0.labels["priority"] == "high" && $0.value >= 1 } == true)
        #expect(metrics["bedside_alarm_acknowledge_seconds_count"]?.contains {
            $0.labels["condition"] == "spo2-low" && $0.value >= 1 } == true)
        if let path = ProcessInfo.processInfo.environment["SESSION_RECORD_OUT"] { try stored.write(toFile: path, atomically: true, encoding: .utf8) }
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
    }
}
