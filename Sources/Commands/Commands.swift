/// Commands arrive on `<prefix>/commands` as JSON objects, e.g.
/// `{"id":"c-17","command":"acknowledge-alarm","token":"…","bed":"chair-1","alarm":"a-42"}`.
/// This module decides whether one is well formed and authorised; acting on it (does the alarm
/// exist, is the buzzer sounding) is the alarm engine's business. Nothing here touches the OS
/// except reading the tokens file, so every outcome is testable from bytes alone.

/// What a sender may ask the box to do.
public enum CommandKind: String, Sendable {
    /// Acknowledge one alarm of one bed; needs `bed` and `alarm`.
    case acknowledgeAlarm = "acknowledge-alarm"
    /// Pause the box's buzzer (one per box, so no bed).
    case pauseAudio = "pause-audio"
    /// Republish every retained topic (status, alarm state, device state, health).
    case rebirth
    /// Open an infusion session on one bed (the pump not yet running, or a session to start now); needs `bed`.
    case sessionStart = "session-start"
    /// End the open infusion session of one bed; needs `bed`.
    case sessionEnd = "session-end"

    /// Every command, in the order messages list them.
    public static let all: [CommandKind] = [.acknowledgeAlarm, .pauseAudio, .rebirth, .sessionStart, .sessionEnd]

    /// Whether the command acts on one bed, named in its `bed` member.
    var takesBed: Bool { self == .acknowledgeAlarm || self == .sessionStart || self == .sessionEnd }

    /// The wire name, e.g. "acknowledge-alarm".
    public var name: String { rawValue }

    /// "acknowledge-alarm, pause-audio or rebirth", for messages.
    static var listForMessages: String {
        var text = ""
        for (index, kind) in all.enumerated() {
            if index > 0 { text += index == all.count - 1 ? " or " : ", " }
            text += kind.name
        }
        return text
    }
}

/// An accepted command: well formed, from a known sender allowed to send it.
public struct Command: Equatable, Sendable {
    /// The sender's correlation id, echoed in the response.
    public var id: String
    public var kind: CommandKind
    /// The name of the tokens-file line whose token the command carried (never the token).
    public var issuer: String
    /// A configured bed id (acknowledge-alarm, session-start, session-end).
    public var bed: String?
    /// An alarm id in the syntax of alarm ids (acknowledge-alarm only); whether that alarm
    /// exists is for the alarm engine to say.
    public var alarm: String?

    public init(id: String, kind: CommandKind, issuer: String, bed: String? = nil, alarm: String? = nil) {
        self.id = id
        self.kind = kind
        self.issuer = issuer
        self.bed = bed
        self.alarm = alarm
    }
}

/// A refused command and why, as the response reports it.
public struct CommandRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    /// The correlation id, when the payload had a valid one.
    public var id: String?
    /// The command, when the payload named a known one.
    public var command: CommandKind?
    /// For the sender and the log; never contains the token.
    public var reason: String

    public init(id: String?, command: CommandKind?, reason: String) {
        self.id = id
        self.command = command
        self.reason = reason
    }

    /// A refusal of an accepted command by a later stage (e.g. "no active alarm 'a-42' on chair-1").
    public init(_ command: Command, reason: String) {
        self.init(id: command.id, command: command.kind, reason: reason)
    }

    public var description: String {
        "command \(id.map { "'\($0)'" } ?? "without id") (\(command?.name ?? "unknown command")) refused: \(reason)"
    }
}

public enum CommandDecision: Equatable, Sendable {
    case accepted(Command)
    case refused(CommandRefusal)
}

/// Largest payload read at all; a command is about 150 bytes.
public let maximumCommandPayloadBytes = 4096

/// Ids of senders, beds and devices: 1 to 64 ASCII letters, digits, '-', '_' or '.'.
/// Alarm ids use the same alphabet.
func isID(_ text: String) -> Bool {
    let bytes = text.utf8
    guard !bytes.isEmpty, bytes.count <= 64 else { return false }
    for byte in bytes where !isIDByte(byte) { return false }
    return true
}

func isIDByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
         UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
        return true
    default:
        return false
    }
}

/// Correlation ids: 1 to 64 printable ASCII characters (space to '~').
func isCorrelationID(_ text: String) -> Bool {
    let bytes = text.utf8
    guard !bytes.isEmpty, bytes.count <= 64 else { return false }
    for byte in bytes where byte < 0x20 || byte > 0x7E { return false }
    return true
}

/// Something the sender wrote, safe to put in a reason and a log line: quoted, printable ASCII
/// only (others become '?'), at most 64 characters.
func quoted(_ text: String) -> String {
    var result = "'"
    var count = 0
    for byte in text.utf8 {
        // Continuation bytes of one non-ASCII character give one '?'.
        if byte & 0xC0 == 0x80 { continue }
        if count == 64 {
            result += "…"
            break
        }
        if byte >= 0x20 && byte <= 0x7E {
            result.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            result += "?"
        }
        count += 1
    }
    return result + "'"
}
