import Charting
import RegisterMaps
import Testing
import Vitals

/// The chart rows a bed's vitals messages make, on fixed inputs: the value at the boundary,
/// the range of ok values, counts, comm-loss for silence, the first interval and clock steps.
struct ChartingAggregatorTests {
    static let description = BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points)])
    static func entry(_ name: String) -> Int { description.entries.firstIndex { $0.name == name }! }
    static let spo2 = entry("spo2")
    static let heartRate = entry("heart_rate")
    /// 2026-12-03T10:00:00Z: a multiple of 60 s.
    static let ten: Int64 = 1_796_292_000_000

    static func message(_ time: Int64, spo2: Double?, quality: Quality = .ok, heartRate: Double? = 70) -> [VitalValue] {
        [VitalValue(entry: Self.spo2, value: spo2, quality: quality, wallClockMilliseconds: time - 2),
         VitalValue(entry: Self.heartRate, value: heartRate, quality: heartRate == nil ? .commLoss : .ok,
                    wallClockMilliseconds: time - 2)]
    }

    @Test func aRowAtEachBoundaryHoldsTheLatestValueAndTheRangeOfOkValues() throws {
        #expect(Self.ten % 60_000 == 0)
        var chart = ChartingAggregator(description: Self.description, intervalMilliseconds: 60_000)
        // Messages each second from 10:00:00.5 to 10:01:00.5.
        var rows: [ChartRow] = []
        for second in 0...60 {
            let spo2: Double = second == 30 ? 88 : (second == 59 ? 99 : 96)
            if let row = chart.add(Self.message(Self.ten + Int64(second) * 1000 + 500, spo2: spo2), messageMilliseconds: Self.ten + Int64(second) * 1000 + 500) {
                rows.append(row)
            }
        }
        // The first row (10:01:00) came with the message of 10:01:00.5 and covers the time since the first message.
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row.rowMilliseconds == Self.ten + 60_000)
        #expect(row.coveredFromMilliseconds == Self.ten + 500)
        #expect(row.sequence == 1)
        #expect(row.values.count == Self.description.entries.count)
        let spo2 = row.values[Self.spo2]
        // 10:00:59.498 was the latest read at or before 10:01:00: 99, not the 96 read after it.
        #expect(spo2.value == 99)
        #expect(spo2.quality == .ok)
        #expect(spo2.measuredAtMilliseconds == Self.ten + 59_498)
        #expect(spo2.minimum == 88 && spo2.maximum == 99)
        #expect(spo2.samples == 60 && spo2.okSamples == 60)
        // An entry no message carried is comm-loss, at the row's time.
        let etco2 = row.values[Self.entry("etco2")]
        #expect(etco2.value == nil && etco2.quality == .commLoss && etco2.samples == 0)
        #expect(etco2.measuredAtMilliseconds == row.rowMilliseconds && etco2.minimum == nil)

        // The next interval holds the sample read after the boundary; a whole interval follows.
        var next: ChartRow?
        for second in 61...120 {
            let time = Self.ten + Int64(second) * 1000 + 500
            if let row = chart.add(Self.message(time, spo2: 95), messageMilliseconds: time) { next = row }
        }
        let second = try #require(next)
        #expect(second.rowMilliseconds == Self.ten + 120_000 && second.sequence == 2)
        #expect(second.coveredFromMilliseconds == Self.ten + 60_000)
        #expect(second.values[Self.spo2].samples == 60)
        #expect(second.values[Self.spo2].minimum == 95 && second.values[Self.spo2].maximum == 96)
    }

    @Test func commLossAndSensorOffAreChartedAsSuchNeverAsTheLastNumber() throws {
        var chart = ChartingAggregator(description: Self.description, intervalMilliseconds: 10_000)
        _ = chart.add(Self.message(Self.ten + 1000, spo2: 97), messageMilliseconds: Self.ten + 1000)
        _ = chart.add(Self.message(Self.ten + 2000, spo2: 98), messageMilliseconds: Self.ten + 2000)
        _ = chart.add(Self.message(Self.ten + 9000, spo2: nil, quality: .sensorOff, heartRate: nil), messageMilliseconds: Self.ten + 9000)
        let added1 = chart.add(Self.message(Self.ten + 10_500, spo2: 97), messageMilliseconds: Self.ten + 10_500)
        let row = try #require(added1)
        let spo2 = row.values[Self.spo2]
        #expect(spo2.value == nil && spo2.quality == .sensorOff)
        // The range still tells what the ok values were before the probe came off.
        #expect(spo2.minimum == 97 && spo2.maximum == 98 && spo2.samples == 3 && spo2.okSamples == 2)
        let heartRate = row.values[Self.heartRate]
        #expect(heartRate.value == nil && heartRate.quality == .commLoss)
    }

    @Test func aMessageExactlyAtTheBoundaryBelongsToTheRowOfThatBoundary() throws {
        var chart = ChartingAggregator(description: Self.description, intervalMilliseconds: 10_000)
        let values = [VitalValue(entry: Self.spo2, value: 91, quality: .ok, wallClockMilliseconds: Self.ten + 10_000)]
        _ = chart.add(values, messageMilliseconds: Self.ten + 10_000)
        let added2 = chart.add(Self.message(Self.ten + 10_000, spo2: 93), messageMilliseconds: Self.ten + 10_000)
        #expect(added2 == nil)
        let added3 = chart.add(Self.message(Self.ten + 10_001, spo2: 94), messageMilliseconds: Self.ten + 10_001)
        let row = try #require(added3)
        #expect(row.rowMilliseconds == Self.ten + 10_000)
        #expect(row.values[Self.spo2].value == 91, "read at the boundary; the later messages' reads are 2 ms earlier")
        #expect(row.values[Self.spo2].samples == 3, "the 10:00:10.001 message's read (10:00:09.999) is before the boundary")
    }

    @Test func aClockSteppingForwardChartsOnlyIntervalsThatHadMessages() throws {
        var chart = ChartingAggregator(description: Self.description, intervalMilliseconds: 10_000)
        _ = chart.add(Self.message(Self.ten + 5000, spo2: 97), messageMilliseconds: Self.ten + 5000)
        let jump = Self.ten + 3_600_000 + 4000
        let added4 = chart.add(Self.message(jump, spo2: 90), messageMilliseconds: jump)
        let row = try #require(added4)
        #expect(row.rowMilliseconds == Self.ten + 10_000 && row.values[Self.spo2].value == 97)
        #expect(chart.clockStepsForward == 1 && chart.stepAtLastMessage == .forward)
        let added5 = chart.add(Self.message(jump + 7000, spo2: 91), messageMilliseconds: jump + 7000)
        let after = try #require(added5)
        #expect(after.rowMilliseconds == Self.ten + 3_610_000 && after.sequence == 2)
        #expect(after.coveredFromMilliseconds == jump && after.values[Self.spo2].value == 90)
        #expect(chart.stepAtLastMessage == nil, "only the message that showed the step reports it")
    }

    @Test func aClockSteppingBackChartsWhatItHeldAndStartsAgain() throws {
        var chart = ChartingAggregator(description: Self.description, intervalMilliseconds: 10_000)
        _ = chart.add(Self.message(Self.ten + 12_000, spo2: 97), messageMilliseconds: Self.ten + 12_000)
        // Back by 1 s, still inside the open interval (10:00:10, 10:00:20]: nothing special.
        let added6 = chart.add(Self.message(Self.ten + 11_000, spo2: 96), messageMilliseconds: Self.ten + 11_000)
        #expect(added6 == nil)
        #expect(chart.clockStepsBack == 0)
        // Back by a minute: the open interval is charted with what it holds, then a new one starts.
        let back = Self.ten - 60_000 + 3000
        let added7 = chart.add(Self.message(back, spo2: 95), messageMilliseconds: back)
        let row = try #require(added7)
        #expect(row.rowMilliseconds == Self.ten + 20_000 && row.values[Self.spo2].value == 97 && row.values[Self.spo2].samples == 2)
        #expect(chart.clockStepsBack == 1 && chart.stepAtLastMessage == .back)
        let added8 = chart.add(Self.message(back + 8000, spo2: 94), messageMilliseconds: back + 8000)
        let after = try #require(added8)
        #expect(after.rowMilliseconds == Self.ten - 50_000 && after.values[Self.spo2].value == 95)
    }

    @Test func boundariesAreMultiplesOfTheIntervalInUTC() {
        #expect(ChartingAggregator.boundary(containing: 0, interval: 60_000) == 0)
        #expect(ChartingAggregator.boundary(containing: 1, interval: 60_000) == 60_000)
        #expect(ChartingAggregator.boundary(containing: 60_000, interval: 60_000) == 60_000)
        #expect(ChartingAggregator.boundary(containing: -1, interval: 60_000) == 0)
        #expect(ChartingAggregator.boundary(containing: -60_001, interval: 60_000) == -60_000)
    }
}
