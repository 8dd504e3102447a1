import RegisterMaps
import YAMLReader

/// Reads and checks device profile files and board profiles on their own, reporting every
/// problem at once; the agent's configuration names them and checks them the same way.
public enum ProfileLoader {
    /// Reads and checks one device profile file on its own (the format `device_profiles` lists).
    /// Its name may not be a built-in profile's; collisions between files are checked only when
    /// a configuration lists them.
    public static func loadProfile(path: String) throws(ConfigErrors) -> DeviceProfile {
        try parseProfile(bytes: YAMLFiles.readSource(path, kind: "a device profile", name: "device profile file"), file: path)
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
        try parseBoard(bytes: YAMLFiles.readSource(path, kind: "a board profile", name: "board profile"), file: path)
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
                                               _ decode: (YAMLFieldReader, YAMLNode?) -> Value?) throws(ConfigErrors) -> Value {
        let loaded = YAMLLoader.load(bytes, file: file)
        var errors = loaded.errors
        var value: Value? = nil
        if loaded.isComplete {
            let decoder = YAMLFieldReader(file: file)
            value = decode(decoder, loaded.root)
            errors += decoder.errors
        }
        if let value, errors.isEmpty { return value }
        throw YAMLFiles.report(errors, file: file, fileOrder: [file])
    }

}
