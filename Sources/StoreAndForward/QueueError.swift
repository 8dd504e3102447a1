import Platform

/// A failed queue operation: what was attempted, on which file, and the errno behind it,
/// worded so a clinic's IT person knows what to fix.
public struct QueueError: Error, Equatable, CustomStringConvertible {
    /// What the queue tried, as a verb phrase: "write queue segment".
    public var operation: String
    public var path: String
    public var errno: Errno
    /// Replaces the errno's wording when the problem is the queue's own (a record too large, bad settings).
    public var detail: String

    public init(_ operation: String, _ path: String, errno: Errno = .current, detail: String = "") {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    public init(_ error: SystemError) {
        self.init(error.operation, error.subject, errno: error.errno)
    }

    public var description: String {
        let reason = detail.isEmpty ? errno.description : detail
        var text = "cannot \(operation) \(path): \(reason) (errno \(errno.rawValue))"
        let advice = QueueError.advice(for: errno)
        if !advice.isEmpty { text += "; " + advice }
        return text
    }

    /// The usual remedy for the errors a disk queue meets in the field.
    static func advice(for errno: Errno) -> String {
        switch errno {
        case .noSpace, .diskQuotaExceeded: return "the disk is full: free space or lower the queue's maximum size"
        case .permissionDenied, .notPermitted: return "check the owner and mode of the queue directory"
        default: return errno.storageAdvice
        }
    }
}
