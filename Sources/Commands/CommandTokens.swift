import Platform

/// One problem in the command tokens file, positioned like configuration errors:
/// `FILE:LINE:COLUMN: MESSAGE`. Messages name the sender, never the token.
public struct TokenFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when the problem concerns the whole file (unreadable, too large).
    public var line: Int
    /// 1-based, counted in characters.
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        if line > 0 { return "\(file):\(line):\(column): \(message)" }
        return "\(file): \(message)"
    }
}

/// Every problem in the tokens file, in file order, so one edit fixes them all.
public struct TokenFileErrors: Error, Equatable, Sendable, CustomStringConvertible {
    public var errors: [TokenFileError]

    public init(_ errors: [TokenFileError]) { self.errors = errors }

    public var description: String {
        var lines: [String] = []
        for error in errors { lines.append(error.description) }
        return lines.joined(separator: "\n")
    }
}

/// One line of the tokens file: who may send which commands, with which token.
public struct CommandSender: Equatable, Sendable, CustomStringConvertible {
    /// An id naming the sender in responses and logs, e.g. "dashboard-3".
    public let name: String
    public let commands: [CommandKind]
    /// Line of the tokens file, for messages.
    public let line: Int
    /// The secret. Internal so that nothing outside this module can print or log it.
    let token: [UInt8]

    init(name: String, token: [UInt8], commands: [CommandKind], line: Int) {
        self.name = name
        self.token = token
        self.commands = commands
        self.line = line
    }

    public func may(_ kind: CommandKind) -> Bool {
        for allowed in commands where allowed == kind { return true }
        return false
    }

    /// Without the token, so printing a sender never leaks it.
    public var description: String {
        var names: [String] = []
        for kind in commands { names.append(kind.name) }
        return "\(name) (line \(line)): \(names.joined(separator: ","))"
    }
}

/// Who may send commands to this box: the parsed `commands.tokens_file`.
///
/// File format, one sender per line:
///
///     # name        token                              commands
///     central-1     Zk3v9QeT0pL2mW8xR4yB6nC1sD7fG5hJ   acknowledge-alarm,pause-audio,rebirth
///     dashboard-3   q8W2e4R6t8Y0u2I4o6P8a0S2d4F6g8H0   rebirth
///
/// Fields are separated by spaces or tabs. A name is an id (1 to 64 letters, digits, '-', '_'
/// or '.'); a token is 16 to 256 characters of letters, digits and `- . _ ~ + / =` (hex,
/// base64 and base64url all fit; `openssl rand -base64 24` gives 32); commands are one
/// comma-separated list without spaces. `#` at the start of a field starts a comment to the
/// end of the line; blank lines are ignored. Names and tokens must each be unique.
public struct CommandTokens: Sendable {
    public static let minimumTokenLength = 16
    public static let maximumTokenLength = 256
    /// A tokens file lists a handful of senders; anything this large is the wrong file.
    public static let maximumFileSize = 1 << 20

    /// False when no tokens file is configured: every command is then refused.
    public let isConfigured: Bool
    public let senders: [CommandSender]

    /// No tokens file configured.
    public static let notConfigured = CommandTokens(isConfigured: false, senders: [])

    init(isConfigured: Bool, senders: [CommandSender]) {
        self.isConfigured = isConfigured
        self.senders = senders
    }

    /// Reads `path` (nil: no tokens file configured, every command refused).
    public static func load(path: String?) throws(TokenFileErrors) -> CommandTokens {
        guard let path else { return .notConfigured }
        let bytes: [UInt8]
        do {
            bytes = try readFile(path, limit: maximumFileSize)
        } catch {
            throw TokenFileErrors([TokenFileError(file: path, line: 0, column: 0,
                                                  message: "cannot read the command tokens file: \(error.description)")])
        }
        return try parse(bytes, file: path)
    }

    /// Parses the text of a tokens file; `file` only names it in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws(TokenFileErrors) -> CommandTokens {
        var parser = TokenFileParser(file: file)
        parser.parse(bytes)
        if !parser.errors.isEmpty { throw TokenFileErrors(parser.errors) }
        return CommandTokens(isConfigured: true, senders: parser.senders)
    }

    /// The sender whose token is `candidate`. Every sender's token is compared in full, in
    /// time that depends only on the candidate's length, never on how much of a real token
    /// it matches.
    public func sender(presenting candidate: [UInt8]) -> CommandSender? {
        // A plain conditional pick: an earlier branch-free version (index arithmetic on the
        // match flags) returned a corrupt sender in the aarch64 Embedded build (Swift 6.3,
        // -Osize), trapping the agent; x86_64 and the host build were fine.
        var match: CommandSender?
        for sender in senders where constantTimeDifference(candidate, sender.token) == 0 {
            match = sender
        }
        return match
    }
}

/// 0 when the two byte strings are equal, non-zero otherwise. Runs over every byte of
/// `candidate` whatever the contents; `secret` must not be empty.
func constantTimeDifference(_ candidate: [UInt8], _ secret: [UInt8]) -> UInt8 {
    guard !secret.isEmpty else { return 1 }
    var lengthDifference = UInt64(truncatingIfNeeded: candidate.count ^ secret.count)
    lengthDifference |= lengthDifference >> 32
    lengthDifference |= lengthDifference >> 16
    lengthDifference |= lengthDifference >> 8
    var difference = UInt8(truncatingIfNeeded: lengthDifference)
    var index = 0
    while index < candidate.count {
        difference |= candidate[index] ^ secret[index % secret.count]
        index += 1
    }
    return difference
}

/// Line-by-line reader of the tokens file, collecting every problem.
struct TokenFileParser {
    struct Field {
        var bytes: [UInt8]
        var column: Int
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    let file: String
    var errors: [TokenFileError] = []
    var senders: [CommandSender] = []

    init(file: String) { self.file = file }

    mutating func report(_ line: Int, _ column: Int, _ message: String) {
        errors.append(TokenFileError(file: file, line: line, column: column, message: message))
    }

    mutating func parse(_ input: [UInt8]) {
        // A BOM from a Windows editor is not part of the first name.
        var start = input.count >= 3 && input[0] == 0xEF && input[1] == 0xBB && input[2] == 0xBF ? 3 : 0
        var lineNumber = 1
        while start <= input.count {
            var end = start
            while end < input.count && input[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start && input[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            parseLine(Array(input[start..<lineEnd]), number: lineNumber)
            if end == input.count { break }
            start = end + 1
            lineNumber += 1
        }
    }

    /// Splits a line into fields at spaces and tabs, stopping at a '#' that starts a field.
    /// Also returns the column just past the last character before the comment.
    func fields(of line: [UInt8]) -> (fields: [Field], endColumn: Int) {
        var fields: [Field] = []
        var current: Field?
        var column = 0
        var endColumn = 1
        for byte in line {
            let startsCharacter = byte & 0xC0 != 0x80
            if startsCharacter { column += 1 }
            if byte == 0x20 || byte == 0x09 {
                if let field = current { fields.append(field) }
                current = nil
                continue
            }
            if current == nil {
                if byte == UInt8(ascii: "#") { break }
                current = Field(bytes: [], column: column)
            }
            current!.bytes.append(byte)
            endColumn = column + 1
        }
        if let field = current { fields.append(field) }
        return (fields, endColumn)
    }

    mutating func parseLine(_ line: [UInt8], number: Int) {
        let (fields, endColumn) = fields(of: line)
        if fields.isEmpty { return }
        let layout = "expected '<name> <token> <command>[,<command>...]'"

        let nameField = fields[0]
        let name = nameField.text
        var lineIsValid = true
        if fields.count > 3 {
            // Fields have shifted (a space inside a name, a token or the list): checking them
            // one by one would quote a token as a name or a command.
            report(number, fields[3].column,
                   "\(fields.count) fields where 3 are expected; \(layout) with no spaces inside a name, a token or the list of commands")
            return
        }
        if !isID(name) {
            report(number, nameField.column + firstNonIDOffset(nameField.bytes),
                   "invalid sender name \(shownUnlessTokenLike(name)): expected an id, 1 to 64 letters, digits, '-', '_' or '.'")
            lineIsValid = false
        } else {
            for sender in senders where sender.name == name {
                report(number, nameField.column, "duplicate sender name \(quoted(name)) (already used at line \(sender.line))")
                lineIsValid = false
            }
        }
        // Who the line is about in messages that follow, without repeating a bad name.
        let who = isID(name) ? quoted(name) : "line \(number)'s sender"

        guard fields.count >= 2 else {
            report(number, endColumn, "missing token and commands after the name; \(layout)")
            return
        }
        let tokenField = fields[1]
        if !checkToken(tokenField, line: number, who: who) { lineIsValid = false }

        guard fields.count >= 3 else {
            report(number, endColumn, "missing commands after the token of \(who); \(layout)")
            return
        }
        var commands: [CommandKind] = []
        if !parseCommands(fields[2], line: number, into: &commands) { lineIsValid = false }
        guard lineIsValid else { return }
        for sender in senders where sender.token == tokenField.bytes {
            report(number, tokenField.column,
                   "the token of \(who) is the same as the token of \(quoted(sender.name)) at line \(sender.line); every sender needs its own token")
            return
        }
        senders.append(CommandSender(name: name, token: tokenField.bytes, commands: commands, line: number))
    }

    /// Reports a token's problems without ever quoting it; true when it is usable.
    mutating func checkToken(_ field: Field, line: Int, who: String) -> Bool {
        var column = field.column
        for byte in field.bytes {
            if byte & 0xC0 == 0x80 { continue }
            if !isTokenByte(byte) {
                report(line, column,
                       "the token of \(who) contains a character tokens may not use; use letters, digits and - . _ ~ + / =")
                return false
            }
            column += 1
        }
        let length = field.bytes.count
        if length < CommandTokens.minimumTokenLength {
            report(line, field.column,
                   "the token of \(who) has \(length) characters; tokens need at least \(CommandTokens.minimumTokenLength) (e.g. from 'openssl rand -base64 24')")
            return false
        }
        if length > CommandTokens.maximumTokenLength {
            report(line, field.column,
                   "the token of \(who) has \(length) characters; tokens have at most \(CommandTokens.maximumTokenLength)")
            return false
        }
        return true
    }

    mutating func parseCommands(_ field: Field, line: Int, into commands: inout [CommandKind]) -> Bool {
        var valid = true
        var itemStart = 0
        var itemColumn = field.column
        var column = field.column
        var index = 0
        while index <= field.bytes.count {
            if index == field.bytes.count || field.bytes[index] == UInt8(ascii: ",") {
                let item = String(decoding: field.bytes[itemStart..<index], as: UTF8.self)
                if item.isEmpty {
                    report(line, itemColumn, "empty command in the list; separate commands with single commas")
                    valid = false
                } else if let kind = CommandKind(rawValue: item) {
                    var repeated = false
                    for earlier in commands where earlier == kind { repeated = true }
                    if repeated {
                        report(line, itemColumn, "\(kind.name) is listed twice")
                        valid = false
                    } else {
                        commands.append(kind)
                    }
                } else {
                    report(line, itemColumn, "unknown command \(shownUnlessTokenLike(item)); expected \(CommandKind.listForMessages)")
                    valid = false
                }
                itemStart = index + 1
                itemColumn = column + 1
            }
            if index < field.bytes.count && field.bytes[index] & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        return valid
    }

    /// Character offset of the first byte that is not allowed in an id (0 when the problem is the length).
    func firstNonIDOffset(_ bytes: [UInt8]) -> Int {
        var offset = 0
        for byte in bytes {
            if byte & 0xC0 == 0x80 { continue }
            if !isIDByte(byte) { return offset }
            offset += 1
        }
        return 0
    }
}

/// Quotes what a line says in a name or command position unless it is long enough to be a
/// token written in the wrong place: the file's secrets must not reach a log.
func shownUnlessTokenLike(_ text: String) -> String {
    let length = text.utf8.count
    if length < CommandTokens.minimumTokenLength { return quoted(text) }
    return "of \(length) characters (not shown: it could be a token in the wrong place)"
}

func isTokenByte(_ byte: UInt8) -> Bool {
    if isIDByte(byte) { return true }
    return byte == UInt8(ascii: "~") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
}

extension CommandTokens {
    /// Whether `text` holds any sender's token: such text (a token pasted into the wrong
    /// member) must never be echoed in a reply, which every subscriber of the responses
    /// topic reads. Every window is compared in full, as the token check does, so the time
    /// taken says nothing about how much of a token a sender guessed.
    func appears(in text: String) -> Bool {
        let bytes = Array(text.utf8)
        var found = false
        for sender in senders where !sender.token.isEmpty && sender.token.count <= bytes.count {
            for start in 0...(bytes.count - sender.token.count) {
                let window = Array(bytes[start..<(start + sender.token.count)])
                found = (constantTimeDifference(window, sender.token) == 0) || found
            }
        }
        return found
    }
}
