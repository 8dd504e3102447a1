import CShims
import Platform

/// A failed queue operation: what was attempted, on which file, and the errno behind it,
/// worded so a clinic's IT person knows what to fix.
public struct QueueError: Error, Equatable, CustomStringConvertible {
    /// What the queue tried, as a verb phrase: "write queue segment".
    public var operation: String
    public var path: String
    public var errno: Int32
    /// Replaces strerror when the problem is the queue's own (a record too large, bad settings).
    public var detail: String

    public init(_ operation: String, _ path: String, errno: Int32 = bedside_errno(), detail: String = "") {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    public init(_ error: SystemError) {
        self.init(error.operation, error.subject, errno: error.errno)
    }

    public var description: String {
        let reason = detail.isEmpty ? String(cString: strerror(errno)) : detail
        var text = "cannot \(operation) \(path): \(reason) (errno \(errno))"
        let advice = QueueError.advice(for: errno)
        if !advice.isEmpty { text += "; " + advice }
        return text
    }

    /// The usual remedy for the errors a disk queue meets in the field.
    static func advice(for errno: Int32) -> String {
        switch errno {
        case ENOSPC, EDQUOT: return "the disk is full: free space or lower the queue's maximum size"
        case EFBIG: return "the file size limit was reached: check ulimit -f or the service's LimitFSIZE"
        case EACCES, EPERM: return "check the owner and mode of the queue directory"
        case EROFS: return "the file system is mounted read-only: check the storage and its mount options"
        case EIO: return "the storage device reports errors: check it (dmesg) and replace it if needed"
        default: return ""
        }
    }
}
