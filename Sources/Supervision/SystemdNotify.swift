import CShims
import Platform

/// One assignment of the sd_notify protocol.
public enum NotifyAssignment: Equatable {
    case ready
    case watchdog
    case stopping
    case status(String)

    public var text: String {
        switch self {
        case .ready: return "READY=1"
        case .watchdog: return "WATCHDOG=1"
        case .stopping: return "STOPPING=1"
        case .status(let value):
            // One assignment per line: a newline inside the value would start a new one.
            var cleaned = ""
            for character in value { cleaned.append(character == "\n" || character == "\r" ? " " : character) }
            return "STATUS=\(cleaned)"
        }
    }
}

/// The datagram payload: newline-separated assignments, as sd_notify(3) sends them.
public func notifyMessage(_ assignments: [NotifyAssignment]) -> String {
    assignments.map { $0.text }.joined(separator: "\n")
}

/// Parses $WATCHDOG_USEC: nil when missing, not a positive decimal integer, or 0.
/// When $WATCHDOG_PID is set and is not `ownPID`, the watchdog is meant for another process
/// (sd_watchdog_enabled's rule) and the result is nil too.
public func parseWatchdogMicroseconds(_ value: String?, watchdogPID: String? = nil, ownPID: Int32? = nil) -> Int64? {
    guard let value, !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
          let microseconds = Int64(value), microseconds > 0 else { return nil }
    if let watchdogPID, let ownPID {
        guard let pid = Int32(watchdogPID), pid == ownPID else { return nil }
    }
    return microseconds
}

/// The kick interval systemd's watchdog asks for: half of WATCHDOG_USEC, in milliseconds (at least 1).
public func systemdKickIntervalMilliseconds(watchdogMicroseconds: Int64) -> Int {
    max(1, Int(watchdogMicroseconds / 2 / 1000))
}

/// Where $NOTIFY_SOCKET points: the bytes of sun_path (a leading NUL for the abstract namespace).
public struct NotifySocketAddress: Equatable {
    public var pathBytes: [UInt8]
    public var isAbstract: Bool { pathBytes.first == 0 }

    /// Accepts an absolute path or '@name' (abstract). Anything else (relative paths, vsock:,
    /// names longer than sun_path) gives nil.
    public init?(_ value: String) {
        var bytes = Array(value.utf8)
        let capacity = Int(bedside_sun_path_capacity())
        switch bytes.first {
        case UInt8(ascii: "@"):
            guard bytes.count >= 2, bytes.count <= capacity else { return nil }
            bytes[0] = 0
        case UInt8(ascii: "/"):
            guard bytes.count < capacity else { return nil } // room for the terminating NUL
        default:
            return nil
        }
        pathBytes = bytes
    }
}

/// Sends sd_notify datagrams to $NOTIFY_SOCKET (no libsystemd). A notifier without a socket
/// (not started by systemd) does nothing and reports success.
public final class SystemdNotifier {
    public let socketName: String?
    public let address: NotifySocketAddress?
    /// WATCHDOG_USEC when systemd supervises us (or as given), else nil.
    public let watchdogMicroseconds: Int64?
    private var fd: Int32 = -1

    /// `socket` as $NOTIFY_SOCKET would hold it: nil or empty disables notifications.
    public init(socket: String?, watchdogMicroseconds: Int64? = nil) {
        let name = (socket?.isEmpty ?? true) ? nil : socket
        socketName = name
        address = name.flatMap { NotifySocketAddress($0) }
        self.watchdogMicroseconds = watchdogMicroseconds
        if let name, address == nil {
            log(.warning, "systemd notify: NOTIFY_SOCKET '\(name)' is not an absolute path or @name; notifications disabled")
        }
    }

    /// Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (through `lookup`, which tests
    /// replace so that they need not setenv in a multi-threaded process).
    public static func fromEnvironment(ownPID: Int32 = getpid(),
                                       _ lookup: (String) -> String? = { environmentValue($0) }) -> SystemdNotifier {
        SystemdNotifier(socket: lookup("NOTIFY_SOCKET"),
                        watchdogMicroseconds: parseWatchdogMicroseconds(lookup("WATCHDOG_USEC"),
                                                                        watchdogPID: lookup("WATCHDOG_PID"),
                                                                        ownPID: ownPID))
    }

    deinit {
        if fd >= 0 { releaseDescriptor(fd) }
    }

    public var isEnabled: Bool { address != nil }

    public func send(_ assignments: [NotifyAssignment]) throws(SystemError) {
        guard let address, !assignments.isEmpty else { return }
        let subject = socketName ?? ""
        if fd < 0 {
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 { throw SystemError("socket(AF_UNIX) for", subject) }
        }
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { path in
            for (index, byte) in address.pathBytes.enumerated() { path[index] = byte }
        }
        // The path length counts exactly: an abstract name is not NUL-terminated.
        let pathOffset = MemoryLayout<sa_family_t>.size // sun_path follows sun_family
        let length = socklen_t(pathOffset + address.pathBytes.count + (address.isAbstract ? 0 : 1))
        let payload = Array(notifyMessage(assignments).utf8)
        let sent = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                payload.withUnsafeBytes { bytes in
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
        if sent < 0 { throw SystemError("sendto", subject) }
    }

    public func ready(status: String? = nil) throws(SystemError) {
        var assignments: [NotifyAssignment] = [.ready]
        if let status { assignments.append(.status(status)) }
        try send(assignments)
    }

    public func watchdog() throws(SystemError) { try send([.watchdog]) }
    public func stopping() throws(SystemError) { try send([.stopping]) }
    public func status(_ text: String) throws(SystemError) { try send([.status(text)]) }
}
