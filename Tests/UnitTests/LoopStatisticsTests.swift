import Testing
@testable import Acquisition

/// How a sampling loop counts its late cycles.
struct LoopStatisticsTests {
    @Test func aLateCycleCountsOnceAndASilentDevicesApart() {
        let statistics = LoopStatistics()
        statistics.recordCycle(wakeupLatency: 0, duration: 50_000_000, overran: false, exchangeFailed: false)
        statistics.recordCycle(wakeupLatency: 0, duration: 520_000_000, overran: true, exchangeFailed: true)
        statistics.recordCycle(wakeupLatency: 0, duration: 30_000_000, overran: false, exchangeFailed: true)
        statistics.recordCycle(wakeupLatency: 0, duration: 350_000_000, overran: true, exchangeFailed: false)
        #expect(statistics.cycles == 4)
        #expect(statistics.overruns == 1)
        #expect(statistics.overrunsFromSilentDevices == 1)
    }
}
