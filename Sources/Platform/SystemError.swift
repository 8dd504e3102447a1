/// A failed system call: what was attempted, on what, and the errno the kernel gave.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public var operation: String
    public var subject: String
    public var errno: Errno

    public init(_ operation: String, _ subject: String = "", errno: Errno = .current) {
        self.operation = operation
        self.subject = subject
        self.errno = errno
    }

    public var description: String {
        if subject.isEmpty { return "\(operation) failed: \(errno.descriptionWithNumber)" }
        return "\(operation) \(subject) failed: \(errno.descriptionWithNumber)"
    }
}
