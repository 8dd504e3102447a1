import Foundation
import Testing
import TestSupport

/// The clinic view of a real agent, with the simulator and mosquitto: the page and its event
/// stream behind Basic authentication from a users file, and over TLS with a certificate
/// made by openssl here. Read by curl, as any client would (the browser test is
/// Tests/Browser/clinic_view.py).
@Suite
struct ClinicViewEndToEndTests {
    static let user = "station-1"
    static let password = "nurse's password: 4 words"

    /// A users file with one sha512crypt hash made by openssl, mode 600.
    static func usersFile(in rig: PublishingRig) throws -> String {
        let hashed = try runToCompletion(["/bin/sh", "-c", "printf '%s' \"$1\" | openssl passwd -6 -stdin", "sh", password])
        guard hashed.status == 0, hashed.output.hasPrefix("$6$") else { throw TestFailure("openssl passwd: \(hashed.output)") }
        let path = rig.directory.appendingPathComponent("view-users").path
        try "# clinic view users\n\(user):\(hashed.output.trimmingCharacters(in: .whitespacesAndNewlines))\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    /// curl's status code and headers-and-body of one request.
    static func curl(_ arguments: [String], timeout: TimeInterval = 20) throws -> (status: Int, output: String) {
        let result = try runToCompletion(["curl", "-sS", "-D", "-", "-o", "-", "-w", "\n%{http_code}"] + arguments, timeout: timeout)
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, result.output)
    }

    @Test func theStreamCarriesEveryBedsDocumentsToAUserWithTheRightPasswordOnly() throws {
        let rig = try PublishingRig("clinic-view")
        defer { rig.stopAll() }
        try rig.startBroker()
        let ports = try rig.startSimulator(monitors: 2)
        let viewPort = freeLoopbackPort()
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 500,
                            extra: "view: { listen: 127.0.0.1, port: \(viewPort), users_file: \(try Self.usersFile(in: rig)) }")
        try rig.startAgent()
        #expect(waitForListener(port: viewPort, timeout: 30), "\(rig.agentOutput)")
        let page = "http://127.0.0.1:\(viewPort)/"

        let anonymous = try Self.curl([page])
        #expect(anonymous.status == 401)
        #expect(anonymous.output.contains("WWW-Authenticate: Basic realm=\"clinic view\""), "\(anonymous.output)")
        let wrong = try Self.curl(["-u", "\(Self.user):not the password", page])
        #expect(wrong.status == 401 && wrong.output.contains("WWW-Authenticate: Basic"), "\(wrong.output)")
        let stranger = try Self.curl(["-u", "intruder:\(Self.password)", page])
        #expect(stranger.status == 401)
        let right = try Self.curl(["-u", "\(Self.user):\(Self.password)", page])
        #expect(right.status == 200)
        #expect(right.output.contains("Content-Type: text/html; charset=utf-8") && right.output.contains("<!DOCTYPE html>"))
        // Read-only: nothing but GET and HEAD, even for a logged-in user.
        let post = try Self.curl(["-u", "\(Self.user):\(Self.password)", "-X", "POST", "-d", "{}", page + "events"])
        #expect(post.status == 405)
        #expect(try Self.curl(["-u", "\(Self.user):\(Self.password)", page + "config"]).status == 404)
        #expect(try Self.curl([page + "events"]).status == 401, "the stream needs the password too")

        // The stream: 5 s of it, then curl ends the connection (exit 28, a timeout, is expected).
        let stream = try runToCompletion(["curl", "-sN", "--max-time", "5", "-u", "\(Self.user):\(Self.password)", page + "events"],
                                         timeout: 20).output
        #expect(stream.hasPrefix("retry: 2000\n\nevent: hello\ndata: {\"site\":\"test\",\"box\":\"box-1\",\"beds\":[\"chair-1\",\"chair-2\"]"),
                "\(stream.prefix(300))")
        var documents: [String: [[String: Any]]] = [:]
        var event = ""
        for line in stream.split(separator: "\n") {
            if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") {
                let object = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
                documents[event, default: []].append(try #require(object, "\(event): \(line)"))
            }
        }
        for bed in ["chair-1", "chair-2"] {
            #expect(documents["description"]?.contains { $0["bed"] as? String == bed } == true, "\(bed)'s description")
            #expect(documents["trend"]?.contains { $0["bed"] as? String == bed } == true, "\(bed)'s trend")
            #expect(documents["alarm-state"]?.contains { $0["bed"] as? String == bed } == true, "\(bed)'s alarm state")
            let vitals = documents["vitals"]?.filter { $0["bed"] as? String == bed } ?? []
            // A message every 500 ms for 5 s: the latest at once, then the live ones.
            #expect(vitals.count >= 6, "\(bed): \(vitals.count) vitals messages in 5 s")
            let sequences = vitals.compactMap { $0["seq"] as? Int }
            #expect(sequences == sequences.sorted() && Set(sequences).count == sequences.count, "\(bed): \(sequences)")
            let spo2 = (vitals.last?["vitals"] as? [[String: Any]])?.first { $0["name"] as? String == "spo2" }
            #expect(spo2?["quality"] as? String == "ok" && spo2?["value"] is NSNumber, "\(String(describing: spo2))")
        }
        #expect(documents["device-state"]?.count == 2, "both monitors' states")
        let health = try #require(documents["health"]?.last, "the box's health within 5 s")
        let checks = health["checks"] as? [[String: Any]] ?? []
        #expect(checks.contains { $0["name"] as? String == "broker" && $0["ok"] as? Bool == true }, "\(health)")
        #expect(rig.agentOutput.contains("clinic view on http://127.0.0.1:\(viewPort)/ (users of "), "\(rig.agentOutput)")
        #expect(rig.stopAgent() == 0, "the open stream does not hold up the stop:\n\(rig.agentOutput)")
    }

    @Test func overTLSWithASelfSignedCertificateAndNotInPlainHTTP() throws {
        let rig = try PublishingRig("clinic-view-tls")
        defer { rig.stopAll() }
        try rig.startBroker()
        let ports = try rig.startSimulator(monitors: 1)
        let certificate = rig.directory.appendingPathComponent("view.crt").path
        let key = rig.directory.appendingPathComponent("view.key").path
        let made = try runToCompletion(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                        "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=127.0.0.1",
                                        "-addext", "subjectAltName=IP:127.0.0.1"])
        #expect(made.status == 0, "\(made.output)")
        chmod(key, 0o600)
        let viewPort = freeLoopbackPort()
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 500,
                            extra: "view: { port: \(viewPort), users_file: \(try Self.usersFile(in: rig)), cert_file: \(certificate), key_file: \(key) }")
        let check = try runToCompletion(agentCommand() + ["check", rig.configPath])
        #expect(check.status == 0 && check.output.contains("clinic view on 0.0.0.0:\(viewPort) for the 1 user(s)")
                && check.output.contains("over TLS"), "\(check.output)")
        try rig.startAgent()
        #expect(waitForListener(port: viewPort, timeout: 30), "\(rig.agentOutput)")
        let secure = "https://127.0.0.1:\(viewPort)/"
        let page = try Self.curl(["--cacert", certificate, "-u", "\(Self.user):\(Self.password)", secure])
        #expect(page.status == 200 && page.output.contains("<!DOCTYPE html>"), "\(page.output.prefix(500))\n\(rig.agentOutput)")
        #expect(try Self.curl(["--cacert", certificate, secure]).status == 401)
        let stream = try runToCompletion(["curl", "-sN", "--max-time", "3", "--cacert", certificate, "-u", "\(Self.user):\(Self.password)",
                                          secure + "events"], timeout: 20).output
        #expect(stream.contains("event: vitals\ndata: {\"bed\":\"chair-1\""), "\(stream.prefix(300))")
        // Without TLS the server does not answer in HTTP: no password crosses the LAN readable.
        let plain = try Self.curl(["-u", "\(Self.user):\(Self.password)", "http://127.0.0.1:\(viewPort)/"], timeout: 10)
        #expect(plain.status == 0 || plain.status >= 400, "\(plain.output)")
        #expect(rig.agentOutput.contains("clinic view on https://0.0.0.0:\(viewPort)/"), "\(rig.agentOutput)")
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
    }
}
