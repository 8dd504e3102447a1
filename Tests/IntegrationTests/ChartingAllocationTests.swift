import AllocationCounter
import Charting
import RegisterMaps
import Testing
import Vitals

/// The publisher thread feeds every vitals message to its bed's aggregator: once warm, a
/// message that crosses no boundary must cost no allocation (rows, once an interval, do).
struct ChartingAllocationTests {
    @Test(.countsAllocations) func feedingMessagesAllocatesNothingBetweenRows() {
        let description = BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                                     ("pump-1", BuiltinProfiles.infusionPump.points)])
        var chart = ChartingAggregator(description: description, intervalMilliseconds: 3_600_000)
        let start: Int64 = 1_796_292_000_000 + 1000
        var values = description.entries.indices.map { VitalValue(entry: $0, value: 90, quality: .ok, wallClockMilliseconds: start) }
        _ = chart.add(values, messageMilliseconds: start)
        var rows = 0
        // Warm: every path once (sensor-off included), so the runtime's first-use caches are filled.
        for message in 1...10_000 + 200 {
            if message == 201 { allocation_counter_start() }
            let time = start + Int64(message) * 100
            for index in values.indices {
                values[index].wallClockMilliseconds = time
                values[index].value = Double(80 + message % 20)
                values[index].quality = message % 97 == 0 ? .sensorOff : (message % 89 == 0 ? .commLoss : .ok)
            }
            if chart.add(values, messageMilliseconds: time) != nil { rows += 1 }
        }
        let allocations = allocation_counter_stop()
        #expect(rows == 0, "the test must stay inside one interval")
        #expect(allocations == 0, "\(allocations) allocations over 10,000 messages of \(values.count) values")
    }
}
