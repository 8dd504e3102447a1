import Foundation
import Testing
import TestSupport

/// Deploy/mqtt/mosquitto-box.conf and acl.example, run by Debian's real mosquitto and
/// exercised with Debian's mosquitto_pub / mosquitto_sub.
///
/// The broker runs a configuration DERIVED from the shipped file: the same lines, with only
/// the listener port, the file paths (password, ACL, persistence, TLS files) and the bridge's
/// address rewritten into a temporary directory. The ACL file is acl.example unchanged, plus
/// one test-only user ("test-observer", read everything) appended at its end, so a test can
/// see whether a forbidden publish got through. The ACL tests drop the bridge section; the
/// start-up test keeps it, pointed at a loopback port nobody listens on; the bridge test
/// points it at a second mosquitto acting as the central broker over TLS.
struct BrokerConfigTests {
    static let agentPrefix = "bedside/clinic-a/edge-01"

    @Test func shippedConfigurationListensOnLoopbackOnlyAndRefusesAnonymous() throws {
        let lines = try BoxBroker.shippedConfiguration().split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(lines.filter { $0.hasPrefix("listener ") } == ["listener 1883 127.0.0.1"])
        #expect(lines.filter { $0.hasPrefix("port ") || $0.hasPrefix("bind_address ") }.isEmpty)
        for required in ["allow_anonymous false", "persistence true", "bridge_protocol_version mqttv50", "cleansession false",
                         "bridge_insecure false", "topic bedside/# out 1", "topic \(Self.agentPrefix)/commands in 1"] {
            #expect(lines.contains(required), "missing '\(required)'")
        }
        for key in ["password_file", "acl_file", "persistence_location", "max_queued_messages", "max_queued_bytes",
                    "bridge_cafile", "bridge_certfile", "bridge_keyfile", "address", "remote_clientid"] {
            #expect(lines.filter { $0.hasPrefix(key + " ") }.count == 1, "'\(key)' should be set once")
        }
        // Options after "connection" belong to the bridge: the global ones must come before it.
        let connection = try #require(lines.firstIndex { $0.hasPrefix("connection ") })
        for global in ["listener", "allow_anonymous", "password_file", "acl_file", "persistence", "max_queued_messages"] {
            #expect(lines[connection...].allSatisfy { !$0.hasPrefix(global + " ") }, "'\(global)' is inside the bridge section")
        }
    }

    @Test func realConfigurationStartsWithOnlyPortAndPathsRewritten() throws {
        // The bridge stays in, pointed at a loopback port with nothing behind it.
        let broker = try BoxBroker(bridge: .unreachable(port: freeLoopbackPort()))
        defer { broker.stop() }
        let log = broker.process.output
        #expect(log.contains("Config loaded from"))
        #expect(log.contains("Connecting bridge (step 1) central (127.0.0.1:"))
        #expect(!log.contains("Error: Unable") && !log.contains("Unknown configuration variable"), "\(log)")
    }

    @Test func agentPublishesUnderItsPrefixOnly() throws {
        let broker = try BoxBroker(bridge: .none)
        defer { broker.stop() }
        let observer = try broker.subscribe(user: "test-observer", topic: "#")
        let dashboard = try broker.subscribe(user: "dashboard", topic: "bedside/#")
        defer { observer.stop(); dashboard.stop() }

        // Outside its prefix: another box of the same site, another tree, the bare site.
        for topic in ["bedside/clinic-a/edge-02/status", "elsewhere/topic", "bedside/clinic-a/status"] {
            let (status, output) = try broker.publish(user: "bedside-gateway", topic: topic, message: "forbidden \(topic)")
            // MQTT 5 tells the publisher: PUBACK with reason "not authorised".
            #expect(status == 0 && output.contains("Not authorized"), "publish to \(topic): \(output)")
        }
        let vitals = "\(Self.agentPrefix)/beds/chair-1/vitals"
        let (status, output) = try broker.publish(user: "bedside-gateway", topic: vitals, message: #"{"bed":"chair-1","seq":1}"#)
        #expect(status == 0 && !output.contains("Not authorized"), "\(output)")

        // The allowed message was published last; once it arrived, an earlier forbidden one would have too.
        #expect(observer.waitFor(#"\#(vitals) {"bed":"chair-1","seq":1}"#), "\(observer.output)")
        #expect(dashboard.waitFor(#"\#(vitals) {"bed":"chair-1","seq":1}"#), "\(dashboard.output)")
        #expect(!observer.output.contains("forbidden"), "\(observer.output)")
    }

    @Test func agentReceivesItsCommandsAndNothingElse() throws {
        let broker = try BoxBroker(bridge: .none)
        defer { broker.stop() }
        let commands = try broker.subscribe(user: "bedside-gateway", topic: "\(Self.agentPrefix)/commands")
        // A wider subscription is granted but delivers only what the agent may read.
        let wide = try broker.subscribe(user: "bedside-gateway", topic: "bedside/#")
        let dashboard = try broker.subscribe(user: "dashboard", topic: "bedside/#")
        defer { commands.stop(); wide.stop(); dashboard.stop() }

        let otherBox = try broker.publish(user: "central-station", topic: "bedside/clinic-a/edge-02/commands", message: "for-edge-02")
        #expect(otherBox.status == 0 && !otherBox.output.contains("Not authorized"), "\(otherBox.output)")
        // The central station writes commands only, not vitals.
        let spoof = try broker.publish(user: "central-station", topic: "\(Self.agentPrefix)/beds/chair-1/vitals", message: "spoofed")
        #expect(spoof.output.contains("Not authorized"), "\(spoof.output)")
        // The dashboard may not send commands.
        let dashboardCommand = try broker.publish(user: "dashboard", topic: "\(Self.agentPrefix)/commands", message: "from-dashboard")
        #expect(dashboardCommand.output.contains("Not authorized"), "\(dashboardCommand.output)")

        let command = #"{"id":"c-19","issued":"2026-11-24T08:43:12.000Z","command":"rebirth","token":"Zk3v9QeT0pL2mW8xR4yB6nC1sD7fG5hJ"}"#
        let sent = try broker.publish(user: "central-station", topic: "\(Self.agentPrefix)/commands", message: command)
        #expect(sent.status == 0 && !sent.output.contains("Not authorized"), "\(sent.output)")
        // Something the dashboard may read, published last, to know its subscription is up to date.
        _ = try broker.publish(user: "bedside-gateway", topic: "\(Self.agentPrefix)/status", message: "marker")

        #expect(commands.waitFor("\(Self.agentPrefix)/commands \(command)"), "\(commands.output)")
        #expect(wide.waitFor("\(Self.agentPrefix)/commands \(command)"), "\(wide.output)")
        #expect(dashboard.waitFor("\(Self.agentPrefix)/status marker"), "\(dashboard.output)")
        for subscriber in [commands, wide] {
            #expect(!subscriber.output.contains("for-edge-02") && !subscriber.output.contains("spoofed")
                && !subscriber.output.contains("from-dashboard") && !subscriber.output.contains("marker"), "\(subscriber.output)")
        }
        // Commands carry tokens: dashboards never see them.
        #expect(!dashboard.output.contains("/commands "), "\(dashboard.output)")
    }

    @Test func wrongPasswordAndAnonymousClientsAreRefused() throws {
        let broker = try BoxBroker(bridge: .none)
        defer { broker.stop() }
        let topic = "\(Self.agentPrefix)/status"
        let wrong = try runToCompletion(["mosquitto_pub", "-h", "127.0.0.1", "-p", "\(broker.port)", "-V", "5", "-q", "1",
                                         "-u", "bedside-gateway", "-P", "not-the-password", "-t", topic, "-m", "x"], timeout: 20)
        #expect(wrong.status != 0 && wrong.output.contains("Not authorized"), "\(wrong.output)")
        let unknownUser = try runToCompletion(["mosquitto_pub", "-h", "127.0.0.1", "-p", "\(broker.port)", "-V", "5", "-q", "1",
                                               "-u", "intruder", "-P", "agent-pw-1", "-t", topic, "-m", "x"], timeout: 20)
        #expect(unknownUser.status != 0 && unknownUser.output.contains("Not authorized"), "\(unknownUser.output)")
        let anonymous = try runToCompletion(["mosquitto_pub", "-h", "127.0.0.1", "-p", "\(broker.port)", "-V", "5", "-q", "1",
                                             "-t", topic, "-m", "x"], timeout: 20)
        #expect(anonymous.status != 0 && anonymous.output.contains("Not authorized"), "\(anonymous.output)")
        let anonymousSubscriber = try runToCompletion(["mosquitto_sub", "-h", "127.0.0.1", "-p", "\(broker.port)",
                                                       "-t", "#", "-C", "1", "-W", "5"], timeout: 20)
        #expect(anonymousSubscriber.status != 0 && anonymousSubscriber.output.contains("not authorised"), "\(anonymousSubscriber.output)")
        #expect(broker.process.output.contains("disconnected, not authorised"))
    }

    @Test func bridgeCarriesTheBoxTopicsOutAndItsCommandsInOverTLS() throws {
        let directory = try temporaryDirectory("central")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates(directory: directory)
        let central = try CentralBroker(directory: directory, certificates: certificates)
        defer { central.stop() }
        let box = try BoxBroker(bridge: .central(port: central.tlsPort, certificates: certificates))
        defer { box.stop() }
        #expect(central.waitForLog("as bedside-clinic-a-edge-01 (p5, c0"), "\(central.process.output)\n\(box.process.output)")

        let centralSubscriber = try MosquittoSubscriber(arguments: ["-p", "\(central.plainPort)", "-t", "bedside/#"],
                                                        directory: directory, name: "central-subscriber")
        let agent = try box.subscribe(user: "bedside-gateway", topic: "\(Self.agentPrefix)/commands")
        defer { centralSubscriber.stop(); agent.stop() }

        // Out: a retained status from the agent reaches the central broker.
        _ = try box.publish(user: "bedside-gateway", topic: "\(Self.agentPrefix)/status", message: "online", retain: true)
        #expect(centralSubscriber.waitFor("\(Self.agentPrefix)/status online"), "\(centralSubscriber.output)")

        // In: commands for this box only.
        for (box, message) in [("edge-02", "for-edge-02"), ("edge-01", "for-edge-01")] {
            let sent = try runToCompletion(["mosquitto_pub", "-h", "127.0.0.1", "-p", "\(central.plainPort)", "-q", "1",
                                            "-t", "bedside/clinic-a/\(box)/commands", "-m", message], timeout: 20)
            #expect(sent.status == 0, "\(sent.output)")
        }
        #expect(agent.waitFor("\(Self.agentPrefix)/commands for-edge-01"), "\(agent.output)")
        #expect(!agent.output.contains("for-edge-02"))
        // The command is not sent back out over the bridge (no loop): the central side sees it once.
        // A looped copy would be a second arrival, so this is a window in which nothing may come.
        Thread.sleep(forTimeInterval: 0.5)
        let copies = centralSubscriber.output.components(separatedBy: "\(Self.agentPrefix)/commands for-edge-01").count - 1
        #expect(copies == 1, "\(centralSubscriber.output)")
    }
}

// MARK: - Fixtures

/// mosquitto with a configuration derived from Deploy/mqtt/mosquitto-box.conf and acl.example.
private final class BoxBroker {
    enum Bridge {
        case none
        case unreachable(port: Int)
        case central(port: Int, certificates: TestCertificates)
    }

    static let passwords = ["bedside-gateway": "agent-pw-1", "dashboard": "dashboard-pw-2",
                            "central-station": "central-pw-3", "test-observer": "observer-pw-4"]

    let directory: URL
    let port: Int
    let process: ChildProcess

    static func deployFile(_ name: String) -> URL {
        repositoryRoot().appendingPathComponent("Deploy/mqtt").appendingPathComponent(name)
    }

    static func shippedConfiguration() throws -> String {
        try String(contentsOf: deployFile("mosquitto-box.conf"), encoding: .utf8)
    }

    init(bridge: Bridge) throws {
        let directory = try temporaryDirectory("box-broker")
        self.directory = directory
        port = freeLoopbackPort()
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        // Password file through Debian's own tool.
        for (index, (user, password)) in Self.passwords.sorted(by: { $0.key < $1.key }).enumerated() {
            var command = ["mosquitto_passwd"]
            if index == 0 { command.append("-c") }
            command += ["-b", path("passwd"), user, password]
            let result = try runToCompletion(command, timeout: 20)
            guard result.status == 0 else { throw TestFailure("mosquitto_passwd: \(result.output)") }
        }
        let acl = try String(contentsOf: Self.deployFile("acl.example"), encoding: .utf8)
            + "\n# test only: sees everything that is delivered\nuser test-observer\ntopic read #\n"
        try acl.write(toFile: path("acl"), atomically: true, encoding: .utf8)
        // mosquitto drops root privileges to its own user before it writes the database.
        let persistence = directory.appendingPathComponent("persistence")
        try FileManager.default.createDirectory(at: persistence, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o777])

        var replacements = ["listener": "listener \(port) 127.0.0.1",
                            "password_file": "password_file \(path("passwd"))",
                            "acl_file": "acl_file \(path("acl"))",
                            "persistence_location": "persistence_location \(persistence.path)/"]
        var keepBridge = true
        switch bridge {
        case .none:
            keepBridge = false
        case .unreachable(let bridgePort):
            let certificates = try TestCertificates(directory: directory)
            replacements.merge(certificates.bridgeReplacements(port: bridgePort)) { $1 }
        case .central(let centralPort, let certificates):
            replacements.merge(certificates.bridgeReplacements(port: centralPort)) { $1 }
        }
        let configuration = try Self.derive(try Self.shippedConfiguration(), replacements: replacements, keepBridge: keepBridge)
        try configuration.write(toFile: path("mosquitto.conf"), atomically: true, encoding: .utf8)

        process = try ChildProcess(name: "mosquitto", command: ["/usr/sbin/mosquitto", "-c", path("mosquitto.conf")],
                                   directory: directory)
        guard waitForListener(port: port), logShows(process, " running") else {
            process.kill()
            throw TestFailure("mosquitto did not start with the derived configuration: \(process.output)")
        }
    }

    /// The shipped text with each `key value` line whose key is in `replacements` replaced
    /// (every key must occur exactly once) and, unless `keepBridge`, the bridge section
    /// ("connection" to the end) left out.
    static func derive(_ text: String, replacements: [String: String], keepBridge: Bool) throws -> String {
        var output: [String] = []
        var seen: [String: Int] = [:]
        for line in text.components(separatedBy: "\n") {
            let key = line.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
            if key == "connection" && !keepBridge { break }
            if let replacement = replacements[key], !line.hasPrefix("#") {
                seen[key, default: 0] += 1
                output.append(replacement)
            } else {
                output.append(line)
            }
        }
        for key in replacements.keys where seen[key] != 1 {
            throw TestFailure("mosquitto-box.conf sets '\(key)' \(seen[key] ?? 0) times; the test expects it once")
        }
        return output.joined(separator: "\n")
    }

    func subscribe(user: String, topic: String) throws -> MosquittoSubscriber {
        try MosquittoSubscriber(arguments: ["-p", "\(port)", "-u", user, "-P", Self.passwords[user] ?? "", "-t", topic],
                                directory: directory, name: "sub-\(user)-\(UUID().uuidString.prefix(6))")
    }

    /// QoS 1 over MQTT 5, so a publish the ACL refuses comes back as "Not authorized".
    func publish(user: String, topic: String, message: String, retain: Bool = false) throws -> (status: Int32, output: String) {
        var command = ["mosquitto_pub", "-h", "127.0.0.1", "-p", "\(port)", "-V", "5", "-q", "1",
                       "-u", user, "-P", Self.passwords[user] ?? "", "-t", topic, "-m", message]
        if retain { command.append("-r") }
        return try runToCompletion(command, timeout: 20)
    }

    func stop() { process.kill() }

    deinit {
        process.kill()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// `mosquitto_sub -v` in the background; ready once the broker acknowledged the subscription.
private final class MosquittoSubscriber {
    let process: ChildProcess

    init(arguments: [String], directory: URL, name: String) throws {
        process = try ChildProcess(name: name,
                                   // stdbuf: its output goes to a file, which stdio would otherwise buffer.
                                   command: ["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-V", "5", "-q", "1", "-v", "-d", "-W", "60"] + arguments,
                                   directory: directory)
        guard logShows(process, "received SUBACK") else {
            process.kill()
            throw TestFailure("mosquitto_sub did not subscribe: \(process.output)")
        }
    }

    var output: String { process.output }

    /// Whether `line` (topic, space, payload) arrived within the timeout.
    func waitFor(_ line: String, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.components(separatedBy: "\n").contains(line) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    func stop() { process.kill() }
}

extension TestCertificates {
    func bridgeReplacements(port: Int) -> [String: String] {
        ["address": "address 127.0.0.1:\(port)",
         "bridge_cafile": "bridge_cafile \(caFile)",
         "bridge_certfile": "bridge_certfile \(clientCertificate)",
         "bridge_keyfile": "bridge_keyfile \(clientKey)"]
    }
}

/// The "central broker": TLS with client certificates for bridges, plus a plain loopback
/// listener for the test's own clients.
private final class CentralBroker {
    let tlsPort = freeLoopbackPort()
    let plainPort = freeLoopbackPort()
    let process: ChildProcess

    init(directory: URL, certificates: TestCertificates) throws {
        let configuration = """
            per_listener_settings false
            allow_anonymous true
            persistence false
            log_dest stderr
            listener \(tlsPort) 127.0.0.1
            cafile \(certificates.caFile)
            certfile \(certificates.serverCertificate)
            keyfile \(certificates.serverKey)
            require_certificate true
            use_identity_as_username true
            listener \(plainPort) 127.0.0.1
            """
        let path = directory.appendingPathComponent("central.conf").path
        try configuration.write(toFile: path, atomically: true, encoding: .utf8)
        process = try ChildProcess(name: "central", command: ["/usr/sbin/mosquitto", "-c", path], directory: directory)
        guard waitForListener(port: plainPort), logShows(process, " running") else {
            process.kill()
            throw TestFailure("central mosquitto did not start: \(process.output)")
        }
    }

    func waitForLog(_ text: String) -> Bool { logShows(process, text) }

    func stop() { process.kill() }

    deinit { process.kill() }
}

/// Whether the process's output shows `text` within the timeout.
private func logShows(_ process: ChildProcess, _ text: String, timeout: TimeInterval = 15) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if process.output.contains(text) { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return false
}
