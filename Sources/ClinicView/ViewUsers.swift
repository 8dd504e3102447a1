import Platform

/// One user of the clinic view: a name and a hash made by libc's crypt.
public struct ViewUser: Sendable, Equatable {
    public var name: String
    public var hash: String

    public init(name: String, hash: String) {
        self.name = name
        self.hash = hash
    }
}

/// A problem in a users file, at its line and column (1-based).
public struct ViewUsersProblem: Sendable, Equatable {
    public var line: Int
    public var column: Int
    public var message: String
}

/// The users file of the view: `name:hash` lines, `#` comments and blank lines. Hashes are
/// yescrypt (`$y$`, Debian's default for `mkpasswd`) or sha512crypt (`$6$`); weaker schemes
/// and plain text are refused, so a password never sits in the file as it is typed.
public enum ViewUsersFile {
    public static let acceptedPrefixes = ["$y$", "$6$"]

    public static func parse(_ bytes: [UInt8]) -> (users: [ViewUser], problems: [ViewUsersProblem]) {
        var users: [ViewUser] = []
        var problems: [ViewUsersProblem] = []
        for (lineNumber, line) in settingLines(bytes) {
            func problem(_ column: Int, _ message: String) {
                problems.append(ViewUsersProblem(line: lineNumber, column: column, message: message))
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                problem(1, "expected 'name:hash' (make the hash with: mkpasswd -m yescrypt)")
                continue
            }
            let name = Array(line[..<colon])
            let hash = Array(line[(colon + 1)...])
            if name.isEmpty || name.count > 64 {
                problem(1, "the user name must be 1 to 64 characters")
                continue
            }
            if let bad = name.firstIndex(where: { !isNameByte($0) }) {
                problem(bad + 1, "the user name may contain letters, digits, '.', '_', '-' and '@' only")
                continue
            }
            let nameText = String(decoding: name, as: UTF8.self)
            let hashText = String(decoding: hash, as: UTF8.self)
            if !acceptedPrefixes.contains(where: { hashText.hasPrefix($0) }) {
                problem(colon + 2, "user '\(nameText)': not a yescrypt ($y$) or sha512crypt ($6$) hash "
                    + "(make one with: mkpasswd -m yescrypt; plain passwords and weaker schemes are refused)")
                continue
            }
            if let bad = hash.firstIndex(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: ":") }) {
                problem(colon + 2 + bad, "user '\(nameText)': the hash contains a character crypt never writes")
                continue
            }
            if users.contains(where: { $0.name == nameText }) {
                problem(1, "user '\(nameText)' is listed twice")
                continue
            }
            users.append(ViewUser(name: nameText, hash: hashText))
        }
        if users.isEmpty && problems.isEmpty {
            problems.append(ViewUsersProblem(line: 1, column: 1, message: "no users: add a 'name:hash' line"))
        }
        return (users, problems)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }
}
