import CShims

/// Writes all of `text` to a file descriptor, retrying short writes and EINTR.
public func writeAll(_ text: String, to fd: Int32) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if bedside_errno() == EINTR { continue }
                return
            }
            offset += n
        }
    }
}

public func printLine(_ text: String) { writeAll(text + "\n", to: 1) }
public func printError(_ text: String) { writeAll(text + "\n", to: 2) }

public enum LogLevel: String { case info, warning, error }

/// The program name that starts every log line; the simulator sets its own.
public var logProgramName = "bedside-gateway"

/// One line per event on stderr, where journald collects it under systemd.
public func log(_ level: LogLevel, _ message: String) {
    printError("\(logProgramName): \(level.rawValue): \(message)")
}
