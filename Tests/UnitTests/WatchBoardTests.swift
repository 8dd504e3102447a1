import Foundation
import Testing
@testable import Vitals
import WatchBoard

/// The board of `bedside-gateway watch` on fixed states: what each cell says, in which style,
/// and that every line fits the terminal.
struct WatchBoardTests {
    static func vitals(_ bed: String, _ values: [(String, Double?, String)]) -> ReceivedVitals {
        ReceivedVitals(bedID: bed, sequence: 1, time: "2026-12-03T09:00:00.000Z", descriptionRevision: "r1", reads: [],
                       values: values.map { ReceivedVitals.Value(name: $0.0, value: $0.1, unit: "", quality: $0.2, device: "monitor-1") })
    }

    static let healthy: [(String, Double?, String)] = [
        ("spo2", 97, "ok"), ("pulse_rate", 71, "ok"), ("heart_rate", 72, "ok"), ("nibp_systolic", 118, "ok"),
        ("nibp_diastolic", 76, "ok"), ("nibp_mean", 90, "ok"), ("respiratory_rate", 14, "ok"), ("etco2", 37.9, "ok"),
        ("rate", 75, "ok"), ("state", 1, "ok"),
    ]

    static func alarmState(_ bed: String, _ active: String, paused: String = "null") -> [UInt8] {
        Array("{\"bed\":\"\(bed)\",\"active\":[\(active)],\"audio_paused_until\":\(paused),\"time\":\"2026-12-03T09:00:00.000Z\"}".utf8)
    }

    static func row(_ lines: [BoardLine], _ bed: String) -> BoardLine? {
        lines.first { $0.text.hasPrefix(bed + " ") }
    }

    @Test func oneRowPerChairInTheOrderChairsAreNumberedWithUnits() {
        var state = BoardState()
        for bed in ["chair-10", "chair-2", "chair-1"] { state.received(Self.vitals(bed, Self.healthy), at: 1_000) }
        let lines = BoardLayout.lines(state, now: 1_500, width: 140, height: 40, title: "watch")
        let text = lines.map(\.text)
        #expect(text[0].hasPrefix("watch") && text[0].contains("3 chairs"))
        for heading in ["chair", "age", "SpO2 %", "PR /min", "HR /min", "NIBP mmHg", "RR /min", "EtCO2 mmHg", "pump mL/h", "alarms"] {
            #expect(text[1].contains(heading), "no column \(heading) in \(text[1])")
        }
        let rows = text.filter { $0.hasPrefix("chair-") }
        #expect(rows.map { String($0.prefix(8)) } == ["chair-1 ", "chair-2 ", "chair-10"])
        let first = rows[0]
        for cell in ["97", "72", "118/76 (90)", "14", "37.9", "75.0 running", "0s"] {
            #expect(first.contains(cell), "no \(cell) in \(first)")
        }
        #expect(text.last?.contains("lost: device not answering") == true)
    }

    @Test func commLossAndSensorOffAreNeverNumbers() throws {
        var state = BoardState()
        state.received(Self.vitals("chair-1", [("spo2", 0, "sensor-off"), ("heart_rate", nil, "comm-loss"), ("etco2", 412, "out-of-range"),
                                                ("nibp_systolic", nil, "comm-loss"), ("nibp_diastolic", nil, "comm-loss"),
                                                ("nibp_mean", nil, "comm-loss"), ("rate", nil, "comm-loss")]), at: 0)
        let lines = BoardLayout.lines(state, now: 0, width: 140, height: 40, title: "watch")
        let row = try #require(Self.row(lines, "chair-1"))
        let marked = row.spans.filter { $0.style == .noValue }.map { $0.text.trimmingCharacters(in: .whitespaces) }
        #expect(marked == ["off", "lost", "lost", "bad", "lost"], "\(marked)")
        #expect(!row.text.contains("412") && !row.text.contains(" 0 "))
        #expect(BoardANSI.text(row).contains("\u{1B}[1;7m   off"))
    }

    @Test func alarmsAreShownInTheirIECColoursHighestFirst() throws {
        var state = BoardState()
        state.received(Self.vitals("chair-2", Self.healthy), at: 0)
        try state.receivedAlarmState(Self.alarmState("chair-2", """
            {"alarm":"a3","condition":"nibp-stale","priority":"low","since":"2026-12-03T09:00:00.000Z","acknowledged":false},\
            {"alarm":"a1","condition":"rr-low","priority":"medium","since":"2026-12-03T09:00:00.000Z","acknowledged":true},\
            {"alarm":"a2","condition":"spo2-low","priority":"high","since":"2026-12-03T09:00:00.000Z","acknowledged":false}
            """, paused: "\"2026-12-03T09:02:00.000Z\""))
        let lines = BoardLayout.lines(state, now: 0, width: 160, height: 40, title: "watch")
        let row = try #require(Self.row(lines, "chair-2"))
        let alarms = row.spans.filter { [.alarmHigh, .alarmMedium, .alarmLow].contains($0.style) }
        #expect(alarms.map(\.style) == [.alarmHigh, .alarmHigh, .alarmMedium, .alarmLow], "the chair's name, then each alarm")
        #expect(alarms.map { $0.text.trimmingCharacters(in: .whitespaces) } == ["chair-2", "spo2-low", "rr-low \u{2713}", "nibp-stale"])
        #expect(row.text.contains("audio paused until 09:02:00Z"))
        let ansi = BoardANSI.text(row)
        #expect(ansi.contains("\u{1B}[1;97;41m spo2-low ") && ansi.contains("\u{1B}[1;30;103m rr-low") && ansi.contains("\u{1B}[30;106m nibp-stale"))
        #expect(ansi.hasSuffix("\u{1B}[0m") || !ansi.contains("\u{1B}"))
        // A new state replaces the old one: the alarms ended.
        try state.receivedAlarmState(Self.alarmState("chair-2", ""))
        let after = try #require(Self.row(BoardLayout.lines(state, now: 0, width: 160, height: 40, title: "watch"), "chair-2"))
        #expect(!after.spans.contains { $0.style == .alarmHigh })
    }

    @Test func everyLineFitsAndNarrowTerminalsKeepTheVitalSigns() throws {
        var state = BoardState()
        state.received(Self.vitals("chair-1", Self.healthy), at: 0)
        try state.receivedAlarmState(Self.alarmState("chair-1", (1...6).map {
            "{\"alarm\":\"a\($0)\",\"condition\":\"condition-\($0)\",\"priority\":\"medium\",\"since\":\"x\",\"acknowledged\":false}"
        }.joined(separator: ",")))
        for width in [40, 60, 80, 100, 132, 200] {
            let lines = BoardLayout.lines(state, now: 0, width: width, height: 30, title: String(repeating: "t", count: 300))
            for line in lines { #expect(line.text.unicodeScalars.count <= width, "\(width): \(line.text)") }
            let row = try #require(Self.row(lines, "chair-1"))
            #expect(row.text.contains("97") && row.text.contains("72"), "SpO2 and HR stay at width \(width): \(row.text)")
            if (60...132).contains(width) { #expect(row.text.contains("+"), "alarms that do not fit are counted at \(width): \(row.text)") }
        }
        let eighty = try #require(Self.row(BoardLayout.lines(state, now: 0, width: 80, height: 30, title: "t"), "chair-1"))
        #expect(eighty.text.contains("118/76 (90)"), "NIBP fits 80 columns: \(eighty.text)")
    }

    @Test func aChairThatWentQuietIsShownAsStale() throws {
        var state = BoardState()
        state.received(Self.vitals("chair-1", Self.healthy), at: 0)
        let fresh = try #require(Self.row(BoardLayout.lines(state, now: 4_000, width: 140, height: 30, title: "t"), "chair-1"))
        #expect(!fresh.spans.contains { $0.style == .stale })
        let quiet = try #require(Self.row(BoardLayout.lines(state, now: 12_000, width: 140, height: 30, title: "t"), "chair-1"))
        #expect(quiet.text.contains("12s"))
        #expect(quiet.spans.filter { $0.style == .stale }.count >= 8, "age and every value dimmed: \(quiet.spans)")
        state.waiting(bed: "chair-3", revision: "r9", at: 12_000)
        let waiting = try #require(Self.row(BoardLayout.lines(state, now: 12_000, width: 140, height: 30, title: "t"), "chair-3"))
        #expect(waiting.text.contains("waiting for its description") && !waiting.text.contains("97"))
    }

    @Test func moreChairsThanRowsSaySo() {
        var state = BoardState()
        for index in 1...40 { state.received(Self.vitals("chair-\(index)", Self.healthy), at: 0) }
        let lines = BoardLayout.lines(state, now: 0, width: 120, height: 20, title: "t")
        #expect(lines.count <= 20)
        #expect(lines.contains { $0.text.contains("more chairs: enlarge the window") })
    }

    @Test func aBrokenAlarmStateIsRefusedWithItsReason() {
        var state = BoardState()
        #expect(throws: BoardError.self) { try state.receivedAlarmState(Array("{\"bed\":\"chair-1\"}".utf8)) }
        #expect(throws: BoardError.self) {
            try state.receivedAlarmState(Self.alarmState("chair-1", "{\"alarm\":\"a\",\"condition\":\"c\",\"priority\":\"urgent\"}"))
        }
        #expect(throws: BoardError.self) { try state.receivedAlarmState(Array("not json".utf8)) }
        #expect(state.chairs.isEmpty)
    }
}
