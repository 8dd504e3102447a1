import CShims
import ClinicView
import Platform
import YAMLReader

/// `view:`: the clinic view. Absent, the view is off; `view: {}` serves it on 127.0.0.1:8080.
extension ConfigDecoder {
    func decodeView(_ field: Field?) -> ViewSettings?? {
        guard let field else { return .some(nil) }
        if field.node.isNull { return .some(ViewSettings()) }
        guard let view = mapping(field, expected: "a mapping with the clinic view settings",
                                 allowedKeys: ["listen", "port", "users_file", "cert_file", "key_file"])
        else { return nil }
        var settings = ViewSettings()
        var failed = false
        if let port = optionalInteger(view, "port", in: 1...65535, default: ViewSettings.defaultPort) {
            settings.port = port
        } else {
            failed = true
        }
        if let usersField = view.optional("users_file") {
            if let (path, users) = decodeViewUsers(usersField) {
                settings.usersFile = path
                settings.users = users
                settings.listenAddress = "0.0.0.0"
            } else {
                failed = true
            }
        }
        if let listenField = view.optional("listen") {
            if let text = string(listenField, expected: "an IP address") {
                if !Self.isIPAddressLiteral(text) {
                    report(listenField, "invalid address \(quote(text)): expected an IPv4 or IPv6 address such as 0.0.0.0 (every "
                        + "interface), :: or the box's address on the clinic LAN")
                    failed = true
                } else if view.optional("users_file") == nil && !Self.isLoopback(text) {
                    report(listenField, "the view would be open to anyone on \(quote(text)) without a password: "
                        + "set view.users_file (or listen on 127.0.0.1)")
                    failed = true
                } else {
                    settings.listenAddress = text
                }
            } else {
                failed = true
            }
        }
        let certificateField = view.optional("cert_file")
        let keyField = view.optional("key_file")
        if let certificateField, keyField == nil {
            report(line: certificateField.line, column: certificateField.column, path: view.path + ".key_file",
                   "missing 'key_file': the view's certificate needs its private key")
            failed = true
        } else if let keyField, certificateField == nil {
            report(line: keyField.line, column: keyField.column, path: view.path + ".cert_file",
                   "missing 'cert_file': the view's private key needs its certificate")
            failed = true
        } else if let certificateField, let keyField {
            settings.certificateFile = readableFile(certificateField, what: "view certificate file (PEM)")
            settings.keyFile = readableFile(keyField, what: "view key file (PEM, unencrypted)")
            if let keyFile = settings.keyFile, !privateFileIsPrivate(keyField, path: keyFile, what: "view key file") { failed = true }
            if settings.certificateFile == nil || settings.keyFile == nil { failed = true }
        }
        return failed ? nil : .some(settings)
    }

    /// `name:hash` lines, the file not readable by every user.
    private func decodeViewUsers(_ field: Field) -> (String, [ViewUser])? {
        guard let path = readableFile(field, what: "view users file") else { return nil }
        guard privateFileIsPrivate(field, path: path, what: "view users file") else { return nil }
        let bytes: [UInt8]
        do throws(SystemError) {
            bytes = try readFile(path, limit: 256 << 10)
        } catch {
            report(field, "cannot read the view users file: \(error.description)")
            return nil
        }
        let parsed = ViewUsersFile.parse(bytes)
        for problem in parsed.problems {
            report(line: problem.line, column: problem.column, path: "", file: path, problem.message)
        }
        return parsed.problems.isEmpty ? (path, parsed.users) : nil
    }

    static func isLoopback(_ text: String) -> Bool {
        text == "::1" || text.hasPrefix("127.")
    }
}
