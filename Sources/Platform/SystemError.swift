import CShims

/// A failed system call: what was attempted, on what, and the errno the kernel gave.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public var operation: String
    public var subject: String
    public var errno: Int32

    public init(_ operation: String, _ subject: String = "", errno: Int32 = bedside_errno()) {
        self.operation = operation
        self.subject = subject
        self.errno = errno
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        if subject.isEmpty { return "\(operation) failed: \(reason) (errno \(errno))" }
        return "\(operation) \(subject) failed: \(reason) (errno \(errno))"
    }
}

/// errno of the calling thread.
public var currentErrno: Int32 { bedside_errno() }
