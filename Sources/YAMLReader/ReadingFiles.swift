import CShims
import Platform

/// Reading a file to check, and reporting what checking it found: shared by every schema.
public enum YAMLFiles {
    /// The bytes of a file to check; an unreadable or oversized one is a single error at line 0.
    /// `kind` ("a device profile") and `name` ("device profile file") word the messages.
    public static func readSource(_ path: String, kind: String, name: String) throws(ConfigErrors) -> [UInt8] {
        do throws(SystemError) {
            return try readFile(path, limit: YAMLLoader.maximumSize)
        } catch {
            let message = error.errno == .fileTooLarge
                ? "the file is larger than the 1 MiB limit; \(kind) is a few KiB, so check that this is the right file"
                : "cannot read the \(name): \(error.description)"
            throw ConfigErrors([ConfigError(file: path, line: 0, column: 0, keyPath: "", message: message)])
        }
    }

    /// Errors sorted by file (the configuration, then its profile files in listing order) and
    /// position, capped at `maximumReported`.
    public static func report(_ errors: [ConfigError], file: String, fileOrder: [String]) -> ConfigErrors {
        var reported = sortedByPosition(errors, fileOrder: fileOrder)
        // A wrong file (a log, a binary) can yield thousands of errors; the first hundred say
        // enough, and journald is not flooded on every restart.
        if reported.count > maximumReported {
            let omitted = reported.count - maximumReported
            reported.removeLast(omitted)
            reported.append(ConfigError(file: file, line: 0, column: 0, keyPath: "",
                                        message: "\(omitted) more error(s) not shown; fix the ones above first"))
        }
        return ConfigErrors(reported)
    }

    public static let maximumReported = 100

    private static func sortedByPosition(_ errors: [ConfigError], fileOrder: [String]) -> [ConfigError] {
        // The original index breaks ties so errors at one position keep the order they were found in.
        var indexed: [(index: Int, rank: Int, error: ConfigError)] = []
        for (index, error) in errors.enumerated() {
            var rank = fileOrder.count
            for (position, name) in fileOrder.enumerated() where name == error.file {
                rank = position
                break
            }
            indexed.append((index, rank, error))
        }
        indexed.sort { a, b in
            if a.rank != b.rank { return a.rank < b.rank }
            if a.error.line != b.error.line { return a.error.line < b.error.line }
            if a.error.column != b.error.column { return a.error.column < b.error.column }
            return a.index < b.index
        }
        var sorted: [ConfigError] = []
        for entry in indexed { sorted.append(entry.error) }
        return sorted
    }
}
