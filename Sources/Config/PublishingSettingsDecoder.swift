import CShims
import MQTT
import Platform

/// The settings of publishing: TLS and credentials of the broker connection, the disk queue,
/// the health endpoint and the command tokens.
extension ConfigDecoder {
    func decodeTLS(_ field: Field) -> MQTTTLSOptions? {
        guard let tls = mapping(field, expected: "a mapping with the TLS files (ca_file, cert_file, key_file)",
                                allowedKeys: ["ca_file", "cert_file", "key_file"])
        else { return nil }
        let caFile = required(tls, "ca_file").flatMap { readableFile($0, what: "CA certificate file (PEM)") }
        var certificate: String?? = .some(nil)
        var key: String?? = .some(nil)
        if let field = tls.optional("cert_file") { certificate = readableFile(field, what: "client certificate file (PEM)").map { $0 } }
        if let field = tls.optional("key_file") { key = readableFile(field, what: "client key file (PEM)").map { $0 } }
        let certificateField = tls.optional("cert_file")
        let keyField = tls.optional("key_file")
        // A certificate without its key (or the reverse) cannot be used; say which one is missing.
        if let certificateField, keyField == nil {
            report(line: certificateField.line, column: certificateField.column, path: tls.path + ".key_file",
                   "missing 'key_file': a client certificate needs its private key")
            return nil
        }
        if let keyField, certificateField == nil {
            report(line: keyField.line, column: keyField.column, path: tls.path + ".cert_file",
                   "missing 'cert_file': a private key needs its client certificate")
            return nil
        }
        guard let caFile, let certificate, let key else { return nil }
        return MQTTTLSOptions(caFile: caFile, certificateFile: certificate, keyFile: key)
    }

    /// `username=` and `password=` lines; the password never appears in the configuration, on
    /// the command line, or in any message.
    func decodeCredentialsFile(_ field: Field) -> MQTTCredentials? {
        guard let path = readableFile(field, what: "credentials file") else { return nil }
        var status = stat()
        if stat(path, &status) == 0 && status.st_mode & 0o004 != 0 {  // S_IROTH: readable by others
            report(field, "the credentials file \(quote(path)) can be read by every user on this box; "
                + "restrict it (chmod 640, owned by root and the service's group)")
            return nil
        }
        let bytes: [UInt8]
        do throws(SystemError) {
            bytes = try readFile(path, limit: 64 << 10)
        } catch {
            report(field, "cannot read the credentials file: \(error.description)")
            return nil
        }
        let parsed = parseCredentials(bytes, file: path)
        for error in parsed.errors {
            report(line: error.line, column: error.column, path: error.keyPath, file: error.file, error.message)
        }
        guard parsed.errors.isEmpty, let username = parsed.username, let password = parsed.password else { return nil }
        return MQTTCredentials(username: username, password: password, file: path)
    }

    func decodeQueue(_ field: Field?) -> QueueSettings? {
        let defaults = QueueSettings()
        guard let field, !field.node.isNull else { return defaults }
        guard let queue = mapping(field, expected: "a mapping with the disk queue settings",
                                  allowedKeys: ["directory", "max_mb", "segment_kb", "fsync", "fsync_interval_ms"])
        else { return nil }
        var directory: String? = defaults.directory
        if let directoryField = queue.optional("directory") {
            directory = string(directoryField, expected: "a directory path").flatMap { text in
                if text.isEmpty || Self.firstSpaceOrControl(text) != nil {
                    report(directoryField, "invalid directory \(quote(text)): expected a path without spaces")
                    return nil
                }
                return Self.resolve(text, relativeTo: file)
            }
        }
        let megabytes = optionalInteger(queue, "max_mb", in: 1...1_000_000, default: defaults.maximumBytes >> 20)
        let kilobytes = optionalInteger(queue, "segment_kb", in: 16...65536, default: defaults.segmentBytes >> 10)
        var policy: String? = "interval"
        if let policyField = queue.optional("fsync") {
            policy = choice(policyField, ["always", "interval", "never"], what: "fsync policy", defaultHint: "interval")
        }
        let interval = optionalInteger(queue, "fsync_interval_ms", in: 10...60000, default: 1000)
        if let intervalField = queue.optional("fsync_interval_ms"), let policy, policy != "interval" {
            report(intervalField, "fsync_interval_ms applies only with 'fsync: interval' (fsync is \(quote(policy)))")
            return nil
        }
        guard let directory, let megabytes, let kilobytes, let policy, let interval else { return nil }
        if kilobytes > megabytes * 1024 / 2, let sizeField = queue.optional("segment_kb") ?? queue.optional("max_mb") {
            report(sizeField, "segment_kb (\(kilobytes)) must be at most half of max_mb (\(megabytes) MiB), "
                + "so that dropping the oldest segment frees room without emptying the queue")
            return nil
        }
        let fsync: QueueFsync = policy == "always" ? .always : policy == "never" ? .never : .interval(milliseconds: interval)
        return QueueSettings(directory: directory, maximumBytes: megabytes << 20, segmentBytes: kilobytes << 10, fsync: fsync)
    }

    func decodeHealth(_ field: Field?) -> HealthSettings? {
        let defaults = HealthSettings()
        guard let field, !field.node.isNull else { return defaults }
        guard let health = mapping(field, expected: "a mapping with the health endpoint settings",
                                   allowedKeys: ["listen", "port", "publish_interval_s", "require_clock_sync"])
        else { return nil }
        var address: String? = defaults.listenAddress
        if let listenField = health.optional("listen") {
            address = string(listenField, expected: "an IP address").flatMap { text in
                if Self.isIPAddressLiteral(text) { return text }
                report(listenField, "invalid address \(quote(text)): expected an IPv4 or IPv6 address such as 127.0.0.1 "
                    + "(loopback), ::1 or the address of the box's monitoring network")
                return nil
            }
        }
        let port = optionalInteger(health, "port", in: 0...65535, default: defaults.port)
        let interval = optionalInteger(health, "publish_interval_s", in: 0...3600, default: defaults.publishIntervalSeconds)
        var requireClock: Bool? = defaults.requireClockSync
        if let clockField = health.optional("require_clock_sync") { requireClock = boolean(clockField, defaultHint: "true") }
        guard let address, let port, let interval, let requireClock else { return nil }
        return HealthSettings(listenAddress: address, port: port, publishIntervalSeconds: interval,
                              requireClockSync: requireClock)
    }

    func decodeCommands(_ field: Field?) -> CommandSettings? {
        guard let field, !field.node.isNull else { return CommandSettings() }
        guard let commands = mapping(field, expected: "a mapping with the command settings", allowedKeys: ["tokens_file"])
        else { return nil }
        guard let tokensField = commands.optional("tokens_file") else { return CommandSettings() }
        guard let path = readableFile(tokensField, what: "command tokens file") else { return nil }
        return CommandSettings(tokensFile: path)
    }

    /// A path, relative to this configuration file's directory or absolute, that this process can read.
    func readableFile(_ field: Field, what: String) -> String? {
        guard let text = string(field, expected: "the path of the \(what)") else { return nil }
        if text.isEmpty {
            report(field, "the path is empty (expected the path of the \(what))")
            return nil
        }
        let path = Self.resolve(text, relativeTo: file)
        if access(path, R_OK) != 0 {
            report(field, "cannot read the \(what) \(quote(path)): \(Errno.current.description)")
            return nil
        }
        return path
    }

    static func isIPAddressLiteral(_ text: String) -> Bool {
        var storage = in6_addr()
        return inet_pton(AF_INET, text, &storage) == 1 || inet_pton(AF_INET6, text, &storage) == 1
    }
}

/// A credentials file's content: `username=NAME` and `password=SECRET` lines, `#` comments.
/// Everything after the first '=' is the value, so passwords may contain '=' and spaces.
func parseCredentials(_ bytes: [UInt8], file: String) -> (username: String?, password: String?, errors: [ConfigError]) {
    var username: String?
    var password: String?
    var errors: [ConfigError] = []
    var lineNumber = 0
    for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        lineNumber += 1
        var line = Array(rawLine)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
        guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else {
            errors.append(ConfigError(file: file, line: lineNumber, column: 1, keyPath: "",
                                      message: "expected 'username=NAME' or 'password=SECRET'"))
            continue
        }
        let key = String(decoding: line[..<equals], as: UTF8.self)
        let value = String(decoding: line[(equals + 1)...], as: UTF8.self)
        switch key {
        case "username", "password":
            if value.isEmpty {
                errors.append(ConfigError(file: file, line: lineNumber, column: equals + 2, keyPath: key,
                                          message: "the \(key) is empty"))
            } else if (key == "username" ? username : password) != nil {
                errors.append(ConfigError(file: file, line: lineNumber, column: 1, keyPath: key,
                                          message: "\(key) is given twice"))
            } else if key == "username" {
                username = value
            } else {
                password = value
            }
        default:
            errors.append(ConfigError(file: file, line: lineNumber, column: 1, keyPath: key,
                                      message: "unknown key (expected username or password)"))
        }
    }
    if errors.isEmpty {
        if username == nil {
            errors.append(ConfigError(file: file, line: 0, column: 0, keyPath: "", message: "no 'username=' line"))
        }
        if password == nil {
            errors.append(ConfigError(file: file, line: 0, column: 0, keyPath: "", message: "no 'password=' line"))
        }
    }
    return (username, password, errors)
}
