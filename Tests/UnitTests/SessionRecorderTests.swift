import Alarms
import Charting
import JSON
import RegisterMaps
import Sessions
import Testing
import Vitals

/// The session record on fixed inputs with an injected clock: lifecycle by pump and by command,
/// every event kind, the summary's figures, a comm-loss gap, and a restart in the middle.
struct SessionRecorderTests {
    static let description = BedDescription(bedID: "chair-2", devices: [("monitor-2", BuiltinProfiles.patientMonitor.points),
                                                                        ("pump-2", BuiltinProfiles.infusionPump.points)])
    static func entry(_ name: String) -> Int { description.entries.firstIndex { $0.name == name }! }
    /// 2026-12-03T21:49:00Z, a multiple of the 10 s interval.
    static let start: Int64 = 1_796_334_540_000
    static let interval: Int64 = 10_000

    /// One bed's inputs, second by second: a vitals message through the charting aggregator
    /// and the recorder, as the publisher feeds them.
    struct Bed {
        var recorder = SessionRecorder(description: SessionRecorderTests.description, intervalMilliseconds: interval,
                                       settings: SessionSettings(endAfterStoppedSeconds: 60))
        var chart = ChartingAggregator(description: SessionRecorderTests.description, intervalMilliseconds: interval)
        var finished: [FinishedSession] = []
        var started: [String] = []
        var recordChanges = 0
        var spo2: Double = 97
        var heartRate: Double = 72
        var systolic: Double = 118
        var respiratoryRate: Double = 14
        var pumpState = BuiltinProfiles.PumpState.stopped
        var rate: Double = 120
        var volume: Double = 0
        var occluded = false
        var monitorAnswering = true
        var pumpAnswering = true

        mutating func take(_ changes: SessionChanges) {
            if let session = changes.finished { finished.append(session) }
            if let id = changes.started { started.append(id) }
            if changes.recordChanged { recordChanges += 1 }
        }

        /// One message at `second` after `start` (plus 500 ms).
        mutating func tick(_ second: Int) {
            let time = start + Int64(second) * 1000 + 500
            if pumpState == .running { volume += rate / 3600 }
            var values: [VitalValue] = []
            func add(_ name: String, _ value: Double?, answering: Bool) {
                values.append(VitalValue(entry: entry(name), value: answering ? value : nil, quality: answering ? .ok : .commLoss,
                                         wallClockMilliseconds: time - 3))
            }
            add("spo2", spo2, answering: monitorAnswering)
            add("heart_rate", heartRate, answering: monitorAnswering)
            add("nibp_systolic", systolic, answering: monitorAnswering)
            add("respiratory_rate", respiratoryRate, answering: monitorAnswering)
            add("rate", pumpState == .running ? rate : 0, answering: pumpAnswering)
            add("volume_infused", volume, answering: pumpAnswering)
            add("state", Double(pumpState.rawValue), answering: pumpAnswering)
            add("pump_status", occluded ? 1 : 0, answering: pumpAnswering)
            if let row = chart.add(values, messageMilliseconds: time) { take(recorder.addRow(row)) }
            take(recorder.observe(values, messageMilliseconds: time))
        }

        mutating func run(_ seconds: ClosedRange<Int>, _ each: (inout Bed, Int) -> Void = { _, _ in }) {
            for second in seconds {
                each(&self, second)
                tick(second)
            }
        }

        mutating func alarm(_ type: AlarmEventType, _ condition: String, _ priority: AlarmPriority, at second: Int,
                            sequence: Int64 = 1, by: String = "") {
            let event = AlarmEvent(bed: "chair-2", sequence: sequence, alarm: "chair-2.\(condition).1", condition: condition,
                                   priority: priority, kind: .physiological, type: type,
                                   wallClockMilliseconds: start + Int64(second) * 1000 + 700, monotonicMilliseconds: 0, by: by)
            take(recorder.alarm(event))
        }
    }

    static func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    static func events(_ record: JSONValue) -> [JSONValue] {
        guard case .array(let events)? = record["events"] else { return [] }
        return events
    }

    static func eventNames(_ record: JSONValue) -> [String] { events(record).compactMap { $0["event"]?.stringValue } }

    static func event(_ record: JSONValue, _ name: String) -> JSONValue? { events(record).first { $0["event"]?.stringValue == name } }

    @Test func thePumpStartsASessionAndAStoppedPumpEndsIt() throws {
        var bed = Bed()
        bed.run(0...4)
        #expect(bed.recorder.openSessionID == nil, "a stopped pump starts nothing")
        bed.pumpState = .running
        bed.run(5...300) { bed, second in
            // A desaturation from 60 s to 89 s: 88 %, lowest 84 at 75 s.
            bed.spo2 = (60..<90).contains(second) ? (second == 75 ? 84 : 88) : 97
            if second == 200 { bed.rate = 90 }
            if second == 120 { bed.systolic = 151 }
            if second == 130 { bed.systolic = 120 }
        }
        #expect(bed.started == ["chair-2-20261203T214905Z"])
        bed.pumpState = .stopped
        bed.run(301...359)
        #expect(bed.finished.isEmpty, "stopped for 59 s of the 60")
        bed.run(360...365)
        let finished = try #require(bed.finished.first)
        #expect(bed.finished.count == 1)
        #expect(finished.id == "chair-2-20261203T214905Z")
        let record = try Self.parse(finished.record)
        #expect(record["state"]?.stringValue == "ended")
        #expect(record["started_by"]?.stringValue == "pump")
        #expect(record["ended_by"]?.stringValue == "pump-stopped")
        #expect(record["start"]?.stringValue == "2026-12-03T21:49:05.500Z")
        #expect(record["end"]?.stringValue == "2026-12-03T21:55:01.500Z", "stopped at 301.5 s, ended 60 s later")
        #expect(Self.eventNames(record) == ["session-start", "pump-running", "pump-rate", "pump-rate", "pump-stopped", "session-end"])
        let rateChanges = Self.events(record).filter { $0["event"]?.stringValue == "pump-rate" }
        let rateChange = try #require(rateChanges.last)
        #expect(rateChange["from"] == .number("120.0") && rateChange["rate"] == .number("90.0"))
        // Rows at every 10 s boundary after the start: 21:49:10 ... 21:55:00.
        guard case .array(let rows)? = record["rows"] else { Issue.record("no rows"); return }
        #expect(rows.count == 36)
        #expect(rows.first?["time"]?.stringValue == "2026-12-03T21:49:10.000Z")
        #expect(rows.first?["pump"]?.stringValue == "running")
        #expect(rows.last?["pump"]?.stringValue == "stopped")
        // The row of 21:50:20 covers 70..80 s: the lowest SpO2 84 at 75 s.
        let desaturated = try #require(rows.first { $0["time"]?.stringValue == "2026-12-03T21:50:20.000Z" })
        guard case .array(let values)? = desaturated["values"] else { Issue.record("no values"); return }
        let spo2 = try #require(values.first { $0["name"]?.stringValue == "spo2" })
        #expect(spo2["min"] == .number("84") && spo2["max"] == .number("88") && spo2["value"] == .number("88"))
        #expect(values.contains { $0["name"]?.stringValue == "rate" } && !values.contains { $0["name"]?.stringValue == "state" })
        let summary = try #require(record["summary"])
        #expect(summary["spo2_lowest"] == .number("84"))
        #expect(summary["spo2_below_90_s"] == .number("30.0"), "the samples of 60..89 s, each lasting to the next")
        #expect(summary["systolic_highest"] == .number("151"))
        #expect(summary["heart_rate_highest"] == .number("72"))
        #expect(summary["respiratory_rate_lowest"] == .number("14"))
        #expect(summary["duration_s"] == .number("356.0"))
        // 195 s at 120 mL/h and 101 s at 90 mL/h, counted from the first sample of the session.
        let volume = try #require(summary["volume_infused_ml"]?.doubleValue)
        #expect(abs(volume - (195.0 * 120 + 101 * 90) / 3600) < 0.11)
        #expect(summary["completeness"]?["spo2"] == .number("1.000"))
    }

    @Test func everyEventKindWithItsDurationsAndTheAlarmSummary() throws {
        var bed = Bed()
        bed.pumpState = .running
        bed.run(0...10)
        bed.alarm(.limitChange, "spo2-low", .high, at: 10)
        bed.alarm(.start, "spo2-low", .high, at: 11)
        bed.run(11...20)
        bed.alarm(.acknowledge, "spo2-low", .high, at: 20, by: "command:nurse-station")
        bed.alarm(.audioPaused, "audio-paused", .high, at: 21)
        bed.run(21...30)
        bed.alarm(.end, "spo2-low", .high, at: 41)
        bed.alarm(.start, "hr-high", .medium, at: 42)
        bed.alarm(.escalate, "hr-high", .high, at: 102)
        bed.alarm(.acknowledge, "hr-high", .high, at: 110, by: "button")
        bed.alarm(.end, "hr-high", .high, at: 122)
        bed.alarm(.audioResumed, "audio-paused", .high, at: 141)
        bed.run(31...40) { bed, second in bed.pumpAnswering = second < 35 }
        _ = bed.recorder.deviceState(device: "pump-2", answering: false, reason: "timeout", at: Self.start + 35_000)
        bed.run(41...50) { bed, second in
            bed.pumpAnswering = second >= 45
            bed.occluded = second >= 47
            if second >= 47 { bed.pumpState = .paused }
        }
        _ = bed.recorder.deviceState(device: "pump-2", answering: true, reason: nil, at: Self.start + 45_000)
        bed.run(51...55) { bed, second in
            bed.occluded = second < 53
            if second >= 53 { bed.pumpState = .running }
        }
        let record = try Self.parse(try #require(bed.recorder.runningRecord(at: Self.start + 200_000)))
        #expect(record["state"]?.stringValue == "open" && record["end"] == .null && record["ended_by"] == .null)
        let names = Self.eventNames(record)
        for name in ["session-start", "pump-running", "pump-rate", "limit-change", "alarm-start", "alarm-acknowledge",
                     "audio-paused", "alarm-end", "alarm-escalate", "audio-resumed", "device-comm-loss", "device-recovered",
                     "pump-occlusion", "pump-paused", "pump-occlusion-cleared"] {
            #expect(names.contains(name), "\(name) in \(names)")
        }
        let acknowledges = Self.events(record).filter { $0["event"]?.stringValue == "alarm-acknowledge" }
        #expect(acknowledges.map { $0["by"]?.stringValue } == ["command:nurse-station", "button"])
        #expect(acknowledges.map { $0["after_s"] } == [JSONValue.number("9.0"), JSONValue.number("68.0")])
        let ends = Self.events(record).filter { $0["event"]?.stringValue == "alarm-end" }
        #expect(ends.map { $0["duration_s"] } == [JSONValue.number("30.0"), JSONValue.number("80.0")])
        let lost = try #require(Self.event(record, "device-comm-loss"))
        #expect(lost["device"]?.stringValue == "pump-2" && lost["reason"]?.stringValue == "timeout")
        #expect(Self.event(record, "device-recovered")?["after_s"] == .number("10.0"))
        let summary = try #require(record["summary"])
        guard case .array(let alarms)? = summary["alarms"] else { Issue.record("no alarms"); return }
        #expect(alarms.count == 2)
        let heart = try #require(alarms.first { $0["condition"]?.stringValue == "hr-high" })
        #expect(heart["medium"] == .number("1") && heart["high"] == .number("0") && heart["escalated"] == .number("1"))
        #expect(heart["duration_total_s"] == .number("80.0") && heart["acknowledged"] == .number("1"))
        #expect(summary["acknowledge_median_s"] == .number("38.5"))
        #expect(summary["acknowledge_longest_s"] == .number("68.0"))
        // spo2-low 11.7 -> 41.7 s, hr-high high from 102.7 to 122.7 s.
        #expect(summary["high_alarm_active_s"] == .number("50.0"))
        let completeness = try #require(summary["completeness"]?["rate"]?.doubleValue)
        #expect(completeness < 1 && completeness > 0.8, "the pump's 10 silent seconds")
        // The bed's statistics for /metrics saw the same alarms.
        #expect(bed.recorder.bedAlarms.conditions.map { $0.condition } == ["spo2-low", "hr-high"])
    }

    @Test func aSessionContinuesAfterARestartFromItsSnapshot() throws {
        func drive(_ bed: inout Bed, _ seconds: ClosedRange<Int>) {
            bed.run(seconds) { bed, second in
                bed.spo2 = (100..<130).contains(second) ? 86 : 96
                if second == 250 { bed.pumpState = .stopped }
            }
        }
        var uninterrupted = Bed()
        uninterrupted.pumpState = .running
        drive(&uninterrupted, 0...120)
        uninterrupted.alarm(.start, "spo2-low", .high, at: 100)
        var restarted = uninterrupted
        // The restart: a new recorder from the snapshot's bytes, the chart going on as it was.
        restarted.recorder = try SessionRecorder(description: Self.description, intervalMilliseconds: Self.interval,
                                                 settings: SessionSettings(endAfterStoppedSeconds: 60),
                                                 snapshot: uninterrupted.recorder.snapshot())
        #expect(restarted.recorder.openSessionID == uninterrupted.recorder.openSessionID)
        var gapNoted = restarted
        gapNoted.recorder.resumed()
        gapNoted.tick(150)
        let noted = try Self.parse(try #require(gapNoted.recorder.runningRecord(at: Self.start + 151_000)))
        #expect(Self.event(noted, "recording-resumed")?["gap_s"] == .number("30.0"), "the last message at 120.5 s, the next at 150.5 s")
        func finish(_ bed: inout Bed) {
            bed.alarm(.acknowledge, "spo2-low", .high, at: 125, by: "button")
            bed.alarm(.end, "spo2-low", .high, at: 131)
            drive(&bed, 121...320)
        }
        finish(&uninterrupted)
        finish(&restarted)
        #expect(uninterrupted.finished.count == 1 && restarted.finished.count == 1)
        #expect(uninterrupted.finished.first?.record == restarted.finished.first?.record, "the same record as without a restart")
        #expect(restarted.finished.first?.record.contains("\"event\":\"alarm-start\"") == true)
        let record = try Self.parse(uninterrupted.finished[0].record)
        #expect(Self.event(record, "alarm-acknowledge")?["after_s"] == .number("25.0"))
        #expect(record["summary"]?["spo2_below_90_s"] == .number("30.0"))
    }

    @Test func aCommLossGapIsChartedAsCommLossAndNotCountedBelow90() throws {
        var bed = Bed()
        bed.pumpState = .running
        bed.run(0...100) { bed, second in
            bed.monitorAnswering = !(40..<70).contains(second)
            bed.spo2 = second < 40 ? 97 : 88
        }
        let record = try Self.parse(try #require(bed.recorder.runningRecord(at: Self.start + 101_000)))
        guard case .array(let rows)? = record["rows"] else { Issue.record("no rows"); return }
        let silent = try #require(rows.first { $0["time"]?.stringValue == "2026-12-03T21:50:00.000Z" })
        guard case .array(let values)? = silent["values"] else { Issue.record("no values"); return }
        let spo2 = try #require(values.first { $0["name"]?.stringValue == "spo2" })
        #expect(spo2["quality"]?.stringValue == "comm-loss" && spo2["value"] == .null && spo2["min"] == nil)
        // Below 90 from 70 s to 100 s only: the 30 silent seconds are unknown, not low.
        #expect(record["summary"]?["spo2_below_90_s"] == .number("30.0"))
        #expect(record["summary"]?["completeness"]?["spo2"] == .number("0.703"), "71 of 101 cycles ok")
    }

    @Test func commandsStartAndEndASessionAndARunningPumpDoesNotRestartIt() throws {
        var bed = Bed()
        bed.run(0...5)
        let started = try bed.recorder.startByCommand(issuer: "nurse-1", at: Self.start + 5_800)
        #expect(started.started == "chair-2-20261203T214905Z")
        #expect(throws: SessionCommandError.alreadyOpen(bed: "chair-2", session: "chair-2-20261203T214905Z")) {
            _ = try bed.recorder.startByCommand(issuer: "nurse-1", at: Self.start + 6_000)
        }
        // A stopped pump does not end a session it never ran in.
        bed.run(6...200)
        #expect(bed.finished.isEmpty && bed.recorder.openSessionID != nil)
        bed.pumpState = .running
        bed.run(201...230)
        #expect(bed.started.isEmpty, "the pump joined the open session")
        let ended = try bed.recorder.endByCommand(issuer: "nurse-2", at: Self.start + 230_900)
        let record = try Self.parse(try #require(ended.finished?.record))
        #expect(record["started_by"]?.stringValue == "command:nurse-1")
        #expect(record["ended_by"]?.stringValue == "command:nurse-2")
        #expect(Self.event(record, "session-end")?["by"]?.stringValue == "command:nurse-2")
        #expect(throws: SessionCommandError.noneOpen(bed: "chair-2")) {
            _ = try bed.recorder.endByCommand(issuer: "nurse-2", at: Self.start + 231_000)
        }
        bed.run(231...300)
        #expect(bed.recorder.openSessionID == nil, "the pump still runs: no new session until it stopped")
        bed.pumpState = .stopped
        bed.run(301...305)
        bed.pumpState = .running
        bed.run(306...310)
        #expect(bed.started == ["chair-2-20261203T215406Z"])
    }

    @Test func aDamagedOrForeignStateIsRefusedWithItsReason() throws {
        var bed = Bed()
        bed.pumpState = .running
        bed.run(0...30)
        let snapshot = bed.recorder.snapshot()
        for cut in [0, 1, snapshot.count / 2, snapshot.count - 1] {
            #expect(throws: SessionStateError.self) {
                _ = try SessionRecorder(description: Self.description, intervalMilliseconds: Self.interval,
                                        settings: SessionSettings(), snapshot: Array(snapshot[0..<cut]))
            }
        }
        // Numbers no recorder writes (a forged file: negative or beyond 2^62) are refused, not computed with.
        let text = String(decoding: snapshot, as: UTF8.self)
        for forged in [text.replacingOccurrences(of: "\"spo2_below_ms\":0", with: "\"spo2_below_ms\":-9223372036854775808"),
                       text.replacingOccurrences(of: "\"high_active\":0", with: "\"high_active\":9223372036854775807"),
                       // An event the record would carry as it is, which is not JSON (found by fuzz-session-state).
                       text.replacingOccurrences(of: "\\\"event\\\":\\\"session-start\\\"", with: "\\\"event\\\" \\\"session-start\\\"")] {
            #expect(forged != text)
            #expect(throws: SessionStateError.self) {
                _ = try SessionRecorder(description: Self.description, intervalMilliseconds: Self.interval,
                                        settings: SessionSettings(), snapshot: Array(forged.utf8))
            }
        }
        let other = BedDescription(bedID: "chair-3", devices: [("monitor-3", BuiltinProfiles.patientMonitor.points)])
        do {
            _ = try SessionRecorder(description: other, intervalMilliseconds: Self.interval, settings: SessionSettings(),
                                    snapshot: snapshot)
            Issue.record("chair-2's state taken for chair-3")
        } catch {
            #expect(error.description == "not a session state: it is bed chair-2's, not chair-3's")
        }
    }

    @Test func onlyWellFormedIdsOfConfiguredBedsAreSessionIds() {
        let beds = ["chair-1", "chair-2"]
        #expect(SessionID.make(bed: "chair-2", startMilliseconds: Self.start) == "chair-2-20261203T214900Z")
        #expect(SessionID.isWellFormed("chair-2-20261203T214900Z", beds: beds))
        for bad in ["chair-3-20261203T214900Z", "../chair-2-20261203T214900Z", "chair-2-20261203T214900Z/..", "chair-2-2026120xT214900Z",
                    "chair-2-20261203T214900", "", "-20261203T214900Z", "chair-2_20261203T214900Z", "chair-2-20261203T214900Z.json"] {
            #expect(!SessionID.isWellFormed(bad, beds: beds), "\(bad)")
        }
    }

    @Test func anAcknowledgeCarriesWhoThroughThePayloadAndTheAlarmLog() throws {
        var engine = AlarmEngine()
        _ = try engine.configure(bed: "chair-2", settings: BedAlarmSettings(), monotonicMilliseconds: 0, wallClockMilliseconds: Self.start)
        _ = engine.observe(bed: "chair-2", [AlarmObservation(point: "spo2", device: "monitor-2", value: 84, quality: .ok)],
                           monotonicMilliseconds: 1000, wallClockMilliseconds: Self.start + 1000)
        let events = try engine.acknowledge(bed: "chair-2", by: "command:nurse-station", monotonicMilliseconds: 2000,
                                            wallClockMilliseconds: Self.start + 2000)
        let acknowledge = try #require(events.first { $0.type == .acknowledge })
        let payload = try JSONParser.parse(encodeAlarmEvent(acknowledge))
        #expect(payload["by"]?.stringValue == "command:nurse-station")
        let logged = AlarmLog.decodeEvents(Array(AlarmLog.encodeLine(acknowledge).utf8)).events
        #expect(logged == [acknowledge])
        let start = try #require(events.isEmpty ? nil : engine.activeAlarms(bed: "chair-2").first)
        #expect(start.acknowledged)
    }
}
