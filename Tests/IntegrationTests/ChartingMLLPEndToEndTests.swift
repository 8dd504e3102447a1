import Foundation
import TestSupport
import Testing

/// Chart rows as IHE PCD-01 to a real MLLP receiver, end to end: python3-hl7 parses each
/// message in a socket server that plays the charting system's interface engine. Proves: with
/// 4 chairs charting every second, a receiver outage and a `kill -9` of the agent while rows
/// wait on disk lose no row; every row arrives in order per bed (a row is named by its
/// boundary, so consecutive rows are one interval apart), and the backlog's drain is timed.
@Suite(.tags(.slow))
struct ChartingMLLPEndToEndTests {
    /// Logs every message it receives as a JSON line (control id, type, PV1-3, OBX count) and
    /// replies AA; writes the first message as received to `--example`.
    static let receiver = MLLPTestReceiver.script(arguments: "parser.add_argument('--example')", handler: """
        def on_message(message, text, count, connection):
            if count == 1:
                with open(options.example, 'w') as example: example.write(text)
            control = str(message.segment('MSH')[10])
            with open(options.log, 'a') as log:
                log.write(json.dumps({'control': control, 'type': str(message.segment('MSH')[9]),
                                      'location': str(message.segment('PV1')[3]),
                                      'observations': len(list(message.segments('OBX')))}) + '\\n')
            return ('\\x0bMSH|^~\\\\&|CHARTING||||20261203||ACK^R01^ACK|r%d|P|2.6\\rMSA|AA|%s\\r\\x1c\\r'
                    % (count, control)).encode()
        """)

    struct Received {
        var control: String
        var bed: String
        var boundaryMilliseconds: Int64
        var type: String
        var location: String
        var observations: Int
    }

    static func received(_ path: String) -> [Received] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let control = object["control"] as? String, let marker = control.range(of: "-C", options: .backwards),
                  let boundary = Int64(control[marker.upperBound...]) else { return nil }
            return Received(control: control, bed: String(control[..<marker.lowerBound]), boundaryMilliseconds: boundary,
                            type: object["type"] as? String ?? "", location: object["location"] as? String ?? "",
                            observations: object["observations"] as? Int ?? 0)
        }
    }

    static func chartingPending(_ rig: PublishingRig) -> Double? {
        (try? rig.metrics())?["bedside_hl7_pending_messages"]?.first { $0.labels["link"] == "charting" }?.value
    }

    static var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    @Test func chartRowsReachTheChartingSystemInOrderAcrossAnOutageAndAKill() throws {
        let rig = try PublishingRig("mllp-charting")
        defer { rig.stopAll() }
        let beds = ["chair-1", "chair-2", "chair-3", "chair-4"]
        let receiverPort = freeLoopbackPort()
        let logPath = rig.directory.appendingPathComponent("received.jsonl").path
        let examplePath = rig.directory.appendingPathComponent("example.hl7").path
        var receiver: ChildProcess?
        func startReceiver() throws {
            receiver = try ChildProcess(name: "receiver-\(Self.nowMilliseconds)",
                                        command: ["/usr/bin/python3", "-c", Self.receiver, "--port", String(receiverPort),
                                                  "--log", logPath, "--example", examplePath], directory: rig.directory)
            guard waitForListener(port: receiverPort, timeout: 20) else { throw TestFailure("the MLLP receiver did not start") }
        }
        defer { receiver?.kill() }
        func waitFor(timeout: TimeInterval, every interval: TimeInterval = 0.5, _ what: String, _ condition: () -> Bool) throws {
            guard waitUntil(timeout: timeout, checkingEvery: interval, condition) else {
                throw TestFailure("timed out waiting for \(what)\nreceived: \(Self.received(logPath).map(\.control))\n\(rig.agentOutput)")
            }
        }
        func rowsPerBed() -> [String: Int] {
            Dictionary(grouping: Self.received(logPath), by: \.bed).mapValues { Set($0.map(\.boundaryMilliseconds)).count }
        }

        let ports = try rig.startSimulator(monitors: beds.count)
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 250, mqttPort: freeLoopbackPort(), extra: """
            charting:
              interval_s: 1
              fhir: false
              hl7: { host: 127.0.0.1, port: \(receiverPort), ack_timeout_ms: 1000, reconnect_max_ms: 1000, facility: Test Clinic }
            """)
        try startReceiver()
        try rig.startAgent()
        try waitFor(timeout: 60, "three rows of every bed") { beds.allSatisfy { (rowsPerBed()[$0] ?? 0) >= 3 } }

        // The receiver goes away for 8 s: rows wait in the link's queue on disk.
        receiver?.kill()
        let outageStarted = Date()
        try waitFor(timeout: 30, "the chart-forward check failing in /readyz") {
            (try? rig.fetch("/readyz"))?.body.contains("fail chart-forward: not delivering to 127.0.0.1:\(receiverPort)") == true
        }
        Thread.sleep(until: outageStarted.addingTimeInterval(8))
        let waitingBeforeKill = Self.chartingPending(rig) ?? 0
        #expect(waitingBeforeKill >= Double(beds.count * 5), "rows waiting on disk: \(waitingBeforeKill)")
        // kill -9 while they wait, and a restart as systemd would.
        let killedAt = Self.nowMilliseconds
        rig.killAgent()
        try rig.startAgent()
        try waitFor(timeout: 30, "the restarted agent's /metrics with the recovered rows") {
            (Self.chartingPending(rig) ?? 0) >= waitingBeforeKill
        }
        let restartedAt = Self.nowMilliseconds
        let outageSeconds = Date().timeIntervalSince(outageStarted)

        try startReceiver()
        let receiverBack = Date()
        try waitFor(timeout: 60, every: 0.05, "the backlog delivered") { Self.chartingPending(rig) == 0 }
        let drainSeconds = Date().timeIntervalSince(receiverBack)
        let lastBefore = Self.nowMilliseconds
        try waitFor(timeout: 30, "rows after the backlog") {
            beds.allSatisfy { bed in Self.received(logPath).contains { $0.bed == bed && $0.boundaryMilliseconds > lastBefore } }
        }
        #expect(rig.stopAgent() == 0)

        let messages = Self.received(logPath)
        var duplicates = 0
        var holes: [String] = []
        for bed in beds {
            var firstArrivals: [Int64] = []
            for message in messages where message.bed == bed {
                if firstArrivals.contains(message.boundaryMilliseconds) { duplicates += 1 } else { firstArrivals.append(message.boundaryMilliseconds) }
            }
            #expect(firstArrivals == firstArrivals.sorted(), "\(bed) out of order: \(firstArrivals)")
            // Consecutive boundaries, one interval apart; the only hole allowed is the agent's
            // own absence (the interval open at the kill, and those until it samples again).
            for (earlier, later) in zip(firstArrivals, firstArrivals.dropFirst()) where later - earlier != 1000 {
                let missing = stride(from: earlier + 1000, to: later, by: 1000)
                holes.append("\(bed) \(Array(missing).count) row(s) \(earlier + 1000 - killedAt) ms to \(later - 1000 - killedAt) ms from the kill")
                #expect(missing.allSatisfy { $0 >= killedAt - 2000 && $0 <= restartedAt + 2000 },
                        "\(bed) misses rows \(Array(missing)) (killed at \(killedAt), restarted by \(restartedAt))\n\(rig.agentOutput)")
            }
            // The three before the outage and at least five during it.
            #expect(firstArrivals.count >= 8, "\(bed): \(firstArrivals.count) rows")
        }
        #expect(messages.allSatisfy { $0.type == "ORU^R01^ORU_R01" && $0.observations > 0 })
        #expect(messages.contains { $0.location.contains("chair-1") })
        let example = try String(contentsOfFile: examplePath, encoding: .utf8)
        print("PCD-01 example as received:\n" + example.replacingOccurrences(of: "\r", with: "\n"))
        print("charting outage: \(beds.count) beds at 1 row/s, receiver away \(String(format: "%.1f", outageSeconds)) s "
              + "(kill -9 of the agent inside it), \(Int(waitingBeforeKill)) rows waiting on disk at the kill; "
              + "backlog drained \(String(format: "%.2f", drainSeconds)) s after the receiver came back; "
              + "\(messages.count) messages received, \(duplicates) duplicate(s); not charted while the agent was down: \(holes)")
    }
}
