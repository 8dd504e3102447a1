import JSON

/// Decides on one payload from the commands topic. Checks run in this order, and the first
/// failure is the reason given:
/// size; JSON object; duplicate keys; id; command; tokens configured at all; unknown keys;
/// token present; token recognised; sender allowed this command; bed; alarm id.
/// Authorisation comes before bed and alarm, so a sender without a valid token learns nothing
/// about which beds this box serves.
public func decideCommand(_ payload: [UInt8], tokens: CommandTokens, bedIDs: [String]) -> CommandDecision {
    if payload.count > maximumCommandPayloadBytes {
        return .refused(CommandRefusal(id: nil, command: nil,
                                       reason: "payload too large: \(payload.count) bytes, the limit is \(maximumCommandPayloadBytes)"))
    }
    let document: JSONValue
    do {
        document = try JSONParser.parse(payload)
    } catch {
        return .refused(CommandRefusal(id: nil, command: nil, reason: "not JSON: \(error.reason) at byte \(error.offset)"))
    }
    guard case let .object(members) = document else {
        return .refused(CommandRefusal(id: nil, command: nil, reason: "not a JSON object"))
    }

    // A key given twice is ambiguous (parsers disagree on which one wins): refuse it, and
    // trust neither occurrence of a repeated id or command.
    var duplicate: String?
    var repeatedKeys: [String] = []
    for (index, member) in members.enumerated() {
        var later = index + 1
        while later < members.count {
            if members[later].key == member.key {
                if duplicate == nil { duplicate = member.key }
                repeatedKeys.append(member.key)
                break
            }
            later += 1
        }
    }
    func single(_ key: String) -> JSONValue? {
        for repeated in repeatedKeys where repeated == key { return nil }
        return document[key]
    }

    // What the response can echo: a valid id and a known command.
    var id: String?
    if let text = single("id")?.stringValue, isCorrelationID(text) { id = text }
    var kind: CommandKind?
    if let text = single("command")?.stringValue { kind = CommandKind(rawValue: text) }
    func refuse(_ reason: String) -> CommandDecision {
        .refused(CommandRefusal(id: id, command: kind, reason: reason))
    }

    if let duplicate { return refuse("duplicate key \(quoted(duplicate))") }

    switch document["id"] {
    case nil: return refuse("missing id")
    case .string?: if id == nil { return refuse("id must be 1 to 64 printable ASCII characters") }
    default: return refuse("id must be a string")
    }

    switch document["command"] {
    case nil: return refuse("missing command")
    case .string(let text)?:
        if kind == nil { return refuse("unknown command \(quoted(text)); expected \(CommandKind.listForMessages)") }
    default: return refuse("command must be a string")
    }
    guard let id, let kind else { return refuse("missing command") }  // unreachable: both checked above

    if !tokens.isConfigured { return refuse("unauthorised: no command tokens are configured on this box") }

    let allowedKeys = kind == .acknowledgeAlarm ? ["id", "command", "token", "bed", "alarm"] : ["id", "command", "token"]
    for member in members {
        var known = false
        for key in allowedKeys where key == member.key { known = true }
        if !known {
            let takes = kind == .acknowledgeAlarm ? "id, command, token, bed and alarm" : "id, command and token"
            return refuse("unknown key \(quoted(member.key)); \(kind.name) takes \(takes)")
        }
    }

    guard let tokenValue = document["token"] else { return refuse("missing token") }
    guard case let .string(token) = tokenValue else { return refuse("token must be a string") }
    guard let sender = tokens.sender(presenting: Array(token.utf8)) else {
        return refuse("unauthorised: token not recognised")
    }
    if !sender.may(kind) { return refuse("unauthorised: \(quoted(sender.name)) may not \(kind.name)") }

    guard kind == .acknowledgeAlarm else { return .accepted(Command(id: id, kind: kind, issuer: sender.name)) }

    guard let bedValue = document["bed"] else { return refuse("missing bed") }
    guard case let .string(bed) = bedValue else { return refuse("bed must be a string") }
    var bedIsConfigured = false
    for configured in bedIDs where configured == bed { bedIsConfigured = true }
    if !bedIsConfigured { return refuse("unknown bed \(quoted(bed))") }

    guard let alarmValue = document["alarm"] else { return refuse("missing alarm") }
    guard case let .string(alarm) = alarmValue else { return refuse("alarm must be a string") }
    if !isID(alarm) { return refuse("bad alarm id \(quoted(alarm)): expected 1 to 64 letters, digits, '.', '_' or '-'") }

    return .accepted(Command(id: id, kind: kind, issuer: sender.name, bed: bed, alarm: alarm))
}
