import Metrics
import Synchronization

/// Per-device request figures, written only by its bus thread.
public final class DeviceStatistics {
    public let requestLatency = LatencyHistogram()
    public private(set) var requests: UInt64 = 0
    private let failures: UnsafeMutablePointer<UInt64>

    init() {
        failures = UnsafeMutablePointer<UInt64>.allocate(capacity: FailureCode.allCases.count)
        failures.initialize(repeating: 0, count: FailureCode.allCases.count)
    }

    deinit { failures.deallocate() }

    func recordRequest(nanoseconds: Int64, failure: FailureCode) {
        requests &+= 1
        requestLatency.record(nanoseconds: nanoseconds)
        if failure != .none { failures[Int(failure.rawValue)] &+= 1 }
    }

    /// A connection to the device (or its serial line or gateway) could not be made.
    func recordConnectionFailure() { failures[Int(FailureCode.connection.rawValue)] &+= 1 }

    public func failures(_ kind: FailureCode) -> UInt64 { failures[Int(kind.rawValue)] }
}

/// What a sampling loop knows about its own timing: how late it woke against its absolute
/// deadline, how long each cycle took, and how many deadlines it missed.
public final class LoopStatistics {
    /// Wake-up latency: actual wake time minus the deadline, as cyclictest measures it.
    public let wakeupLatency = LatencyHistogram()
    public let cycleDuration = LatencyHistogram()
    private let overrunCount = Atomic<UInt64>(0)
    private let cycleCount = Atomic<UInt64>(0)

    public init() {}

    public var overruns: UInt64 { overrunCount.load(ordering: .relaxed) }
    /// Completed cycles; also the loop's heartbeat for the supervisor.
    public var cycles: UInt64 { cycleCount.load(ordering: .relaxed) }

    func recordCycle(wakeupLatency latency: Int64, duration: Int64, missedDeadlines: UInt64) {
        wakeupLatency.record(nanoseconds: latency)
        cycleDuration.record(nanoseconds: duration)
        if missedDeadlines > 0 { overrunCount.add(missedDeadlines, ordering: .relaxed) }
        cycleCount.add(1, ordering: .relaxed)
    }
}
