import Foundation
import MQTT
import TestSupport

/// One publishing test's world: a broker (restartable on the same port), the simulator with
/// a monitor per bed, the agent with its own queue directory and health port.
final class PublishingRig {
    let directory: URL
    let queueDirectory: String
    let healthPort = freeLoopbackPort()
    private(set) var brokerPort = freeLoopbackPort()
    private var brokers: [MosquittoBroker] = []
    private var simulator: ChildProcess?
    private var agent: ChildProcess?
    private var agentLogs: [String] = []
    let configPath: String

    init(_ label: String) throws {
        directory = try temporaryDirectory(label)
        queueDirectory = directory.appendingPathComponent("queue").path
        configPath = directory.appendingPathComponent("gateway.yaml").path
    }

    @discardableResult
    func startBroker(persistence: URL? = nil, port: Int? = nil, config: String? = nil) throws -> MosquittoBroker {
        if let port { brokerPort = port }
        let broker = try MosquittoBroker(port: brokerPort, config: config, persistence: persistence)
        brokers.append(broker)
        return broker
    }

    /// `monitors` patient monitors on consecutive loopback ports; returns the ports.
    /// `arguments`: more simulator options (scenarios, `--served-log`).
    func startSimulator(monitors: Int, arguments: [String] = []) throws -> [Int] {
        let first = freeConsecutiveLoopbackPorts(monitors)
        let child = try ChildProcess(name: "simulator",
                                     command: [simulatorBinary(), "--port", String(first), "--count", String(monitors)] + arguments,
                                     directory: directory)
        simulator = child
        guard waitForListener(port: first + monitors - 1, timeout: 30) else {
            throw TestFailure("simulator did not start: \(child.output)")
        }
        return Array(first..<(first + monitors))
    }

    /// One bed per port, each with one monitor; ids chair-N / monitor-N.
    func writeConfig(bedPorts: [Int], intervalMilliseconds: Int, mqttPort: Int? = nil, mqttExtra: String = "",
                     queue: String? = nil, healthPublishSeconds: Int = 10, extra: String = "") throws {
        var beds = ""
        for (index, port) in bedPorts.enumerated() {
            beds += """
                  - id: chair-\(index + 1)
                    devices:
                      - { id: monitor-\(index + 1), profile: patient-monitor, tcp: { host: 127.0.0.1, port: \(port) }, response_timeout_ms: 300 }

                """
        }
        let text = """
            site: test
            box: box-1
            mqtt: { host: 127.0.0.1, port: \(mqttPort ?? brokerPort), keepalive_s: 5\(mqttExtra.isEmpty ? "" : ", " + mqttExtra) }
            sampling: { interval_ms: \(intervalMilliseconds) }
            queue: \(queue ?? "{ directory: \(queueDirectory) }")
            health: { port: \(healthPort), publish_interval_s: \(healthPublishSeconds), require_clock_sync: true }
            \(extra)
            beds:
            \(beds)
            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func writeCredentials(name: String, username: String, password: String) throws -> String {
        let path = directory.appendingPathComponent("credentials-\(name)").path
        try "# MQTT credentials\nusername=\(username)\npassword=\(password)\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    /// `environment`: variables added to the test's own (e.g. NOTIFY_SOCKET).
    func startAgent(environment: [String: String] = [:]) throws {
        if let agent { agentLogs.append(agent.output) }
        agent = try ChildProcess(name: "agent-\(agentLogs.count + 1)", command: agentCommand() + ["run", "--config", configPath],
                                 directory: directory, environment: environment)
    }

    /// SIGSTOP or SIGCONT to the agent.
    func signalAgent(_ signal: Int32) {
        if let agent, agent.process.isRunning { kill(agent.process.processIdentifier, signal) }
    }

    var agentIsRunning: Bool { agent?.process.isRunning ?? false }
    /// Everything every agent of this rig said, oldest first.
    var agentOutput: String { (agentLogs + [agent?.output ?? ""]).joined(separator: "\n--- restarted ---\n") }

    func killAgent() { agent?.kill() }

    @discardableResult
    func stopAgent() -> Int32 { agent?.stop(grace: 30) ?? -1 }

    func stopAll() {
        if agentIsRunning { _ = stopAgent() }
        simulator?.kill()
        for broker in brokers { broker.stop() }
    }

    struct Sample {
        var labels: [String: String]
        var value: Double
    }

    /// /metrics, parsed by prometheus_client (Debian's python3-prometheus-client), an
    /// implementation independent of ours: family name → samples.
    func metrics() throws -> [String: [Sample]] {
        let script = """
            import json, sys, urllib.request
            from prometheus_client.parser import text_string_to_metric_families
            text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
            out = {}
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    out.setdefault(sample.name, []).append({"labels": sample.labels, "value": sample.value})
            print(json.dumps(out))
            """
        let result = try runToCompletion(["/usr/bin/python3", "-c", script, "http://127.0.0.1:\(healthPort)/metrics"], timeout: 30)
        guard result.status == 0,
              let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: [[String: Any]]]
        else { throw TestFailure("/metrics did not parse: \(result.output)") }
        return object.mapValues { samples in
            samples.map { Sample(labels: $0["labels"] as? [String: String] ?? [:], value: ($0["value"] as? NSNumber)?.doubleValue ?? .nan) }
        }
    }

    /// GET over plain HTTP/1.1 from Python's standard library: status and body.
    func fetch(_ path: String) throws -> (status: Int, body: String) {
        let script = """
            import sys, urllib.request, urllib.error
            try:
                response = urllib.request.urlopen(sys.argv[1], timeout=10)
                print(response.status); print(response.read().decode(), end="")
            except urllib.error.HTTPError as error:
                print(error.code); print(error.read().decode(), end="")
            """
        let result = try runToCompletion(["/usr/bin/python3", "-c", script, "http://127.0.0.1:\(healthPort)\(path)"], timeout: 30)
        let lines = result.output.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = lines.first, let status = Int(first) else { throw TestFailure("GET \(path): \(result.output)") }
        return (status, lines.count > 1 ? String(lines[1]) : "")
    }
}

/// Now plus `offset` seconds, in RFC 3339 UTC with milliseconds as the agent writes times
/// (so two compare as strings): issue times of commands, bounds on message times.
func utcTimestampNow(offset: TimeInterval = 0) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date().addingTimeInterval(offset))
}

/// Publishes commands as a central station would, one at a time: each `send` waits for the
/// agent's reply on `responses`, so replies come back in the order sent.
final class CommandSender {
    private let client: MQTTClient
    private let topic: String
    private let responses: RecordingSubscriber

    init(port: Int, topic: String, responses: RecordingSubscriber) throws {
        self.topic = topic
        self.responses = responses
        client = try MQTTClient(clientID: "test-central-\(UUID().uuidString.prefix(8))")
        try client.start(host: "127.0.0.1", port: port, keepaliveSeconds: 30)
        guard waitUntil(timeout: 15, { client.isConnected }) else {
            throw TestFailure("the command sender did not connect to the broker on port \(port)")
        }
    }

    /// Publishes `payload` and waits up to 30 s for one more reply; a command that gets none
    /// shows up in the test's count of replies.
    func send(_ payload: String) throws {
        let repliesBefore = responses.messages.count
        try client.publish(topic: topic, payload: payload, qos: .atLeastOnce)
        _ = responses.wait(timeout: 30) { $0.count > repliesBefore }
    }

    deinit { client.stop() }
}
