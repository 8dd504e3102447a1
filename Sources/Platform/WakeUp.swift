import CShims

/// A kernel counter (eventfd) one thread bumps to wake another that waits on it in poll(2).
/// `signal()` is a single write(2): no allocation, no lock, nothing that can block, so a
/// sampling loop at SCHED_FIFO may call it every cycle. Signals coalesce: however many arrive
/// while the consumer works, its next wait returns at once and one `drain()` resets the count.
public final class WakeUp {
    /// Readable while signalled; for poll(2) together with other descriptors.
    public let descriptor: Int32

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

    /// Resets the counter; call before taking the work, so a signal that arrives while the
    /// work is taken wakes the next wait instead of being lost.
    public func drain() {
        var count: UInt64 = 0
        _ = read(descriptor, &count, 8)
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
