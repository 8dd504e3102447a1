import CShims

/// The test seam of the file system calls through which the agent stores what it must not
/// lose (the alarm log): a test forces a call to fail with a chosen errno, the way
/// apple/swift-system's mocking driver forces errno, without replacing the code above it.
/// The forcing is per thread and undone when the body returns; in production nothing sets
/// it and each call costs one thread-local read.
public enum ForcedErrno {
    /// The calls that can be made to fail.
    public enum Call: Int32, Sendable {
        /// write(2) in `writeAll`.
        case write = 0
        /// fdatasync(2) and fsync(2) in `synchroniseData` and `synchroniseDirectory`.
        case synchronise = 1
        /// close(2) in `closeFile`.
        case close = 2
        /// open(2) in `appendToFile`.
        case open = 3
    }

    /// Runs `body` with every `call` on this thread failing with `errno` (console output
    /// included: it ignores failures anyway).
    public static func with<Result, Failure: Error>(_ errno: Errno, on call: Call,
                                                    _ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        let previous = bedside_forced_errno(call.rawValue)
        bedside_set_forced_errno(call.rawValue, errno.rawValue)
        defer { bedside_set_forced_errno(call.rawValue, previous) }
        return try body()
    }

    /// The system call's own result, or -1 with errno set when a test forces this call to fail.
    @inline(__always)
    static func unlessForced<Result: FixedWidthInteger>(_ call: Call, _ systemCall: () -> Result) -> Result {
        let forced = bedside_forced_errno(call.rawValue)
        if forced != 0 {
            bedside_set_errno(forced)
            return -1
        }
        return systemCall()
    }
}
