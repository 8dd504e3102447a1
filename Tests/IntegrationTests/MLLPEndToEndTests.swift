import Foundation
import TestSupport
import Testing

/// Alarm events as IHE PCD-04 to a real MLLP receiver, end to end: python3-hl7 parses each
/// message in a small socket server that plays the alert manager (replies AA, or AE / AR /
/// noise on chosen messages, or nothing while stopped). Proves: events arrive in order per
/// bed with none missing across a receiver outage and a `kill -9` of the agent; AE is sent
/// again and AR set aside; garbage, a half frame and an ACK for another control id are ignored.
@Suite(.tags(.slow))
struct MLLPEndToEndTests {
    /// Logs every message it receives as a JSON line (control id, type, bed, event phase, the
    /// reply it gave) and replies to the n-th message received (1-based, over the whole run of
    /// this process) as `--ae`, `--ar`, `--noise` say; `--delay-ms` before each reply.
    static let receiver = MLLPTestReceiver.script(arguments: """
        parser.add_argument('--ae', type=int, default=0); parser.add_argument('--ar', type=int, default=0)
        parser.add_argument('--noise', type=int, default=0); parser.add_argument('--delay-ms', type=int, default=0)
        """, handler: """
        def ack(code, control, count):
            return ('\\x0bMSH|^~\\\\&|ALERT-MANAGER||||20261203||ACK^R40^ACK|r%d|P|2.6\\rMSA|%s|%s|test reply %s\\r\\x1c\\r'
                    % (count, code, control, code)).encode()
        def on_message(message, text, count, connection):
            control = str(message.segment('MSH')[10])
            reply = 'AE' if count == options.ae else 'AR' if count == options.ar else 'AA'
            obx = list(message.segments('OBX'))
            with open(options.log, 'a') as log:
                log.write(json.dumps({'control': control, 'type': str(message.segment('MSH')[9]),
                                      'condition': message.unescape(str(obx[0][5])),
                                      'phase': str([o for o in obx if 'EVENT_PHASE' in str(o[3])][0][5]),
                                      'reply': reply}) + '\\n')
            time.sleep(options.delay_ms / 1000)
            if count == options.noise:
                connection.sendall(b'garbage before a frame' + b'\\x0bMSH|^~\\\\&|half a frame')
                connection.sendall(ack('AA', control + '-not-this-one', count))
                connection.sendall(b'\\x0bnot an ACK at all\\x1c\\r')
            return ack(reply, control, count)
        """)

    struct Received {
        var control: String
        var bed: String
        var sequence: Int
        var condition: String
        var phase: String
        var reply: String
    }

    static func received(_ path: String) -> [Received] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                  let control = object["control"], let marker = control.range(of: "-A", options: .backwards),
                  let sequence = Int(control[marker.upperBound...]) else { return nil }
            return Received(control: control, bed: String(control[..<marker.lowerBound]), sequence: sequence,
                            condition: object["condition"] ?? "", phase: object["phase"] ?? "", reply: object["reply"] ?? "")
        }
    }

    /// The receiver above on `port`, logging to `log`, once it listens.
    static func startReceiver(in rig: PublishingRig, port: Int, log: String, options: [String]) throws -> ChildProcess {
        let receiver = try ChildProcess(name: "receiver-\(Int(Date().timeIntervalSince1970 * 1000))",
                                        command: ["/usr/bin/python3", "-c", Self.receiver, "--port", String(port), "--log", log] + options,
                                        directory: rig.directory)
        guard waitForListener(port: port, timeout: 20) else { throw TestFailure("the MLLP receiver did not start") }
        return receiver
    }

    @Test func alarmsReachTheAlertManagerInOrderAcrossOutagesAndKills() throws {
        let rig = try PublishingRig("mllp-alarms")
        defer { rig.stopAll() }
        let receiverPort = freeLoopbackPort()
        let logPath = rig.directory.appendingPathComponent("received.jsonl").path
        var receiver: ChildProcess?
        func startReceiver(_ options: [String]) throws {
            receiver = try Self.startReceiver(in: rig, port: receiverPort, log: logPath, options: options)
        }
        defer { receiver?.kill() }
        func waitFor(timeout: TimeInterval, every interval: TimeInterval = 0.5, _ what: String, _ condition: () -> Bool) throws {
            guard waitUntil(timeout: timeout, checkingEvery: interval, condition) else {
                throw TestFailure("timed out waiting for \(what)\nreceived: \(Self.received(logPath).map(\.control))\n\(rig.agentOutput)")
            }
        }

        // Two chairs; both monitors stop answering 2 s in, for 8 s: comm-loss start and end on each bed.
        let ports = try rig.startSimulator(monitors: 2, arguments: ["--scenario", "unplugged", "--unplugged-after-s", "2",
                                                                     "--unplugged-s", "8"])
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 250, mqttPort: freeLoopbackPort(), extra: """
            alarms:
              forward:
                hl7: { host: 127.0.0.1, port: \(receiverPort), ack_timeout_ms: 1000, reconnect_max_ms: 2000,
                       error_retry_ms: 300, error_attempts: 3, facility: Test Clinic }
            """)
        // The receiver is down from the start: events wait in the link's queue, and the link
        // raises its own low technical alarm once it has failed for an ACK timeout.
        try rig.startAgent()
        try waitFor(timeout: 60, "events queued and the forwarding fault in /metrics") {
            let metrics = try? rig.metrics()
            return (metrics?["bedside_hl7_pending_messages"]?.first?.value ?? 0) >= 4 && metrics?["bedside_hl7_fault"]?.first?.value == 1
        }
        let readiness = try rig.fetch("/readyz")
        #expect(readiness.status == 503 && readiness.body.contains("alarm-forward"), "\(readiness.body)")

        // Up, slow (200 ms per ACK), with noise before the 1st ACK, AE to the 2nd message, AR to the 5th.
        try startReceiver(["--noise", "1", "--ae", "2", "--ar", "5", "--delay-ms", "200"])
        try waitFor(timeout: 30, every: 0.02, "three messages received") { Self.received(logPath).count >= 3 }
        // kill -9 in the middle of the backlog, and an immediate restart as systemd would.
        rig.killAgent()
        try rig.startAgent()
        // Then the receiver stops while messages wait (the comm-loss ends come later), and
        // comes back once the link has failed long enough to raise its fault again.
        try waitFor(timeout: 30, every: 0.02, "six messages received") { Self.received(logPath).count >= 6 }
        receiver?.kill()
        try waitFor(timeout: 60, "the forwarding fault raised again during the receiver's outage") {
            (try? rig.metrics())?["bedside_hl7_fault"]?.first?.value == 1
        }
        try startReceiver([])
        // Done when the link is healthy with nothing pending and every bed's last forwarding-fault
        // event received is an end: how many fault episodes a loaded machine sees varies (a kill
        // can fall inside one), so the test waits for the last one to close rather than for a count.
        try waitFor(timeout: 60, "the forwarding fault ended, comm-loss ended and nothing pending") {
            let metrics = try? rig.metrics()
            guard metrics?["bedside_hl7_fault"]?.first?.value == 0,
                  metrics?["bedside_hl7_pending_messages"]?.first?.value == 0 else { return false }
            let received = Self.received(logPath)
            let ends = received.filter { $0.phase == "end" }.map(\.condition)
            return ["chair-1", "chair-2"].allSatisfy { bed in
                received.last { $0.bed == bed && $0.condition == "agent-alarm-forward-down" }?.phase == "end"
            } && ends.contains("comm-loss-monitor-1") && ends.contains("comm-loss-monitor-2")
        }
        #expect(rig.stopAgent() == 0)

        let messages = Self.received(logPath)
        for bed in ["chair-1", "chair-2"] {
            var firstArrivals: [Int] = []
            for message in messages where message.bed == bed && !firstArrivals.contains(message.sequence) {
                firstArrivals.append(message.sequence)
            }
            // In order, and none missing: every number from 1 to the last the bed produced.
            #expect(firstArrivals == Array(1...(firstArrivals.max() ?? 0)), "\(bed): \(firstArrivals)\n\(rig.agentOutput)")
            let events = Set(messages.filter { $0.bed == bed }.map { "\($0.condition) \($0.phase)" })
            let device = bed == "chair-1" ? "monitor-1" : "monitor-2"
            for expected in ["comm-loss-\(device) start", "comm-loss-\(device) end", "agent-alarm-forward-down start",
                             "agent-alarm-forward-down end"] {
                #expect(events.contains(expected), "\(bed) misses \(expected): \(events)")
            }
        }
        #expect(messages.allSatisfy { $0.control.contains("-A") })
        // AE: the same message again after error_retry_ms, then accepted.
        let errored = try #require(messages.firstIndex { $0.reply == "AE" })
        #expect(messages[(errored + 1)...].contains { $0.control == messages[errored].control && $0.reply == "AA" })
        // AR: set aside, never sent again (a copy before it, in flight at the kill, may exist).
        let rejectedIndex = try #require(messages.firstIndex { $0.reply == "AR" })
        let rejected = messages[rejectedIndex]
        #expect(!messages[(rejectedIndex + 1)...].contains { $0.control == rejected.control })
        #expect(rig.agentOutput.contains("refused \(rejected.control) (AR: test reply AR); it is set aside"), "\(rig.agentOutput)")
        // The noise before the first ACK: an ACK for another control id and a frame that is no ACK.
        #expect(rig.agentOutput.contains("ignored an ACK for "), "\(rig.agentOutput)")
        #expect(rig.agentOutput.contains("sent a frame that is not an HL7 acknowledgment"), "\(rig.agentOutput)")
    }

    /// With no alarm to send, the link still shows whether the alert manager is there: a receiver
    /// that closes idle connections is no fault (the link reconnects), one that is gone is a
    /// fault within seconds, before any alarm needs it, and its start and end reach the receiver
    /// once it is back.
    @Test func anIdleLinkShowsAVanishedAlertManagerButNotAnIdleTimeout() throws {
        let rig = try PublishingRig("mllp-idle")
        defer { rig.stopAll() }
        let receiverPort = freeLoopbackPort()
        let logPath = rig.directory.appendingPathComponent("received.jsonl").path
        var receiver: ChildProcess?
        func startReceiver(_ options: [String]) throws {
            receiver = try Self.startReceiver(in: rig, port: receiverPort, log: logPath, options: options)
        }
        defer { receiver?.kill() }
        func link(_ metric: String) -> Double? {
            (try? rig.metrics())?[metric]?.first { $0.labels["link"] == "alarms" }?.value
        }
        func idleCloses() -> Int {
            ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").components(separatedBy: "\"closed\"").count - 1
        }
        func waitFor(timeout: TimeInterval, _ what: String, _ condition: () -> Bool) throws {
            guard waitUntil(timeout: timeout, checkingEvery: 0.2, condition) else {
                throw TestFailure("timed out waiting for \(what)\nreceived: \(Self.received(logPath).map(\.control))\n\(rig.agentOutput)")
            }
        }

        try startReceiver(["--close-idle-s", "0.5"])
        let ports = try rig.startSimulator(monitors: 1)
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 250, mqttPort: freeLoopbackPort(), extra: """
            alarms:
              forward:
                hl7: { host: 127.0.0.1, port: \(receiverPort), ack_timeout_ms: 1000, reconnect_max_ms: 1000 }
            """)
        try rig.startAgent()
        try waitFor(timeout: 60, "three idle connections closed by the receiver and reopened by the link") {
            idleCloses() >= 3 && (link("bedside_hl7_idle_closes_total") ?? 0) >= 3
        }
        #expect(link("bedside_hl7_fault") == 0, "\(rig.agentOutput)")
        #expect(link("bedside_hl7_connect_failures_total") == 0)
        #expect(!Self.received(logPath).contains { $0.condition == "agent-alarm-forward-down" },
                "\(Self.received(logPath).map { "\($0.condition) \($0.phase)" })")

        receiver?.kill()
        let gone = Date()
        try waitFor(timeout: 30, "the forwarding fault with nothing to send") { link("bedside_hl7_fault") == 1 }
        let detectedSeconds = Date().timeIntervalSince(gone)
        let readiness = try rig.fetch("/readyz")
        #expect(readiness.status == 503 && readiness.body.contains("fail alarm-forward: not delivering to 127.0.0.1:\(receiverPort)"),
                "\(readiness.body)")

        try startReceiver([])
        try waitFor(timeout: 30, "the forwarding fault's start and end at the alert manager") {
            let events = Self.received(logPath).filter { $0.condition == "agent-alarm-forward-down" }.map(\.phase)
            return events.contains("start") && events.last == "end" && link("bedside_hl7_fault") == 0
        }
        #expect(rig.stopAgent() == 0)
        print("idle MLLP link: receiver gone -> fault raised in \(String(format: "%.1f", detectedSeconds)) s (ACK timeout 1 s)")
    }

    /// A link queue that cannot be opened (its directory cannot be created, not even by root:
    /// it would be in /proc): events still reach the receiver, from memory, and /readyz says a
    /// restart would lose them.
    @Test func withoutItsQueueTheLinkStillDeliversAndSaysSo() throws {
        let rig = try PublishingRig("mllp-noqueue")
        defer { rig.stopAll() }
        let receiverPort = freeLoopbackPort()
        let logPath = rig.directory.appendingPathComponent("received.jsonl").path
        let notADirectory = "/proc/bedside-hl7-queue-\(receiverPort)"
        let receiver = try ChildProcess(name: "receiver", command: ["/usr/bin/python3", "-c", Self.receiver, "--port",
                                                                    String(receiverPort), "--log", logPath],
                                        directory: rig.directory)
        defer { receiver.kill() }
        #expect(waitForListener(port: receiverPort, timeout: 20))
        let ports = try rig.startSimulator(monitors: 1, arguments: ["--scenario", "unplugged", "--unplugged-after-s", "1",
                                                                     "--unplugged-s", "600"])
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 250, mqttPort: freeLoopbackPort(), extra: """
            alarms:
              forward:
                hl7: { host: 127.0.0.1, port: \(receiverPort), queue_directory: \(notADirectory) }
            """)
        try rig.startAgent()
        let arrived = waitUntil(timeout: 60, checkingEvery: 0.2) {
            Self.received(logPath).contains { $0.condition == "comm-loss-monitor-1" && $0.phase == "start" }
        }
        #expect(arrived, "\(Self.received(logPath).map(\.control))\n\(rig.agentOutput)")
        let readiness = try rig.fetch("/readyz")
        #expect(readiness.status == 503 && readiness.body.contains("queue not available"), "\(readiness.body)")
        #expect(rig.stopAgent() == 0)
    }
}
