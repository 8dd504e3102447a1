import AllocationCounter
import Acquisition
import Foundation
import Modbus
import Platform
import RegisterMaps
import Synchronization
import Testing
import TestSupport

/// The sampling loop against a libmodbus server on loopback, observed from inside its own
/// thread (allocations) and from the consumer's side of its ring (records).
@Suite(.serialized)
struct SamplingLoopTests {
    /// A libmodbus TCP server answering on its own thread.
    final class Device: @unchecked Sendable {
        let server: ModbusTCPServer
        private let running = Atomic<Bool>(true)
        private var thread: OSThread?

        init(port: Int) throws {
            server = try ModbusTCPServer(host: "127.0.0.1", port: port)
            thread = try OSThread(name: "test-device") { [self] in
                while running.load(ordering: .relaxed) { server.serve(timeoutMilliseconds: 5) }
            }
        }

        func stop() {
            running.store(false, ordering: .relaxed)
            thread?.join()
            thread = nil
        }
    }

    /// Drains a loop's ring on its own thread, keeping what it saw. With a wake-up it waits as
    /// the alarm thread does (`waitForProducers`), counting the writes that woke it; without
    /// one it looks every 2 ms.
    final class Consumer: @unchecked Sendable {
        private let lock = NSLock()
        private var records: [(record: SampleRecord, seenAt: Date)] = []
        private let running = Atomic<Bool>(true)
        let wakeUpWrites = Atomic<Int>(0)

        init(_ ring: SPSCRing<SampleRecord>, wakeUp: WakeUp? = nil) {
            Thread { [self] in
                while running.load(ordering: .relaxed) {
                    if let wakeUp { wakeUpWrites.add(wakeUp.drain(), ordering: .relaxed) }
                    var batch: [(SampleRecord, Date)] = []
                    while let record = ring.pop() { batch.append((record, Date())) }
                    if !batch.isEmpty { lock.withLock { records += batch.map { (record: $0.0, seenAt: $0.1) } } }
                    if let wakeUp {
                        wakeUp.waitForProducers(timeoutMilliseconds: 100) { !ring.isEmpty }
                    } else {
                        Thread.sleep(forTimeInterval: 0.002)
                    }
                }
            }.start()
        }

        var seen: [(record: SampleRecord, seenAt: Date)] { lock.withLock { records } }

        func stop() { running.store(false, ordering: .relaxed) }
    }

    static func monitorBus(port: Int, timeoutMilliseconds: Int = 500) -> PlannedBus {
        let config = DeviceSettings(id: "monitor-1", profile: "patient-monitor", endpoint: .tcp(host: "127.0.0.1", port: port),
                                  unitID: 1, responseTimeoutMilliseconds: timeoutMilliseconds)
        let device = PlannedDevice(index: 0, bedIndex: 0, config: config, profile: BuiltinProfiles.patientMonitor)
        return PlannedBus(name: "tcp://127.0.0.1:\(port)", endpoint: config.endpoint, devices: [device])
    }

    /// Counts, on the loop's own thread, the allocations of cycles 101...1100.
    final class AllocationProbe: @unchecked Sendable {
        static let firstCounted: UInt64 = 101
        static let lastCounted: UInt64 = 1100
        var counted: UInt = .max
        func observe(_ cycle: UInt64) {
            if cycle == AllocationProbe.firstCounted - 1 { allocation_counter_start() }
            if cycle == AllocationProbe.lastCounted { counted = allocation_counter_stop() }
        }
    }

    @Test(.countsAllocations) func steadyStateCyclesAllocateNothing() throws {
        let port = freeLoopbackPort()
        let device = try Device(port: port)
        defer { device.stop() }
        for address in 0..<12 { device.server.setInputRegister(address, UInt16(40 + address)) }

        let loop = try BusLoop(bus: Self.monitorBus(port: port), periodMilliseconds: 1, realtime: RealtimeSettings())
        // As in the agent: the loop hands each device over to a consumer that blocks between
        // hand-overs, so its wake-up writes fall inside the counted window.
        let wakeUp = try WakeUp(purpose: "the test's consumer")
        loop.consumerWakeUp = wakeUp
        let consumer = Consumer(loop.ring, wakeUp: wakeUp)
        defer { consumer.stop() }
        let probe = AllocationProbe()
        loop.cycleObserver = { cycle in probe.observe(cycle) }
        loop.cycleLimit = AllocationProbe.lastCounted
        try loop.start()
        loop.join()
        let expectedSamples = Int(AllocationProbe.lastCounted) * BuiltinProfiles.patientMonitor.points.count
        waitUntil(timeout: 5) { consumer.seen.filter { $0.record.kind == .sample }.count >= expectedSamples }

        #expect(loop.statistics.cycles == AllocationProbe.lastCounted)
        // 1,000 cycles that each read the monitor and pushed its samples, without one allocation.
        #expect(probe.counted == 0, "\(probe.counted) allocations in 1,000 steady-state cycles")
        // The consumer slept between cycles and the loop woke it: the writes were counted too.
        #expect(consumer.wakeUpWrites.load(ordering: .relaxed) > 0)
        let samples = consumer.seen.filter { $0.record.kind == .sample }
        #expect(samples.count >= expectedSamples)
        #expect(samples.allSatisfy { $0.record.quality != .commLoss })
        #expect(loop.deviceStatistics(0).failures(.timeout) == 0)
    }

    /// A loop asleep until its next period (10 s here) stops when told, not when it wakes.
    @Test func aSleepingLoopStopsAtOnce() throws {
        let port = freeLoopbackPort()
        let device = try Device(port: port)
        defer { device.stop() }
        let loop = try BusLoop(bus: Self.monitorBus(port: port), periodMilliseconds: 10_000, realtime: RealtimeSettings())
        let cycles = Atomic<UInt64>(0)
        loop.cycleObserver = { cycles.store($0, ordering: .relaxed) }
        try loop.start()
        #expect(waitUntil(timeout: 10) { cycles.load(ordering: .relaxed) >= 1 })
        let started = Date()
        loop.stop()
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 2, "stopping a sleeping loop took \(elapsed) s")
        #expect(cycles.load(ordering: .relaxed) == 1)
    }

    /// Four devices behind one endpoint that accepts connections and never answers (1 s response
    /// timeout each): a stop waits for the exchange under way, not for the rest of the bus.
    @Test func aStopWaitsForOneSilentDeviceNotForTheWholeBus() throws {
        let port = freeLoopbackPort()
        let device = try Device(port: port)
        defer { device.stop() }
        device.server.isSilent = true
        let devices = (0..<4).map { index in
            PlannedDevice(index: index, bedIndex: index,
                          config: DeviceSettings(id: "monitor-\(index + 1)", profile: "patient-monitor",
                                                 endpoint: .tcp(host: "127.0.0.1", port: port), unitID: index + 1,
                                                 responseTimeoutMilliseconds: 1000),
                          profile: BuiltinProfiles.patientMonitor)
        }
        let bus = PlannedBus(name: "tcp://127.0.0.1:\(port)", endpoint: devices[0].config.endpoint, devices: devices)
        let loop = try BusLoop(bus: bus, periodMilliseconds: 100, realtime: RealtimeSettings())
        let consumer = Consumer(loop.ring)
        defer { consumer.stop() }
        try loop.start()
        // The first device has timed out: the second one's exchange is under way.
        #expect(waitUntil(timeout: 10) { loop.deviceStatistics(0).failures(.timeout) >= 1 })
        let started = Date()
        loop.stop()
        let elapsed = Date().timeIntervalSince(started)
        // At most one response timeout (1 s) and some slack; the whole bus would be 3 s more.
        #expect(elapsed < 2, "stopping took \(elapsed) s")
        #expect(loop.deviceStatistics(3).requests == 0, "the stop must not poll the devices after the one under way")
    }

    /// A silent device's 500 ms timeout on a 100 ms bus makes its cycle late by several
    /// periods: one overrun, counted apart as the silent device's (its comm-loss alarm covers
    /// it), not as the agent's own.
    @Test func aSilentDevicesTimeoutIsOneOverrunCountedApart() throws {
        let port = freeLoopbackPort()
        let device = try Device(port: port)
        defer { device.stop() }
        device.server.isSilent = true
        let loop = try BusLoop(bus: Self.monitorBus(port: port, timeoutMilliseconds: 500), periodMilliseconds: 100,
                               realtime: RealtimeSettings())
        let consumer = Consumer(loop.ring)
        defer { consumer.stop() }
        try loop.start()
        #expect(waitUntil(timeout: 10) { loop.deviceStatistics(0).failures(.timeout) >= 2 })
        loop.stop()
        let timeouts = loop.deviceStatistics(0).failures(.timeout)
        let statistics = loop.statistics
        // Each timed-out exchange is one late cycle (not five missed deadlines); the retry
        // backoff's cycles between them are on time.
        #expect(statistics.overrunsFromSilentDevices >= 1)
        #expect(statistics.overrunsFromSilentDevices <= timeouts)
        #expect(statistics.overruns == 0, "cycles late without a silent device: \(statistics.overruns)")
    }

    @Test func requestsAreCoalescedAsPlanned() throws {
        let port = freeLoopbackPort()
        let device = try Device(port: port)
        defer { device.stop() }
        let loop = try BusLoop(bus: Self.monitorBus(port: port), periodMilliseconds: 5, realtime: RealtimeSettings())
        let consumer = Consumer(loop.ring)
        defer { consumer.stop() }
        loop.cycleLimit = 200
        try loop.start()
        loop.join()
        // The server counts a request after its reply is sent, so the last one may trail the loop.
        waitUntil(timeout: 5) { device.server.requestsAnswered >= 200 }
        // The monitor's twelve registers are one read; the device saw exactly one request per cycle.
        #expect(loop.requestsPerFullCycle == 1)
        #expect(device.server.requestsAnswered == 200)
        #expect(loop.deviceStatistics(0).requests == 200)
    }

    @Test func anUnpluggedDeviceTurnsCommLossAndRecoversWithoutARestart() throws {
        let port = freeLoopbackPort()
        let device = try Device(port: port)
        defer { device.stop() }
        device.server.setInputRegister(0, 97)
        let period = 100, timeout = 200
        let loop = try BusLoop(bus: Self.monitorBus(port: port, timeoutMilliseconds: timeout), periodMilliseconds: period,
                               realtime: RealtimeSettings())
        let consumer = Consumer(loop.ring)
        defer { consumer.stop() }
        try loop.start()
        defer { loop.stop() }

        func firstSample(after start: Date, where condition: (SampleRecord) -> Bool, timeout: TimeInterval) -> Date? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let hit = consumer.seen.first(where: { $0.seenAt > start && $0.record.kind == .sample && condition($0.record) }) {
                    return hit.seenAt
                }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return nil
        }

        #expect(firstSample(after: .distantPast, where: { $0.quality == .ok }, timeout: 10) != nil)
        let unplugged = Date()
        device.server.isSilent = true
        let lost = firstSample(after: unplugged, where: { $0.quality == .commLoss }, timeout: 10)
        #expect(lost != nil)
        if let lost {
            // One period plus the response timeout, with generous room for a loaded machine.
            let delay = lost.timeIntervalSince(unplugged)
            #expect(delay < Double(period + timeout) / 1000 + 1.0, "comm-loss after \(delay) s")
        }
        #expect(consumer.seen.contains { $0.record.kind == .deviceSilent && $0.record.failure == .timeout })

        let replugged = Date()
        device.server.isSilent = false
        // Backoff starts at 1 s; recovery must follow without restarting anything.
        #expect(firstSample(after: replugged, where: { $0.quality == .ok && $0.value == 97 }, timeout: 15) != nil)
        #expect(consumer.seen.contains { $0.seenAt > replugged && $0.record.kind == .deviceAnswering })
    }
}
