import Foundation
import Testing
@testable import Commands

/// The tokens file: every malformed line reported at the character to fix.
struct CommandTokenFileTests {
    static let token = "Zk3v9QeT0pL2mW8xR4yB6nC1sD7fG5hJ"  // 32 characters
    static let other = "q8W2e4R6t8Y0u2I4o6P8a0S2d4F6g8H0"
    static let layout = "expected '<name> <token> <command>[,<command>...]'"

    static func errors(_ text: String) -> [String] {
        do {
            _ = try CommandTokens.parse(Array(text.utf8), file: "tokens.txt")
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    static let malformed: [(text: String, errors: [String])] = [
        ("central-1 \(token)\n", ["tokens.txt:1:43: missing commands after the token of 'central-1'; \(layout)"]),
        ("lonely   # a comment\n", ["tokens.txt:1:7: missing token and commands after the name; \(layout)"]),
        ("nurse/1 \(token) rebirth", ["tokens.txt:1:6: invalid sender name 'nurse/1': expected an id, 1 to 64 letters, digits, '-', '_' or '.'"]),
        ("   xéy \(token) rebirth", ["tokens.txt:1:5: invalid sender name 'x?y': expected an id, 1 to 64 letters, digits, '-', '_' or '.'"]),
        ("\(String(repeating: "n", count: 65)) \(token) rebirth",
         ["tokens.txt:1:1: invalid sender name of 65 characters (not shown: it could be a token in the wrong place): expected an id, 1 to 64 letters, digits, '-', '_' or '.'"]),
        // Name and token swapped: neither the token nor anything token-like is quoted.
        ("a+b/c=d~e+f/g=h~ central-1 rebirth",
         ["tokens.txt:1:2: invalid sender name of 16 characters (not shown: it could be a token in the wrong place): expected an id, 1 to 64 letters, digits, '-', '_' or '.'",
          "tokens.txt:1:18: the token of line 1's sender has 9 characters; tokens need at least 16 (e.g. from 'openssl rand -base64 24')"]),
        ("central-1 rebirth \(token)",
         ["tokens.txt:1:11: the token of 'central-1' has 7 characters; tokens need at least 16 (e.g. from 'openssl rand -base64 24')",
          "tokens.txt:1:19: unknown command of 32 characters (not shown: it could be a token in the wrong place); expected acknowledge-alarm, pause-audio, rebirth, session-start or session-end"]),
        ("a \(token) rebirth\n\na \(other) rebirth\n", ["tokens.txt:3:1: duplicate sender name 'a' (already used at line 1)"]),
        ("a  shorttoken rebirth", ["tokens.txt:1:4: the token of 'a' has 10 characters; tokens need at least 16 (e.g. from 'openssl rand -base64 24')"]),
        ("a \(String(repeating: "t", count: 257)) rebirth", ["tokens.txt:1:3: the token of 'a' has 257 characters; tokens have at most 256"]),
        ("a abcdefgh!jklmnopqrs rebirth",
         ["tokens.txt:1:11: the token of 'a' contains a character tokens may not use; use letters, digits and - . _ ~ + / ="]),
        ("a abcdefgh#jklmnopqrs rebirth",
         ["tokens.txt:1:11: the token of 'a' contains a character tokens may not use; use letters, digits and - . _ ~ + / ="]),
        ("a abcdéfgh\u{7}jklmnopqrs rebirth",  // é is the first character out of place
         ["tokens.txt:1:7: the token of 'a' contains a character tokens may not use; use letters, digits and - . _ ~ + / ="]),
        ("a \(token) rebirth,reboot", ["tokens.txt:1:44: unknown command 'reboot'; expected acknowledge-alarm, pause-audio, rebirth, session-start or session-end"]),
        ("a \(token) rebirth,,pause-audio", ["tokens.txt:1:44: empty command in the list; separate commands with single commas"]),
        ("a \(token) rebirth,", ["tokens.txt:1:44: empty command in the list; separate commands with single commas"]),
        ("a \(token) ,rebirth", ["tokens.txt:1:36: empty command in the list; separate commands with single commas"]),
        ("a \(token) rebirth,rebirth", ["tokens.txt:1:44: rebirth is listed twice"]),
        ("a \(token) rebirth pause-audio",
         ["tokens.txt:1:44: 4 fields where 3 are expected; \(layout) with no spaces inside a name, a token or the list of commands"]),
        ("a \(token) rebirth\nb \(token) pause-audio\n",
         ["tokens.txt:2:3: the token of 'b' is the same as the token of 'a' at line 1; every sender needs its own token"]),
        // A BOM is not a column; CRLF endings are not part of the last field.
        ("\u{FEFF}a \(token) bogus\r\nb \(other) rebirth\r\n",
         ["tokens.txt:1:36: unknown command 'bogus'; expected acknowledge-alarm, pause-audio, rebirth, session-start or session-end"]),
        // Every problem of every line, in file order.
        ("# senders\nbad name\t\(token) rebirth\nb short rebirth,nap\nc \(other) pause-audio extra\nd\n", [
            "tokens.txt:2:43: 4 fields where 3 are expected; \(layout) with no spaces inside a name, a token or the list of commands",
            "tokens.txt:3:3: the token of 'b' has 5 characters; tokens need at least 16 (e.g. from 'openssl rand -base64 24')",
            "tokens.txt:3:17: unknown command 'nap'; expected acknowledge-alarm, pause-audio, rebirth, session-start or session-end",
            "tokens.txt:4:48: 4 fields where 3 are expected; \(layout) with no spaces inside a name, a token or the list of commands",
            "tokens.txt:5:2: missing token and commands after the name; \(layout)",
        ]),
    ]

    @Test(arguments: malformed)
    func reportsEachProblemAtItsPosition(text: String, errors: [String]) {
        #expect(Self.errors(text) == errors)
    }

    @Test func acceptsCommentsBlankLinesTabsAndCRLF() throws {
        let text = "# tokens for edge-01\r\n\r\n   # indented comment\n\tcentral-1\t\(Self.token)\tacknowledge-alarm,rebirth # trailing\r\n"
            + "dash.board_3 \(Self.other) rebirth\n"
        let tokens = try CommandTokens.parse(Array(text.utf8), file: "t")
        #expect(tokens.senders.map(\.name) == ["central-1", "dash.board_3"])
        #expect(tokens.senders.map(\.line) == [4, 5])
        #expect(tokens.senders[0].commands == [.acknowledgeAlarm, .rebirth])
        #expect(tokens.sender(presenting: Array(Self.token.utf8))?.name == "central-1")
    }

    @Test func loadsAFileAndReportsOneThatCannotBeRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bedside-tokens-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("command-tokens").path
        try "central-1 \(Self.token) rebirth\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try CommandTokens.load(path: path).senders.map(\.name) == ["central-1"])

        let missing = directory.appendingPathComponent("nope").path
        #expect {
            try CommandTokens.load(path: missing)
        } throws: { error in
            (error as? TokenFileErrors)?.description
                == "\(missing): cannot read the command tokens file: open \(missing) failed: No such file or directory (errno 2)"
        }
        // A directory (or a device) is refused, not read forever.
        #expect(throws: TokenFileErrors.self) { try CommandTokens.load(path: directory.path) }
    }
}
