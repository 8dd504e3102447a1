import Foundation
import Testing
@testable import Alarms
import JSON

struct AlarmLogTests {
    /// A short history: spo2-low latched and unacknowledged, hr-high acknowledged and present,
    /// nibp-sys-high ended, on two beds.
    static func history() throws -> (AlarmEngine, [AlarmEvent]) {
        var rig = AlarmRig()
        var settings = BedAlarmSettings()
        settings.setLimit(LimitRule(condition: "spo2-low", point: "spo2", .below, 92, priority: .high, delayMilliseconds: 0))
        rig.events += try rig.engine.configure(bed: rig.bed, settings: settings, monotonicMilliseconds: 0, wallClockMilliseconds: rig.wall)
        rig.observe("spo2", 88)
        rig.observe("heart_rate", 130)
        rig.observe("nibp_systolic", 170)
        rig.observe("nibp_systolic", 170, bed: "chair-2")
        rig.advance(to: 1000)
        rig.t = 2000
        rig.observe("spo2", 96)
        try rig.acknowledge(rig.engine.activeAlarms(bed: rig.bed)[1].alarm)
        rig.pause()
        rig.t = 3000
        rig.observe("nibp_systolic", 150)
        rig.advance(to: 60_000)
        return (rig.engine, rig.events)
    }

    @Test func lineRoundTripsEveryField() {
        let event = AlarmEvent(bed: "chair-1", sequence: 17, alarm: "chair-1.spo2-low.17", condition: "spo2-low",
                               priority: .high, kind: .physiological, type: .limitChange,
                               wallClockMilliseconds: 1_795_000_000_123, monotonicMilliseconds: 42,
                               detail: "spo2 below 92 \"quoted\" \\ tab\t")
        let line = AlarmLog.encodeLine(event)
        #expect(line.hasSuffix("\n"))
        #expect(line.utf8.count > 9)
        let decoded = AlarmLog.decodeEvents(Array(line.utf8))
        #expect(decoded.events == [event])
        #expect(decoded.skippedLines == 0)
    }

    @Test func recoveryRestoresActiveAlarmsAndSequences() throws {
        let (engine, events) = try Self.history()
        let log = Array(AlarmLog.encode(events).utf8)
        let recovery = AlarmLog.recover(log)
        #expect(recovery.intactLines == events.count)
        #expect(recovery.skippedLines == 0)
        #expect(recovery.beds.map { $0.bed } == ["chair-1", "chair-2"])
        for bed in recovery.beds {
            #expect(bed.lastSequence + 1 == engine.nextSequence(bed: bed.bed))
            let live = engine.activeAlarms(bed: bed.bed)
            #expect(bed.active.map { "\($0.alarm) \($0.priority.name) \($0.acknowledged) \($0.sinceWallClockMilliseconds)" }
                    == live.map { "\($0.alarm) \($0.priority.name) \($0.acknowledged) \($0.sinceWallClockMilliseconds)" })
        }
        // A fresh engine picks up where the old one stopped.
        var restarted = AlarmEngine()
        restarted.restore(recovery, monotonicMilliseconds: 5)
        #expect(restarted.nextSequence(bed: "chair-1") == engine.nextSequence(bed: "chair-1"))
        #expect(restarted.audibleSignal(now: 5) == .high) // latched spo2-low and escalated chair-2 alarm
        let latched = restarted.activeAlarms(bed: "chair-1").first { $0.condition == "spo2-low" }!
        #expect(latched.acknowledged == false)
        // Its condition is gone after the restart too: acknowledging ends it.
        var more = restarted.observe(bed: "chair-1", [AlarmObservation(point: "spo2", device: "m", value: 97, quality: .ok)],
                                     monotonicMilliseconds: 10, wallClockMilliseconds: 0)
        more += try restarted.acknowledge(bed: "chair-1", alarm: latched.alarm, monotonicMilliseconds: 11, wallClockMilliseconds: 0)
        #expect(more.map { $0.type.name } == ["acknowledge", "end"])
        #expect(more[0].sequence == engine.nextSequence(bed: "chair-1"))
    }

    @Test func tornLastLineIsSkippedAtEveryByteOffset() throws {
        let (_, events) = try Self.history()
        let whole = Array(AlarmLog.encode(events).utf8)
        let lastLine = Array(AlarmLog.encodeLine(events.last!).utf8)
        let lastStart = whole.count - lastLine.count
        let complete = AlarmLog.recover(whole)
        let withoutLast = AlarmLog.recover(Array(whole[..<lastStart]))
        #expect(withoutLast.intactLines == events.count - 1)
        for cut in lastStart..<whole.count { // every prefix of the last line, including all but its newline
            let recovery = AlarmLog.recover(Array(whole[..<cut]))
            #expect(recovery.intactLines == events.count - 1, "cut at \(cut)")
            #expect(recovery.beds == withoutLast.beds, "cut at \(cut)")
            #expect(recovery.skippedLines == (cut == lastStart ? 0 : 1), "cut at \(cut)")
            #expect(recovery.endsMidLine == (cut != lastStart), "cut at \(cut)")
        }
        #expect(complete.intactLines == events.count)
    }

    @Test func flippedByteInAnyLineSkipsOnlyThatLine() throws {
        let (_, events) = try Self.history()
        var bytes = Array(AlarmLog.encode(events).utf8)
        let firstLineLength = AlarmLog.encodeLine(events[0]).utf8.count
        bytes[firstLineLength + 20] ^= 0x01 // inside the second line's JSON
        let decoded = AlarmLog.decodeEvents(bytes)
        #expect(decoded.skippedLines == 1)
        #expect(decoded.events.count == events.count - 1)
        #expect(decoded.events[0] == events[0])
        #expect(decoded.events[1] == events[2])
    }

    @Test func fileAppendAfterTornTailStartsAFreshLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alarmlog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("alarms.log").path
        let (_, events) = try Self.history()

        var file = AlarmLogFile(path: path)
        #expect(try file.load() == AlarmLogRecovery()) // missing file: empty log
        try file.append(Array(events[0..<4]))
        // Power lost halfway through the fifth line.
        let fifth = AlarmLog.encodeLine(events[4])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(fifth.utf8.prefix(fifth.utf8.count / 2)))
        try handle.close()

        var reopened = AlarmLogFile(path: path)
        let recovery = try reopened.load()
        #expect(recovery.intactLines == 4)
        #expect(recovery.endsMidLine)
        try reopened.append(Array(events[4...]))
        var again = AlarmLogFile(path: path)
        let final = try again.load()
        #expect(final.intactLines == events.count)
        #expect(final.skippedLines == 1)
        #expect(final == AlarmLog.recover(Array(AlarmLog.encode(events).utf8)).withSkipped(1))
    }
}

extension AlarmLogRecovery {
    func withSkipped(_ count: Int) -> AlarmLogRecovery {
        var copy = self
        copy.skippedLines = count
        return copy
    }
}

struct AlarmPayloadTests {
    @Test func eventPayloadMatchesTheContractExample() throws {
        let event = AlarmEvent(bed: "chair-1", sequence: 7, alarm: "a-42", condition: "spo2-low", priority: .high,
                               kind: .physiological, type: .start,
                               wallClockMilliseconds: Self.milliseconds("2026-11-24T08:41:07.250Z"), monotonicMilliseconds: 0)
        let text = encodeAlarmEvent(event)
        #expect(text == #"{"bed":"chair-1","alarm":"a-42","condition":"spo2-low","priority":"high","kind":"physiological","event":"start","time":"2026-11-24T08:41:07.250Z","seq":7}"#)
        let parsed = try JSONParser.parse(text)
        guard case let .object(members) = parsed else { Issue.record("not an object"); return }
        #expect(Set(members.map { $0.0 }) == ["bed", "alarm", "condition", "priority", "kind", "event", "time", "seq"])
    }

    @Test func engineEventsUseContractSpellings() throws {
        let (_, events) = try AlarmLogTests.history()
        let idPattern = try Regex("^[A-Za-z0-9._-]{1,64}$")
        for event in events {
            let parsed = try JSONParser.parse(encodeAlarmEvent(event))
            #expect(["high", "medium", "low"].contains(parsed["priority"]?.stringValue ?? ""))
            #expect(["physiological", "technical"].contains(parsed["kind"]?.stringValue ?? ""))
            #expect(parsed["alarm"]!.stringValue!.wholeMatch(of: idPattern) != nil)
            #expect((parsed["seq"]?.integerValue ?? -1) >= 0)
            #expect(["start", "end", "escalate", "acknowledge", "audio-paused", "audio-resumed", "limit-change"]
                .contains(parsed["event"]!.stringValue!))
            #expect(parsed["detail"]?.stringValue == (event.detail.isEmpty ? nil : event.detail))
        }
        #expect(events.contains { $0.type == .audioPaused })
    }

    @Test func statePayloadMatchesTheContract() throws {
        var rig = AlarmRig()
        rig.t = 250
        rig.observe("spo2", 88)
        rig.observe("nibp_systolic", 170)
        try rig.acknowledge(rig.active[1].alarm)
        let before = rig.engine.encodeState(bed: rig.bed, monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall)
        #expect(before == #"{"bed":"chair-1","active":[{"alarm":"chair-1.spo2-low.1","condition":"spo2-low","priority":"high","since":"2026-11-18T11:06:40.250Z","acknowledged":false},{"alarm":"chair-1.nibp-sys-high.2","condition":"nibp-sys-high","priority":"medium","since":"2026-11-18T11:06:40.250Z","acknowledged":true}],"audio_paused_until":null,"time":"2026-11-18T11:06:40.250Z"}"#)
        rig.t = 1000
        rig.pause()
        let paused = try JSONParser.parse(rig.engine.encodeState(bed: rig.bed, monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall))
        #expect(paused["audio_paused_until"]?.stringValue == "2026-11-18T11:08:41.000Z")
        let empty = encodeAlarmState(bed: "chair-2", active: [], audioPausedUntilWallClockMilliseconds: nil, wallClockMilliseconds: 0)
        #expect(empty == #"{"bed":"chair-2","active":[],"audio_paused_until":null,"time":"1970-01-01T00:00:00.000Z"}"#)
    }

    static func milliseconds(_ text: String) -> Int64 {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return Int64((formatter.date(from: text)!.timeIntervalSince1970 * 1000).rounded())
    }
}
