import YAMLReader

/// Reads the agent's YAML configuration and checks all of it, reporting every problem at once.
public enum ConfigLoader {
    /// Reads and checks a configuration file. An unreadable file is a single error at line 0.
    public static func load(path: String) throws(ConfigErrors) -> GatewayConfig {
        try parse(bytes: YAMLFiles.readSource(path, kind: "a gateway configuration", name: "configuration file"), file: path)
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
        throw YAMLFiles.report(errors, file: file, fileOrder: files)
    }
}
