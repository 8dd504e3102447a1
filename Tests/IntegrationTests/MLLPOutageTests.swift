import Foundation
import TestSupport
import Testing

/// Issue 12's outage at full size, against real MLLP receivers (python3-hl7 parses every
/// message): 4 chairs charting every 10 s as PCD-01 and forwarding every alarm event as PCD-04;
/// the interface engine and the alert manager both stop for 60 s while monitors desaturate and
/// drop off. Afterwards every row and every event must have arrived, in order per bed, none
/// missing: chart rows are named by their boundary (10 s apart, no hole), events by their
/// sequence (1, 2, 3, … per bed). Runs with the host agent only: at about 100 s it is the
/// longest test, and the firmware runs the shorter MLLP tests.
@Suite(.tags(.slow))
struct MLLPOutageTests {
    static let intervalSeconds = 10
    static let outageSeconds: TimeInterval = 60

    /// Logs every message (control id, message type, a PCD-04's condition and phase) and replies AA naming it.
    static let receiver = MLLPTestReceiver.script(handler: """
        def on_message(message, text, count, connection):
            control = str(message.segment('MSH')[10])
            entry = {'control': control, 'type': str(message.segment('MSH')[9])}
            if 'R40' in entry['type']:
                obx = list(message.segments('OBX'))
                entry['event'] = message.unescape(str(obx[0][5])) + ' ' + str([o for o in obx if 'EVENT_PHASE' in str(o[3])][0][5])
            with open(options.log, 'a') as log:
                log.write(json.dumps(entry) + '\\n')
            return ('\\x0bMSH|^~\\\\&|RECEIVER||||20261203||ACK|r%d|P|2.6\\rMSA|AA|%s\\r\\x1c\\r' % (count, control)).encode()
        """)

    /// Control ids as received, in order: `<bed>-C<boundary ms>` (PCD-01), `<bed>-A<sequence>` (PCD-04).
    static func controls(_ path: String) -> [String] { entries(path).compactMap { $0["control"] } }

    static func entries(_ path: String) -> [[String: String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        }
    }

    /// Per bed, the numbers after `marker` in first-arrival order, and how many arrived more than once.
    static func firstArrivals(_ controls: [String], marker: String) -> (perBed: [String: [Int64]], duplicates: Int) {
        var perBed: [String: [Int64]] = [:]
        var duplicates = 0
        for control in controls {
            guard let range = control.range(of: marker, options: .backwards),
                  let number = Int64(control[range.upperBound...]) else { continue }
            let bed = String(control[..<range.lowerBound])
            if perBed[bed, default: []].contains(number) { duplicates += 1 } else { perBed[bed, default: []].append(number) }
        }
        return (perBed, duplicates)
    }

    @Test func aMinuteWithoutReceiversWhileAlarmsFireLosesNothing() throws {
        let rig = try PublishingRig("mllp-outage")
        defer { rig.stopAll() }
        let beds = ["chair-1", "chair-2", "chair-3", "chair-4"]
        let chartPort = freeLoopbackPort()
        let alarmPort = freeLoopbackPort()
        let chartLog = rig.directory.appendingPathComponent("charting.jsonl").path
        let alarmLog = rig.directory.appendingPathComponent("alarms.jsonl").path
        var receivers: [ChildProcess] = []
        func startReceivers() throws {
            for (port, log) in [(chartPort, chartLog), (alarmPort, alarmLog)] {
                receivers.append(try ChildProcess(name: "receiver-\(port)-\(receivers.count)",
                                                  command: ["/usr/bin/python3", "-c", Self.receiver, "--port", String(port), "--log", log],
                                                  directory: rig.directory))
                guard waitForListener(port: port, timeout: 20) else { throw TestFailure("the MLLP receiver on \(port) did not start") }
            }
        }
        func stopReceivers() {
            for receiver in receivers { receiver.kill() }
            receivers = []
        }
        defer { stopReceivers() }
        func pending(_ link: String) -> Double? {
            (try? rig.metrics())?["bedside_hl7_pending_messages"]?.first { $0.labels["link"] == link }?.value
        }
        func waitFor(timeout: TimeInterval, _ what: String, _ condition: () -> Bool) throws {
            guard waitUntil(timeout: timeout, checkingEvery: 0.25, condition) else {
                throw TestFailure("timed out waiting for \(what)\ncharting: \(Self.controls(chartLog).suffix(20))\n"
                                  + "alarms: \(Self.controls(alarmLog).suffix(20))\n\(rig.agentOutput)")
            }
        }
        func rows() -> [String: [Int64]] { Self.firstArrivals(Self.controls(chartLog), marker: "-C").perBed }

        // Chairs 1 and 3 desaturate to 85 % (spo2-low, high) and the monitors of chairs 2 and 4
        // go silent for 15 s (comm-loss start and end), all inside the outage below.
        let simulatorStarted = Date()
        let ports = try rig.startSimulator(monitors: beds.count, arguments: [
            "--scenario", "desaturation@1,3", "--scenario-after-s", "25",
            "--scenario", "unplugged@2,4", "--unplugged-after-s", "30", "--unplugged-s", "15"])
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 1000, mqttPort: freeLoopbackPort(), extra: """
            charting:
              interval_s: \(Self.intervalSeconds)
              fhir: false
              hl7: { host: 127.0.0.1, port: \(chartPort), ack_timeout_ms: 2000, reconnect_max_ms: 2000 }
            alarms:
              forward:
                hl7: { host: 127.0.0.1, port: \(alarmPort), ack_timeout_ms: 2000, reconnect_max_ms: 2000 }
            """)
        try startReceivers()
        try rig.startAgent()
        try waitFor(timeout: 60, "a row of every bed") { beds.allSatisfy { !(rows()[$0] ?? []).isEmpty } }
        Thread.sleep(until: max(Date(), simulatorStarted.addingTimeInterval(20)))

        let rowsBefore = Self.controls(chartLog).count
        let eventsBefore = Self.controls(alarmLog).count
        stopReceivers()
        let outageStarted = Date()
        Thread.sleep(until: outageStarted.addingTimeInterval(Self.outageSeconds))
        let rowsWaiting = pending("charting") ?? 0
        let eventsWaiting = pending("alarms") ?? 0
        #expect(rowsWaiting >= Double(beds.count * 5), "rows waiting after the outage: \(rowsWaiting)")
        // Each bed's forwarding fault, and the desaturations and comm-losses, at least.
        #expect(eventsWaiting >= Double(beds.count + 6), "events waiting after the outage: \(eventsWaiting)")
        #expect(Self.controls(chartLog).count == rowsBefore && Self.controls(alarmLog).count == eventsBefore,
                "something was received while the receivers were down")

        try startReceivers()
        let receiversBack = Date()
        try waitFor(timeout: 60, "both backlogs delivered") { pending("charting") == 0 && pending("alarms") == 0 }
        let drainSeconds = Date().timeIntervalSince(receiversBack)
        // One more row after the backlog shows the rows of the drain were not the last ones made.
        let drained = rows()
        try waitFor(timeout: Double(Self.intervalSeconds) * 3, "a row of every bed after the backlog") {
            let now = rows()
            return beds.allSatisfy { (now[$0]?.count ?? 0) > (drained[$0]?.count ?? 0) }
        }
        #expect(rig.stopAgent() == 0)

        let charted = Self.firstArrivals(Self.controls(chartLog), marker: "-C")
        let forwarded = Self.firstArrivals(Self.controls(alarmLog), marker: "-A")
        let intervalMilliseconds = Int64(Self.intervalSeconds * 1000)
        for bed in beds {
            let boundaries = charted.perBed[bed] ?? []
            #expect(boundaries == boundaries.sorted(), "\(bed) rows out of order: \(boundaries)")
            let holes = zip(boundaries, boundaries.dropFirst()).filter { $1 - $0 != intervalMilliseconds }
            #expect(holes.isEmpty, "\(bed) rows missing between \(holes)")
            #expect(boundaries.count >= 9, "\(bed): \(boundaries.count) rows")
            let sequences = forwarded.perBed[bed] ?? []
            #expect(!sequences.isEmpty && sequences == Array(1...(sequences.max() ?? 1)), "\(bed) events: \(sequences)")
        }
        // The alarms that fired during the outage are among what arrived.
        let events = Set(Self.entries(alarmLog).compactMap { entry in entry["event"].map { "\(entry["control"]!.prefix(7)) \($0)" } })
        for expected in ["chair-1 spo2-low start", "chair-3 spo2-low start", "chair-2 comm-loss-monitor-2 start",
                         "chair-2 comm-loss-monitor-2 end", "chair-4 comm-loss-monitor-4 end",
                         "chair-1 agent-alarm-forward-down start", "chair-1 agent-alarm-forward-down end"] {
            #expect(events.contains(expected), "\(expected) not received: \(events.sorted())")
        }
        let rowCount = charted.perBed.values.map(\.count).reduce(0, +)
        let eventCount = forwarded.perBed.values.map(\.count).reduce(0, +)
        print("MLLP outage: \(beds.count) beds charting every \(Self.intervalSeconds) s, both receivers away "
              + "\(String(format: "%.1f", receiversBack.timeIntervalSince(outageStarted))) s; waiting at its end: "
              + "\(Int(rowsWaiting)) rows and \(Int(eventsWaiting)) alarm events; both backlogs delivered "
              + "\(String(format: "%.2f", drainSeconds)) s after the receivers came back; received \(rowCount) rows "
              + "(+\(charted.duplicates) copies) and \(eventCount) events (+\(forwarded.duplicates) copies), "
              + "in order per bed, none missing")
    }
}
