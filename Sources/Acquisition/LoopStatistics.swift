import Metrics
import Synchronization

/// Per-device request figures, written only by its bus thread and read by others (the health
/// documents), hence atomics; the single writer needs no read-modify-write.
public final class DeviceStatistics {
    public let requestLatency = LatencyHistogram()
    private let requestCount = Atomic<UInt64>(0)
    private let failures: UnsafeMutablePointer<Atomic<UInt64>>

    init() {
        failures = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: FailureCode.allCases.count)
        for index in 0..<FailureCode.allCases.count { (failures + index).initialize(to: Atomic(0)) }
    }

    deinit {
        failures.deinitialize(count: FailureCode.allCases.count)
        failures.deallocate()
    }

    public var requests: UInt64 { requestCount.load(ordering: .relaxed) }

    func recordRequest(nanoseconds: Int64, failure: FailureCode) {
        requestCount.store(requestCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        requestLatency.record(nanoseconds: nanoseconds)
        if failure != .none { countFailure(failure) }
    }

    /// A connection to the device (or its serial line or gateway) could not be made.
    func recordConnectionFailure() { countFailure(.connection) }

    private func countFailure(_ kind: FailureCode) {
        let counter = failures + Int(kind.rawValue)
        counter.pointee.store(counter.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    public func failures(_ kind: FailureCode) -> UInt64 { failures[Int(kind.rawValue)].load(ordering: .relaxed) }
}

/// What a sampling loop knows about its own timing: how late it woke against its absolute
/// deadline, how long each cycle took, and how many cycles overran their period.
public final class LoopStatistics {
    /// Wake-up latency: actual wake time minus the deadline, as cyclictest measures it.
    public let wakeupLatency = LatencyHistogram()
    public let cycleDuration = LatencyHistogram()
    private let overrunCount = Atomic<UInt64>(0)
    private let excusedOverrunCount = Atomic<UInt64>(0)
    private let cycleCount = Atomic<UInt64>(0)

    public init() {}

    /// Cycles that ran past their period with every device exchange answered: the agent itself
    /// was too slow, so every alarm fed by this loop may be late.
    public var overruns: UInt64 { overrunCount.load(ordering: .relaxed) }
    /// Cycles that ran past their period while an exchange on the bus timed out or found no
    /// connection: the silent device's own comm-loss alarm covers them.
    public var overrunsFromSilentDevices: UInt64 { excusedOverrunCount.load(ordering: .relaxed) }
    /// Completed cycles; also the loop's heartbeat for the supervisor.
    public var cycles: UInt64 { cycleCount.load(ordering: .relaxed) }

    /// One cycle counts once however many deadlines it missed: a silent device's response
    /// timeout of several periods is one late cycle, not several.
    func recordCycle(wakeupLatency latency: Int64, duration: Int64, overran: Bool, exchangeFailed: Bool) {
        wakeupLatency.record(nanoseconds: latency)
        cycleDuration.record(nanoseconds: duration)
        if overran && exchangeFailed {
            excusedOverrunCount.add(1, ordering: .relaxed)
        } else if overran {
            overrunCount.add(1, ordering: .relaxed)
        }
        cycleCount.add(1, ordering: .relaxed)
    }
}
