import CShims

/// Console output. A failure to write it (stdout closed, journald's pipe gone) cannot be
/// reported anywhere else, so it is ignored on purpose.
func writeToConsole(_ text: String, _ fd: Int32) {
    _ = try? writeAll(Array(text.utf8), to: fd, "the console")
}

public func printLine(_ text: String) { writeToConsole(text + "\n", 1) }
public func printError(_ text: String) { writeToConsole(text + "\n", 2) }

public enum LogLevel: String { case info, warning, error }

/// The program name that starts every log line; the simulator sets its own.
public var logProgramName = "bedside-gateway"

/// One line per event on stderr, where journald collects it under systemd.
public func log(_ level: LogLevel, _ message: String) {
    printError("\(logProgramName): \(level.rawValue): \(message)")
}
