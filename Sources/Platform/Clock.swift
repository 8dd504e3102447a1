import CShims

/// A point on CLOCK_MONOTONIC, in nanoseconds. Deadlines and intervals use this clock so a
/// wall-clock step (NTP, a technician setting the date) never bunches or skips samples.
public struct MonotonicInstant: Comparable, Sendable {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func now() -> MonotonicInstant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicInstant(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    public func adding(milliseconds: Int) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds + Int64(milliseconds) * 1_000_000)
    }

    public func milliseconds(since earlier: MonotonicInstant) -> Int64 {
        (nanoseconds - earlier.nanoseconds) / 1_000_000
    }

    public static func < (a: MonotonicInstant, b: MonotonicInstant) -> Bool { a.nanoseconds < b.nanoseconds }
}

/// Wall-clock time in milliseconds since the Unix epoch (UTC), for what charts record.
public func wallClockMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Wall-clock time in nanoseconds since the Unix epoch (UTC): for stamps finer than a
/// millisecond, such as the benchmark's reply-time register.
public func wallClockNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

public enum SleepOutcome { case reachedDeadline, interrupted }

/// Sleeps until an absolute CLOCK_MONOTONIC deadline. Returns early only when a signal
/// arrives, so the caller can check whether a stop was requested.
@discardableResult
public func sleep(until deadline: MonotonicInstant) -> SleepOutcome {
    var ts = timespec()
    ts.tv_sec = Int(deadline.nanoseconds / 1_000_000_000)
    ts.tv_nsec = Int(deadline.nanoseconds % 1_000_000_000)
    while true {
        let rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil)
        if rc == 0 { return .reachedDeadline }
        // clock_nanosleep returns its error instead of setting errno. Here EINTR is news, not
        // a call to repeat: a signal may be a stop request, which the caller checks.
        if Errno(rc) == .interrupted { return .interrupted }
        // EINVAL only for a malformed deadline, which this function never builds.
        return .reachedDeadline
    }
}

public func sleep(milliseconds: Int) {
    sleep(until: MonotonicInstant.now().adding(milliseconds: milliseconds))
}
