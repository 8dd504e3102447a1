import SessionPicture
import Sessions
import Testing

/// A stored session record read back into its picture's plot: series by point name, NIBP once
/// per measurement, alarms with their acknowledge and end, a silent monitor as a gap, the
/// summary in words; a damaged record refused with a reason.
struct SessionRecordPlotTests {
    static func row(_ time: String, spo2: String, quality: String = "ok", systolic: Int = 120, rate: Double = 75) -> String {
        """
        {"time":"\(time)","pump":"running","values":[{"name":"spo2","value":\(spo2),"quality":"\(quality)","min":null,"max":null},\
        {"name":"heart_rate","value":80,"quality":"ok"},{"name":"nibp_systolic","value":\(systolic),"quality":"ok"},\
        {"name":"nibp_diastolic","value":70,"quality":"ok"},{"name":"nibp_mean","value":87,"quality":"ok"},\
        {"name":"respiratory_rate","value":14,"quality":"ok"},{"name":"etco2","value":38.5,"quality":"ok"},\
        {"name":"rate","value":\(rate),"quality":"ok"}]}
        """
    }

    static let record = """
        {"session":"chair-2-20261203T090000Z","bed":"chair-2","state":"ended","start":"2026-12-03T09:00:00.000Z",
         "end":"2026-12-03T09:05:00.000Z","started_by":"pump","ended_by":"command","interval_s":60,
         "points":[{"name":"spo2","unit":"%"}],
         "rows":[\(row("2026-12-03T09:01:00.000Z", spo2: "97")),\(row("2026-12-03T09:02:00.000Z", spo2: "86")),
                 \(row("2026-12-03T09:03:00.000Z", spo2: "null", quality: "comm-loss")),
                 \(row("2026-12-03T09:04:00.000Z", spo2: "96", systolic: 131, rate: 0))],
         "rows_left_out":0,
         "events":[
          {"time":"2026-12-03T09:00:00.000Z","event":"session-start","by":"pump"},
          {"time":"2026-12-03T09:01:30.000Z","event":"alarm-start","alarm":"chair-2.spo2-low.4","condition":"spo2-low","priority":"high","kind":"physiological"},
          {"time":"2026-12-03T09:01:45.000Z","event":"alarm-acknowledge","alarm":"chair-2.spo2-low.4","condition":"spo2-low","priority":"high","by":"button","after_s":15.0},
          {"time":"2026-12-03T09:02:20.000Z","event":"alarm-end","alarm":"chair-2.spo2-low.4","condition":"spo2-low","priority":"high","duration_s":50.0},
          {"time":"2026-12-03T09:02:30.000Z","event":"device-comm-loss","device":"monitor-2","reason":"timeout"},
          {"time":"2026-12-03T09:03:30.000Z","event":"device-recovered","device":"monitor-2","after_s":60.0},
          {"time":"2026-12-03T09:04:10.000Z","event":"alarm-start","alarm":"chair-2.nibp-stale.5","condition":"nibp-stale","priority":"low","kind":"technical"},
          {"time":"2026-12-03T09:05:00.000Z","event":"session-end","by":"command"}],
         "events_left_out":0,
         "summary":{"duration_s":300.0,"volume_infused_ml":4.1,"spo2_lowest":86,"spo2_below_90_s":55.0,"systolic_highest":131,
          "heart_rate_highest":80,"respiratory_rate_lowest":14,"acknowledge_median_s":15.0,"acknowledge_longest_s":15.0,"high_alarm_active_s":50.0,
          "alarms":[{"condition":"spo2-low","low":0,"medium":0,"high":1,"duration_total_s":50.0},
                    {"condition":"nibp-stale","low":1,"medium":0,"high":0,"duration_total_s":0.0}],
          "completeness":{"spo2":0.750,"heart_rate":1.000}}}
        """

    @Test func aStoredRecordBecomesItsPlot() throws {
        let plot = try SessionRecordPlot.plot(recordJSON: Array(Self.record.utf8))
        #expect(plot.bed == "chair-2" && plot.session == "chair-2-20261203T090000Z")
        #expect(plot.endMilliseconds - plot.startMilliseconds == 300_000)
        #expect(plot.spo2.count == 4 && plot.spo2.filter { $0.quality == .ok }.map(\.value) == [97, 86, 96])
        #expect(plot.spo2[2].quality == .commLoss)
        #expect(plot.heartRate.count == 4 && plot.respiratoryRate.count == 4 && plot.etco2.first?.value == 38.5)
        // Steps: a sample where the rate changes.
        #expect(plot.pumpRate.map(\.value) == [75, 0])
        // The same pressure at three rows is one measurement; a new one is another.
        #expect(plot.systolic.map(\.value) == [120, 131] && plot.diastolic.count == 2 && plot.mean.count == 2)
        #expect(plot.alarms.count == 2)
        let low = plot.alarms[0]
        #expect(low.condition == "spo2-low" && low.priority == .high && low.acknowledgedAt != nil && low.end != nil)
        #expect(plot.alarms[1].priority == .low && plot.alarms[1].end == nil)
        #expect(plot.gaps.count == 1 && plot.gaps[0].device == "monitor-2" && plot.gaps[0].scope == .vitals
                && plot.gaps[0].end - plot.gaps[0].start == 60_000)
        let summary = plot.summary.map { "\($0.label): \($0.value)" }
        #expect(summary.contains("duration: 5 min") && summary.contains("time SpO2 < 90 %: 55 s"))
        #expect(summary.contains("  spo2-low: 1 alarm, 50 s in all") && summary.contains("  nibp-stale: 1 alarm"))
        #expect(summary.contains("alarms: 2 (high 1, medium 0, low 1)") && summary.contains("least complete: spo2: 75.0 %"), "\(summary)")
        let svg = SessionPicture.svg(plot)
        #expect(svg.contains("<svg ") && svg.contains("chair-2-20261203T090000Z") && svg.contains("spo2-low"))
    }

    @Test func aDamagedRecordIsRefusedWithAReason() {
        #expect(throws: SessionRecordReadError.self) { try SessionRecordPlot.plot(recordJSON: Array(Self.record.utf8.dropLast(40))) }
        #expect(throws: SessionRecordReadError(reason: "it has no session, bed or start")) {
            try SessionRecordPlot.plot(recordJSON: Array("{\"bed\":\"chair-2\"}".utf8))
        }
    }
}
