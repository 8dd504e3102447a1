/// One problem in a configuration file, positioned so a clinic's IT person can go straight to
/// the line to fix: `FILE:LINE:COLUMN: KEYPATH: MESSAGE`.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    /// 1-based; 0 when the problem concerns the whole file (unreadable, too large).
    public var line: Int
    /// 1-based, counted in characters.
    public var column: Int
    /// Dotted path to the setting, e.g. `beds[0].devices[1].tcp.port`; empty for file-level problems.
    public var keyPath: String
    public var message: String

    public init(file: String, line: Int, column: Int, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        var text = file
        // "FILE:0:0:" would point nowhere; editors and people both read "FILE:" better.
        if line > 0 { text += ":\(line):\(column)" }
        text += ": "
        if !keyPath.isEmpty { text += keyPath + ": " }
        return text + message
    }
}

/// Every problem found in a configuration file, in file order, so one edit-and-retry round
/// fixes them all instead of one per restart.
public struct ConfigErrors: Error, CustomStringConvertible, Equatable, Sendable {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    public var description: String {
        var lines: [String] = []
        for error in errors { lines.append(error.description) }
        return lines.joined(separator: "\n")
    }
}
