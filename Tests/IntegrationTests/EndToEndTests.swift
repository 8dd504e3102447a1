import Foundation
import Testing
import TestSupport
import RegisterMaps
import Vitals

/// The whole path as a user runs it: Debian's mosquitto, the simulator serving patient
/// monitors over Modbus TCP, and the agent as a separate process, all on loopback.
@Suite(.serialized)
struct EndToEndTests {
    struct ServedRecord {
        var wallMilliseconds: Int64
        var port: Int
        var values: [String: Double]
    }

    static let intervalMilliseconds: Int64 = 1000
    static let monitorPoints = BuiltinProfiles.patientMonitor.points.count

    @Test func publishedVitalsEqualWhatTheSimulatorServed() throws {
        let directory = try temporaryDirectory("e2e")
        let broker = try MosquittoBroker()
        let firstDevicePort = freeLoopbackPort()
        let secondDevicePort = firstDevicePort == 65_535 ? firstDevicePort - 1 : firstDevicePort + 1
        let silentDevicePort = freeLoopbackPort()
        let servedLog = directory.appendingPathComponent("served.jsonl").path

        let simulator = try ChildProcess(
            name: "simulator",
            command: [simulatorBinary(), "--port", String(firstDevicePort), "--count", "2",
                      "--seed", "7", "--nibp-interval-s", "3", "--served-log", servedLog],
            directory: directory)
        defer { simulator.stop() }
        #expect(waitForListener(port: firstDevicePort), "simulator did not listen: \(simulator.output)")
        #expect(waitForListener(port: secondDevicePort), "simulator did not listen: \(simulator.output)")

        let configPath = directory.appendingPathComponent("gateway.yaml").path
        try """
            # end-to-end test configuration
            site: test
            box: box-1
            mqtt:
              host: 127.0.0.1
              port: \(broker.port)
            sampling:
              interval_ms: \(Self.intervalMilliseconds)
            queue: { directory: \(directory.path)/queue }
            health: { port: 0 }
            beds:
              - id: chair-1
                devices:
                  - id: monitor-1
                    profile: patient-monitor
                    tcp: { host: 127.0.0.1, port: \(firstDevicePort) }
              - id: chair-2
                devices:
                  - id: monitor-2
                    profile: patient-monitor
                    tcp: { host: 127.0.0.1, port: \(secondDevicePort) }
              - id: chair-3
                devices:
                  - id: monitor-unplugged
                    profile: patient-monitor
                    tcp: { host: 127.0.0.1, port: \(silentDevicePort) }
                    response_timeout_ms: 200
            """.write(toFile: configPath, atomically: true, encoding: .utf8)

        let descriptions = try RecordingSubscriber(port: broker.port, topic: "bedside/test/box-1/beds/+/description")
        let subscriber = try RecordingSubscriber(port: broker.port, topic: "bedside/test/box-1/beds/+/vitals")
        let agent = try ChildProcess(name: "agent", command: agentCommand() + ["run", "--config", configPath],
                                     directory: directory)
        // Six messages per bed; generous time so qemu or a loaded machine is not a failure.
        let messages = subscriber.wait(timeout: 60) { messages in
            let perBed = Dictionary(grouping: messages, by: \.topic).mapValues(\.count)
            return perBed.count == 3 && perBed.values.allSatisfy { $0 >= 6 }
        }
        let agentStatus = agent.stop()
        #expect(agentStatus == 0, "agent exit status \(agentStatus); output:\n\(agent.output)")

        let decoded = try interpretVitals(messages, descriptions: descriptions.messages)
        let byBed = Dictionary(grouping: decoded, by: \.bedID)
        #expect(Set(byBed.keys) == ["chair-1", "chair-2", "chair-3"], "agent output:\n\(agent.output)")

        // Per-bed sequence numbers count up from 1 without gaps.
        for (bed, bedMessages) in byBed {
            #expect(bedMessages.map(\.sequence) == Array(1...Int64(bedMessages.count)), "bed \(bed)")
        }

        let served = try Self.readServedLog(servedLog)
        let portOfBed = ["chair-1": firstDevicePort, "chair-2": secondDevicePort]
        for bed in ["chair-1", "chair-2"] {
            let bedMessages = byBed[bed] ?? []
            #expect(bedMessages.count >= 6)
            var distinctReadings = Set<[Double]>()
            for message in bedMessages {
                #expect(message.values.count == Self.monitorPoints, "\(bed) #\(message.sequence) carries \(message.values.count) values")
                #expect(Self.parseTime(message.time) != nil, "unparseable time \(message.time)")
                for value in message.values {
                    #expect(value.quality == "ok", "\(bed) #\(message.sequence) \(value.name) quality \(value.quality)")
                    #expect(value.device == (bed == "chair-1" ? "monitor-1" : "monitor-2"))
                }
                #expect(message.value(named: "spo2")?.unit == "%")
                #expect(message.value(named: "etco2")?.unit == "mm[Hg]")
                #expect(message.value(named: "heart_rate")?.unit == "{beat}/min")

                // What the simulator served within one cycle before the sample must match exactly.
                let sampleTime = Self.parseTime(message.time) ?? 0
                let candidates = served.filter {
                    $0.port == portOfBed[bed]
                        && $0.wallMilliseconds <= sampleTime + 100
                        && $0.wallMilliseconds >= sampleTime - Self.intervalMilliseconds - 100
                }
                let received = Dictionary(uniqueKeysWithValues: message.values.map { ($0.name, $0.value ?? .nan) })
                let matches = candidates.contains { $0.values == received }
                #expect(matches, """
                    \(bed) #\(message.sequence) at \(message.time): received \(received.sorted { $0.key < $1.key })
                    but the simulator served \(candidates.map { $0.values.sorted { $0.key < $1.key } })
                    """)
                distinctReadings.insert(message.values.map { $0.value ?? .nan })
            }
            // The vitals move: a simulator that served constants would not pass this.
            #expect(distinctReadings.count >= 3, "\(bed): only \(distinctReadings.count) distinct readings")
        }

        // The unplugged monitor is reported as comm-loss every cycle, without stopping the others.
        for message in byBed["chair-3"] ?? [] {
            #expect(message.values.count == Self.monitorPoints)
            #expect(message.values.allSatisfy { $0.quality == "comm-loss" && $0.value == nil })
        }
        #expect(agent.output.contains("monitor-unplugged lost"), "agent output:\n\(agent.output)")
    }

    @Test func brokenConfigIsRefusedWithItsPosition() throws {
        let directory = try temporaryDirectory("refuse")
        let configPath = directory.appendingPathComponent("broken.yaml").path
        try """
            site: test
            box: box-1
            mqtt:
              host: 127.0.0.1
              port: 70000
            beds: []
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let run = try runToCompletion(agentCommand() + ["run", "--config", configPath])
        #expect(run.status == 2)
        #expect(run.output.contains("\(configPath):5:9: mqtt.port: 70000 is out of range (1...65535)"), "\(run.output)")
        #expect(run.output.contains("refusing to start"))

        let check = try runToCompletion(agentCommand() + ["check", configPath])
        #expect(check.status == 2)
        #expect(check.output.contains("\(configPath):5:9: mqtt.port"), "\(check.output)")
        #expect(check.output.contains("beds"), "\(check.output)")
    }

    @Test func withoutRealTimePrivilegesItWarnsOnceAndStillSamples() throws {
        let directory = try temporaryDirectory("unprivileged")
        let broker = try MosquittoBroker()
        let firstPort = freeConsecutiveLoopbackPorts(2)
        let simulator = try ChildProcess(name: "simulator",
                                         command: [simulatorBinary(), "--port", String(firstPort), "--count", "2"],
                                         directory: directory)
        defer { simulator.stop() }
        #expect(waitForListener(port: firstPort + 1), "simulator did not listen: \(simulator.output)")
        let configPath = directory.appendingPathComponent("gateway.yaml").path
        try """
            site: test
            box: box-1
            mqtt: { host: 127.0.0.1, port: \(broker.port) }
            sampling: { interval_ms: 500, priority: 80 }
            queue: { directory: \(directory.path)/queue }
            health: { port: 0 }
            beds:
              - id: chair-1
                devices:
                  - { id: monitor-1, profile: patient-monitor, tcp: { host: 127.0.0.1, port: \(firstPort) } }
              - id: chair-2
                devices:
                  - { id: monitor-2, profile: patient-monitor, tcp: { host: 127.0.0.1, port: \(firstPort + 1) } }
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let descriptions = try RecordingSubscriber(port: broker.port, topic: "bedside/test/box-1/beds/+/description")
        let subscriber = try RecordingSubscriber(port: broker.port, topic: "bedside/test/box-1/beds/+/vitals")
        // Root without CAP_SYS_NICE and CAP_IPC_LOCK: what a unit without those capabilities gets.
        let agent = try ChildProcess(name: "agent",
                                     command: ["setpriv", "--bounding-set", "-sys_nice,-ipc_lock"] + agentCommand()
                                         + ["run", "--config", configPath],
                                     directory: directory)
        let messages = subscriber.wait(timeout: 60) { $0.count >= 6 }
        #expect(agent.stop() == 0)
        #expect(messages.count >= 6, "agent output:\n\(agent.output)")
        let decoded = try interpretVitals(messages, descriptions: descriptions.messages)
        #expect(decoded.allSatisfy { message in message.values.allSatisfy { $0.quality == "ok" } })
        let lines = agent.output.split(separator: "\n")
        // Two buses, one warning: the clinician's IT person reads it once, not once per device.
        #expect(lines.filter { $0.contains("SCHED_FIFO") }.count == 1, "agent output:\n\(agent.output)")
        // A sanitizer's runtime replaces mlockall with a no-op that succeeds, so there is no failure to warn of.
        if sanitizerInUse == nil {
            #expect(lines.contains { $0.contains("mlockall") }, "agent output:\n\(agent.output)")
        }
    }

    @Test func theAgentWaitsForABrokerThatStartsLateAndReconnectsAfterARestart() throws {
        let directory = try temporaryDirectory("late-broker")
        let brokerPort = freeLoopbackPort()
        let devicePort = freeLoopbackPort()
        let simulator = try ChildProcess(name: "simulator", command: [simulatorBinary(), "--port", String(devicePort)],
                                         directory: directory)
        defer { simulator.stop() }
        #expect(waitForListener(port: devicePort), "simulator did not listen: \(simulator.output)")
        let configPath = directory.appendingPathComponent("gateway.yaml").path
        try """
            site: test
            box: box-1
            mqtt: { host: 127.0.0.1, port: \(brokerPort) }
            sampling: { interval_ms: 500 }
            queue: { directory: \(directory.path)/queue }
            health: { port: 0 }
            beds:
              - id: chair-1
                devices:
                  - { id: monitor-1, profile: patient-monitor, tcp: { host: 127.0.0.1, port: \(devicePort) } }
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let agent = try ChildProcess(name: "agent", command: agentCommand() + ["run", "--config", configPath],
                                     directory: directory)
        defer { agent.stop() }
        // What is tested: three seconds without a broker and the agent is still running.
        Thread.sleep(forTimeInterval: 3)
        #expect(agent.process.isRunning, "the agent must not give up without a broker:\n\(agent.output)")

        for round in 1...2 {
            let broker = try MosquittoBroker(port: brokerPort)
            let subscriber = try RecordingSubscriber(port: brokerPort, topic: "bedside/test/box-1/beds/+/vitals")
            // Reconnect backoff is at most 30 s; allow for it.
            let messages = subscriber.wait(timeout: 45) { $0.count >= 2 }
            #expect(messages.count >= 2, "round \(round): no vitals after the broker came up\n\(agent.output)")
            broker.stop()
        }
        #expect(agent.stop() == 0)
        // What was sampled before the broker first came up waited in the disk queue.
        #expect(agent.output.contains("replaying"), "\(agent.output)")
    }

    /// 32 monitors on 32 endpoints at 1 s: a bus thread each, all asleep most of the time. The
    /// unit's TimeoutStopSec is 15 s, and during a restart no alarm can sound, so SIGTERM must
    /// end the agent quickly whatever the number of buses. The bound is generous for a shared
    /// machine; Deploy/bench-stop.sh measures the figure.
    @Test func sigtermStopsThirtyTwoBusesWithinThreeSeconds() throws {
        let directory = try temporaryDirectory("stop-32-buses")
        let broker = try MosquittoBroker()
        let buses = 32
        let firstPort = freeConsecutiveLoopbackPorts(buses)
        let simulator = try ChildProcess(name: "simulator",
                                         command: [simulatorBinary(), "--port", String(firstPort), "--count", String(buses)],
                                         directory: directory)
        defer { simulator.stop() }
        #expect(waitForListener(port: firstPort + buses - 1), "simulator did not listen: \(simulator.output)")
        let configPath = directory.appendingPathComponent("gateway.yaml").path
        var config = """
            site: test
            box: box-1
            mqtt: { host: 127.0.0.1, port: \(broker.port) }
            sampling: { interval_ms: 1000 }
            queue: { directory: \(directory.path)/queue }
            health: { port: 0 }
            beds:

            """
        for bus in 0..<buses {
            config += """
                  - id: chair-\(bus + 1)
                    devices:
                      - { id: monitor-\(bus + 1), profile: patient-monitor, tcp: { host: 127.0.0.1, port: \(firstPort + bus) } }

                """
        }
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let subscriber = try RecordingSubscriber(port: broker.port, topic: "bedside/test/box-1/beds/+/vitals")
        let agent = try ChildProcess(name: "agent", command: agentCommand() + ["run", "--config", configPath],
                                     directory: directory)
        defer { agent.kill() }
        // Every bus has sampled a few periods and is asleep until its next one.
        let messages = subscriber.wait(timeout: 60) { $0.count >= 3 * buses && Set($0.map(\.topic)).count == buses }
        #expect(Set(messages.map(\.topic)).count == buses, "not every bed published:\n\(agent.output)")

        let signalled = Date()
        agent.process.terminate()
        // Waited for well past the bound, so a slow stop shows its length instead of a bare failure.
        waitUntil(timeout: 40, checkingEvery: 0.01) { !agent.process.isRunning }
        let elapsed = Date().timeIntervalSince(signalled)
        #expect(!agent.process.isRunning, "the agent did not stop within 40 s of SIGTERM")
        #expect(elapsed <= 3, "SIGTERM to exit took \(String(format: "%.2f", elapsed)) s with \(buses) buses")
        agent.process.waitUntilExit()
        #expect(agent.process.terminationStatus == 0, "agent output:\n\(agent.output)")
    }

    @Test func versionNamesTheBuild() throws {
        let result = try runToCompletion(agentCommand() + ["--version"])
        #expect(result.status == 0)
        #expect(result.output.hasPrefix("bedside-gateway "), "\(result.output)")
    }

    static func readServedLog(_ path: String) throws -> [ServedRecord] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let time = object["t_ms"] as? NSNumber, let port = object["port"] as? NSNumber,
                  let values = object["values"] as? [String: NSNumber] else {
                throw TestFailure("unreadable served-log line: \(line)")
            }
            return ServedRecord(wallMilliseconds: time.int64Value, port: port.intValue,
                                values: values.mapValues(\.doubleValue))
        }
    }

    static func parseTime(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}
