import CShims

/// A joinable POSIX thread running a Swift closure. Embedded Swift has no Foundation
/// Thread and no Dispatch, so this is the agent's only way to run work in parallel.
public final class OSThread {
    private final class Start {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    private var handle = pthread_t()
    private var joined = false
    public let name: String

    public init(name: String, body: @escaping () -> Void) throws(SystemError) {
        self.name = name
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        let result = bedside_thread_start(&handle, { context in
            let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
            bedside_thread_set_name(start.name)
            start.body()
            return nil
        }, start)
        if result != 0 {
            Unmanaged<Start>.fromOpaque(start).release()
            throw SystemError("start thread", name, errno: Errno(result))
        }
    }

    public func join() {
        if joined { return }
        pthread_join(handle, nil)
        joined = true
    }

    /// Wakes the thread out of the blocking call it is in (clock_nanosleep, poll, a connect),
    /// which then returns EINTR; the thread must have called `acceptInterrupts()`. A signal
    /// that arrives while the thread is not blocked changes nothing, so a caller that waits
    /// for the thread to notice something repeats it (see `BusLoop.stop`).
    public func interrupt() {
        if joined { return }
        _ = bedside_thread_interrupt(handle)
    }

    /// Lets `interrupt()` wake the calling thread: call it first thing on a thread that sleeps
    /// or blocks and must still stop promptly.
    public static func acceptInterrupts() { bedside_accept_interrupts() }

    /// Joins unless the thread is still busy after `milliseconds` (say, blocked in a TCP
    /// connect to a host that does not answer); returns whether it was joined.
    @discardableResult
    public func join(timeoutMilliseconds: Int) -> Bool {
        if joined { return true }
        joined = bedside_thread_join_timeout(handle, Int32(timeoutMilliseconds)) == 0
        return joined
    }
}

/// What the calling thread got when it asked for real-time scheduling.
public struct RealtimeOutcome {
    public var scheduling: SystemError?
    public var affinity: SystemError?
}

/// What `makeCurrentThreadRealtime` can be asked for.
public enum RealtimeLimits {
    /// SCHED_FIFO priorities Linux accepts (1...99), and 0 for normal scheduling.
    public static let priorityRange = 0...99
    /// CPUs a thread can be pinned to (the kernel's CPU set size).
    public static let cpuRange = 0...1023
}

/// Puts the calling thread on SCHED_FIFO at `priority` and, if `cpu` is not nil, pins it.
/// Failure (no CAP_SYS_NICE, no RLIMIT_RTPRIO) leaves the thread at normal priority.
public func makeCurrentThreadRealtime(priority: Int, cpu: Int?) -> RealtimeOutcome {
    var outcome = RealtimeOutcome()
    let scheduling = bedside_set_realtime(Int32(priority))
    if scheduling != 0 { outcome.scheduling = SystemError("SCHED_FIFO priority \(priority)", errno: Errno(scheduling)) }
    if let cpu {
        let affinity = bedside_set_cpu_affinity(Int32(cpu))
        if affinity != 0 { outcome.affinity = SystemError("pin to CPU \(cpu)", errno: Errno(affinity)) }
    }
    return outcome
}

/// Gives threads that C libraries start later the agent's 256 KiB stack instead of 8 MiB.
public func limitDefaultThreadStack() { bedside_limit_default_thread_stack() }

/// Makes every thread allocate from at most `arenas` glibc malloc arenas; call before any
/// thread starts. Returns whether the C library took the setting.
@discardableResult
public func limitMallocArenas(_ arenas: Int) -> Bool { bedside_limit_malloc_arenas(Int32(arenas)) == 1 }

/// Locks all current and future pages in RAM so a page fault never stalls the sampling loop.
public func lockAllMemory() throws(SystemError) {
    let result = bedside_lock_memory()
    if result != 0 { throw SystemError("mlockall", errno: Errno(result)) }
}
