import CShims
import MQTT
import Platform
import YAMLReader

/// `mqtt.tls` and `mqtt.credentials_file`: how the agent proves who it is to the broker.
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
        guard privateFileIsPrivate(field, path: path, what: "credentials file") else { return nil }
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

}

extension ConfigDecoder {
    /// Whether a file of secrets is kept from other users: not readable by others (S_IROTH).
    func privateFileIsPrivate(_ field: Field, path: String, what: String) -> Bool {
        var status = stat()
        if stat(path, &status) == 0 && status.st_mode & 0o004 != 0 {
            report(field, "the \(what) \(quote(path)) can be read by every user on this box; "
                + "restrict it (chmod 640, owned by root and the service's group)")
            return false
        }
        return true
    }
}

/// A credentials file's content: `username=NAME` and `password=SECRET` lines, `#` comments.
/// Everything after the first '=' is the value, so passwords may contain '=' and spaces.
func parseCredentials(_ bytes: [UInt8], file: String) -> (username: String?, password: String?, errors: [ConfigError]) {
    var username: String?
    var password: String?
    var errors: [ConfigError] = []
    for (lineNumber, line) in settingLines(bytes) {
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
