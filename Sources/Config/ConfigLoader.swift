import CShims
import Platform
import RegisterMaps

/// Reads the agent's YAML configuration and checks all of it, reporting every problem at once.
public enum ConfigLoader {
    /// Reads and checks a configuration file. An unreadable file is a single error at line 0.
    public static func load(path: String) throws(ConfigErrors) -> GatewayConfig {
        try parse(bytes: readSource(path, kind: "a gateway configuration", name: "configuration file"), file: path)
    }

    /// The bytes of a file to check; an unreadable or oversized one is a single error at line 0.
    private static func readSource(_ path: String, kind: String, name: String) throws(ConfigErrors) -> [UInt8] {
        do throws(SystemError) {
            return try readFile(path, limit: YAMLLoader.maximumSize)
        } catch {
            let message = error.errno == .fileTooLarge
                ? "the file is larger than the 1 MiB limit; \(kind) is a few KiB, so check that this is the right file"
                : "cannot read the \(name): \(error.description)"
            throw ConfigErrors([ConfigError(file: path, line: 0, column: 0, keyPath: "", message: message)])
        }
    }

    /// Checks configuration text; `file` only names it in error messages.
    public static func parse(text: String, file: String) throws(ConfigErrors) -> GatewayConfig {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Relative paths under `board` and `device_profiles` are resolved from the directory of `file`.
    static func parse(bytes: [UInt8], file: String) throws(ConfigErrors) -> GatewayConfig {
        let loaded = YAMLLoader.load(bytes, file: file)
        var errors = loaded.errors
        var config: GatewayConfig? = nil
        var files = [file]
        if loaded.isComplete {
            let decoder = ConfigDecoder(file: file)
            config = decoder.decodeRoot(loaded.root)
            errors += decoder.errors
            files += decoder.includedFiles
        }
        if let config, errors.isEmpty { return config }
        throw report(errors, file: file, fileOrder: files)
    }

    /// Reads and checks one device profile file on its own (the format `device_profiles` lists).
    /// Its name may not be a built-in profile's; collisions between files are checked only when
    /// a configuration lists them.
    public static func loadProfile(path: String) throws(ConfigErrors) -> DeviceProfile {
        try parseProfile(bytes: readSource(path, kind: "a device profile", name: "device profile file"), file: path)
    }

    /// Checks device profile text; `file` only names it in error messages.
    public static func parseProfile(text: String, file: String) throws(ConfigErrors) -> DeviceProfile {
        try parseProfile(bytes: Array(text.utf8), file: file)
    }

    static func parseProfile(bytes: [UInt8], file: String) throws(ConfigErrors) -> DeviceProfile {
        try parseStandalone(bytes: bytes, file: file) { decoder, root in decoder.decodeProfile(root).profile }
    }

    /// Reads and checks one board profile (Boards/<id>.yaml), the file a configuration's
    /// `board:` names; its `board:` id must be the file's name without `.yaml`.
    public static func loadBoard(path: String) throws(ConfigErrors) -> BoardProfile {
        try parseBoard(bytes: readSource(path, kind: "a board profile", name: "board profile"), file: path)
    }

    /// Checks board profile text; `file` names it in error messages and gives the expected id.
    public static func parseBoard(text: String, file: String) throws(ConfigErrors) -> BoardProfile {
        try parseBoard(bytes: Array(text.utf8), file: file)
    }

    static func parseBoard(bytes: [UInt8], file: String) throws(ConfigErrors) -> BoardProfile {
        try parseStandalone(bytes: bytes, file: file) { decoder, root in decoder.decodeBoard(root) }
    }

    /// A file that names no other file (a device or board profile), checked by `decode`.
    private static func parseStandalone<Value>(bytes: [UInt8], file: String,
                                               _ decode: (ConfigDecoder, YAMLNode?) -> Value?) throws(ConfigErrors) -> Value {
        let loaded = YAMLLoader.load(bytes, file: file)
        var errors = loaded.errors
        var value: Value? = nil
        if loaded.isComplete {
            let decoder = ConfigDecoder(file: file)
            value = decode(decoder, loaded.root)
            errors += decoder.errors
        }
        if let value, errors.isEmpty { return value }
        throw report(errors, file: file, fileOrder: [file])
    }

    /// Errors sorted by file (the configuration, then its profile files in listing order) and
    /// position, capped at `maximumReported`.
    private static func report(_ errors: [ConfigError], file: String, fileOrder: [String]) -> ConfigErrors {
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

    static let maximumReported = 100

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
