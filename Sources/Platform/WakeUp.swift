import CShims
import Synchronization

/// A kernel counter (eventfd) one thread bumps to wake another that waits on it in poll(2).
/// `signal()` is a single write(2): no allocation, no lock, nothing that can block, so a
/// sampling loop at SCHED_FIFO may call it every cycle. Signals coalesce: however many arrive
/// while the consumer works, its next wait returns at once and one `drain()` resets the count.
///
/// A producer that hands over often (a loop after each device) uses `signalIfWaiting()`
/// instead: it writes only while the consumer has announced that it is about to block, so a
/// busy consumer costs its producers one atomic exchange and no system call, and a sleeping
/// one gets one write however many producers hand over. The consumer waits with
/// `waitForProducers(...)`, which announces the wait before its last look for work.
public final class WakeUp {
    /// Readable while signalled; for poll(2) together with other descriptors.
    public let descriptor: Int32
    /// True from the consumer's announcement until its wait ends or a producer claims the
    /// write. Every access is an exchange: each one then reads the one before it in the
    /// flag's single order, so whichever of "the consumer announces" and "a producer that has
    /// pushed exchanges" comes second sees the first (a producer after the announcement
    /// writes; a consumer after the producer's exchange sees the pushed element), whatever
    /// the interleaving, with any number of producers.
    private let consumerWaiting = Atomic<Bool>(false)

    /// `purpose` names the counter in the error, e.g. "wake-up of the alarm thread".
    public init(purpose: String) throws(SystemError) {
        descriptor = try retryOnInterrupt("create eventfd for", purpose) { bedside_eventfd_open() }
    }

    deinit { releaseDescriptor(descriptor) }

    /// Makes the descriptor readable. A failed write can only be EAGAIN (the counter is at its
    /// maximum, so it is signalled already) or EINTR before anything was written (harmless:
    /// the consumer's timeout still bounds the delay), so the result is not looked at.
    public func signal() {
        var one: UInt64 = 1
        _ = write(descriptor, &one, 8)
    }

    /// Producer side, after its element is in the consumer's ring: wakes the consumer only if
    /// it announced a wait, and then only once. No allocation, no lock, at most one write(2).
    public func signalIfWaiting() {
        if consumerWaiting.exchange(false, ordering: .sequentiallyConsistent) { signal() }
    }

    /// Consumer side: from here until `withdrawWaiting()`, the next `signalIfWaiting()`
    /// writes. Look for work after this, not before, or a hand-over in between is missed.
    public func announceWaiting() {
        _ = consumerWaiting.exchange(true, ordering: .sequentiallyConsistent)
    }

    /// Consumer side: awake again (or never blocked), producers stop writing.
    public func withdrawWaiting() {
        _ = consumerWaiting.exchange(false, ordering: .sequentiallyConsistent)
    }

    /// Consumer side of the coalesced hand-over: announces the wait, then blocks as
    /// `waitUntilReadable` does (on this counter, and on `other` when given) unless
    /// `hasWork` finds something already waiting, e.g. a ring that is not empty. Returns
    /// (true, false) without blocking when it does. A producer that pushed and called
    /// `signalIfWaiting()` either is seen by `hasWork` or ends the wait.
    @discardableResult
    public func waitForProducers(alsoWatching other: Int32? = nil, timeoutMilliseconds: Int,
                                 unlessWorkIsWaiting hasWork: () -> Bool) -> (signalled: Bool, otherReadable: Bool) {
        announceWaiting()
        defer { withdrawWaiting() }
        if hasWork() { return (true, false) }
        let ready = waitUntilReadable(descriptor, other, timeoutMilliseconds: timeoutMilliseconds)
        return (ready.first, ready.second)
    }

    /// Resets the counter; call before taking the work, so a signal that arrives while the
    /// work is taken wakes the next wait instead of being lost. Returns how many writes it
    /// reset (0 when none was pending).
    @discardableResult
    public func drain() -> Int {
        var count: UInt64 = 0
        return read(descriptor, &count, 8) == 8 ? Int(truncatingIfNeeded: count) : 0
    }

    /// Blocks until signalled or `timeoutMilliseconds` passed (negative: no timeout). Returns
    /// whether it was signalled; a stop signal ends the wait early, as a timeout would.
    @discardableResult
    public func wait(timeoutMilliseconds: Int) -> Bool {
        waitUntilReadable(descriptor, nil, timeoutMilliseconds: timeoutMilliseconds).first
    }
}

/// Blocks in poll(2) until `first` or `second` (when given) is readable, or the timeout passed
/// (negative: no timeout). Returns which of them are readable; both false after a timeout or
/// when a signal interrupted the wait, so the caller gets to check for a stop. A descriptor in
/// error counts as readable: reading it reports the error to whoever owns it.
public func waitUntilReadable(_ first: Int32, _ second: Int32?,
                              timeoutMilliseconds: Int) -> (first: Bool, second: Bool) {
    var entries = (pollfd(fd: first, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: second ?? -1, events: Int16(POLLIN), revents: 0))
    let ready = withUnsafeMutablePointer(to: &entries) { pair in
        pair.withMemoryRebound(to: pollfd.self, capacity: 2) { poll($0, second == nil ? 1 : 2, Int32(clamping: timeoutMilliseconds)) }
    }
    if ready <= 0 { return (false, false) }
    return (entries.0.revents != 0, entries.1.revents != 0)
}
