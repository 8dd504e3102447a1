import CShims

/// An error number from the kernel. The ones the agent acts on have names, so code reads
/// `case .noSpace:` instead of a number; any other still prints through `description`.
public struct Errno: RawRepresentable, Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// errno of the calling thread: meaningful only right after a call that failed.
    public static var current: Errno { Errno(bedside_errno()) }

    /// The C library's wording, e.g. "No space left on device".
    public var description: String { String(cString: strerror(rawValue)) }

    /// The wording with the number, as the agent's messages show it: "No space left on device (errno 28)".
    public var descriptionWithNumber: String { "\(description) (errno \(rawValue))" }

    /// The usual remedy when storing a file fails with this errno, for the person reading the
    /// journal or /readyz; empty when there is no usual one.
    public var storageAdvice: String {
        switch self {
        case .noSpace, .diskQuotaExceeded: return "the disk is full: free space on it"
        case .fileTooLarge: return "the file size limit was reached: check ulimit -f or the service's LimitFSIZE"
        case .permissionDenied, .notPermitted: return "check the owner and mode of the file and its directory"
        case .readOnlyFileSystem: return "the file system is mounted read-only: check the storage and its mount options"
        case .ioError: return "the storage device reports errors: check it (dmesg) and replace it if needed"
        default: return ""
        }
    }

    // Named as apple/swift-system names them; only those the agent meets.
    public static var notPermitted: Errno { Errno(EPERM) }
    public static var noSuchFileOrDirectory: Errno { Errno(ENOENT) }
    public static var interrupted: Errno { Errno(EINTR) }
    public static var ioError: Errno { Errno(EIO) }
    public static var noSuchAddressOrDevice: Errno { Errno(ENXIO) }
    public static var badFileDescriptor: Errno { Errno(EBADF) }
    /// EWOULDBLOCK, which is EAGAIN on Linux: a non-blocking descriptor has nothing now.
    public static var wouldBlock: Errno { Errno(EWOULDBLOCK) }
    public static var permissionDenied: Errno { Errno(EACCES) }
    public static var resourceBusy: Errno { Errno(EBUSY) }
    public static var fileExists: Errno { Errno(EEXIST) }
    public static var noSuchDevice: Errno { Errno(ENODEV) }
    public static var notDirectory: Errno { Errno(ENOTDIR) }
    public static var invalidArgument: Errno { Errno(EINVAL) }
    public static var inappropriateIOCTLForDevice: Errno { Errno(ENOTTY) }
    public static var fileTooLarge: Errno { Errno(EFBIG) }
    public static var noSpace: Errno { Errno(ENOSPC) }
    public static var readOnlyFileSystem: Errno { Errno(EROFS) }
    public static var brokenPipe: Errno { Errno(EPIPE) }
    public static var noFunction: Errno { Errno(ENOSYS) }
    public static var notSupported: Errno { Errno(EOPNOTSUPP) }
    public static var messageTooLong: Errno { Errno(EMSGSIZE) }
    public static var addressInUse: Errno { Errno(EADDRINUSE) }
    public static var addressNotAvailable: Errno { Errno(EADDRNOTAVAIL) }
    public static var networkUnreachable: Errno { Errno(ENETUNREACH) }
    public static var connectionReset: Errno { Errno(ECONNRESET) }
    public static var socketNotConnected: Errno { Errno(ENOTCONN) }
    public static var timedOut: Errno { Errno(ETIMEDOUT) }
    public static var connectionRefused: Errno { Errno(ECONNREFUSED) }
    public static var noRouteToHost: Errno { Errno(EHOSTUNREACH) }
    public static var diskQuotaExceeded: Errno { Errno(EDQUOT) }
}

/// Runs a system call that returns -1 and sets errno on failure, again for as long as it
/// fails with EINTR: the agent's stop handlers are installed without SA_RESTART (so sleeps
/// notice a stop), which lets a signal interrupt any call. Returns the call's result or
/// throws the errno of the failure.
@inline(__always)
public func retryOnInterrupt<Result: FixedWidthInteger>(_ call: () -> Result) throws(Errno) -> Result {
    while true {
        let result = call()
        if result != -1 { return result }
        let errno = Errno.current
        if errno != .interrupted { throw errno }
    }
}

/// `retryOnInterrupt` with the failure described as a SystemError: what was attempted, on what.
@inline(__always)
public func retryOnInterrupt<Result: FixedWidthInteger>(_ operation: String, _ subject: String = "",
                                                        _ call: () -> Result) throws(SystemError) -> Result {
    do {
        return try retryOnInterrupt(call)
    } catch {
        throw SystemError(operation, subject, errno: error)
    }
}
