import JSON
import Platform

/// Decides on one payload from the commands topic. Checks run in this order, and the first
/// failure is the reason given:
/// size; JSON object; duplicate keys; id; command; tokens configured at all; unknown keys;
/// token present; token recognised; sender allowed this command; issue time present and
/// readable; not stale; not in the future; bed; alarm id; id not already received from this
/// sender; room to remember the id.
/// Authorisation comes before everything else about the command, so a sender without a valid
/// token learns nothing about which beds this box serves, and cannot fill the id memory.
/// An accepted command's id is remembered in `recentIDs` until the command would be stale.
public func decideCommand(_ payload: [UInt8], tokens: CommandTokens, bedIDs: [String], clock: CommandClock,
                          maximumAgeMilliseconds: Int64, recentIDs: inout RecentCommandIDs) -> CommandDecision {
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
    // Never text that holds a token: the reply goes to every subscriber of the responses topic.
    var id: String?
    let idHoldsToken = single("id")?.stringValue.map { tokens.appears(in: $0) } ?? false
    if let text = single("id")?.stringValue, isCorrelationID(text), !idHoldsToken { id = text }
    var kind: CommandKind?
    if let text = single("command")?.stringValue { kind = CommandKind(rawValue: text) }
    func refuse(_ reason: String) -> CommandDecision {
        let shown = tokens.appears(in: reason)
            ? "a member holds a command token where no token belongs (the token goes in \"token\" only)" : reason
        return .refused(CommandRefusal(id: id, command: kind, reason: shown))
    }

    if let duplicate { return refuse("duplicate key \(quoted(duplicate))") }
    if idHoldsToken { return refuse("the id holds a command token (the token goes in \"token\" only)") }

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

    let allowedKeys = kind == .acknowledgeAlarm ? ["id", "command", "issued", "token", "bed", "alarm"]
        : kind.takesBed ? ["id", "command", "issued", "token", "bed"] : ["id", "command", "issued", "token"]
    for member in members {
        var known = false
        for key in allowedKeys where key == member.key { known = true }
        if !known {
            let takes = kind == .acknowledgeAlarm ? "id, command, issued, token, bed and alarm"
                : kind.takesBed ? "id, command, issued, token and bed" : "id, command, issued and token"
            return refuse("unknown key \(quoted(member.key)); \(kind.name) takes \(takes)")
        }
    }

    guard let tokenValue = document["token"] else { return refuse("missing token") }
    guard case let .string(token) = tokenValue else { return refuse("token must be a string") }
    guard let sender = tokens.sender(presenting: Array(token.utf8)) else {
        return refuse("unauthorised: token not recognised")
    }
    if !sender.may(kind) { return refuse("unauthorised: \(quoted(sender.name)) may not \(kind.name)") }

    let issuedFormat = "an RFC 3339 UTC time such as \"2026-12-03T13:16:13.250Z\""
    guard let issuedValue = document["issued"] else {
        return refuse("missing issued: every command carries the time it was issued, \(issuedFormat)")
    }
    guard case let .string(issuedText) = issuedValue else { return refuse("issued must be \(issuedFormat)") }
    guard let issued = parseUTCTimestamp(issuedText) else {
        return refuse("issued \(quoted(issuedText)) is not \(issuedFormat)")
    }
    let age = clock.nowMilliseconds - issued
    if age > maximumAgeMilliseconds {
        return refuse("stale: issued \(durationText(milliseconds: age)) ago, and commands older than "
            + "\(durationText(milliseconds: maximumAgeMilliseconds)) (commands.max_age_s) are refused, so one delayed in "
            + "the broker or sent again is never carried out late; send it anew if it is still wanted, and check the "
            + "sender's and this box's clocks if it was fresh")
    }
    if -age > clock.futureAllowanceMilliseconds {
        let senderError = durationText(milliseconds: CommandClock.senderErrorMilliseconds)
        return refuse("issued \(durationText(milliseconds: -age)) in the future by this box's clock, beyond the "
            + "\(durationText(milliseconds: clock.futureAllowanceMilliseconds)) allowed (\(senderError) for the sender's clock "
            + "and \(durationText(milliseconds: clock.errorMilliseconds)) this box's clock may be off); check that both clocks "
            + "are synchronised by NTP")
    }

    var command = Command(id: id, kind: kind, issuer: sender.name)
    if kind.takesBed {
        guard let bedValue = document["bed"] else { return refuse("missing bed") }
        guard case let .string(bed) = bedValue else { return refuse("bed must be a string") }
        var bedIsConfigured = false
        for configured in bedIDs where configured == bed { bedIsConfigured = true }
        if !bedIsConfigured { return refuse("unknown bed \(quoted(bed))") }
        command.bed = bed
    }
    if kind == .acknowledgeAlarm {
        guard let alarmValue = document["alarm"] else { return refuse("missing alarm") }
        guard case let .string(alarm) = alarmValue else { return refuse("alarm must be a string") }
        if !isID(alarm) { return refuse("bad alarm id \(quoted(alarm)): expected 1 to 64 letters, digits, '.', '_' or '-'") }
        command.alarm = alarm
    }

    if recentIDs.contains(issuer: sender.name, id: id, at: clock.nowMilliseconds) {
        return refuse("repeated id: \(quoted(sender.name)) already sent a command with this id within "
            + "\(durationText(milliseconds: maximumAgeMilliseconds)) (commands.max_age_s); a command is carried out once, "
            + "so give every command a new id")
    }
    if !recentIDs.remember(issuer: sender.name, id: id, staleAfterMilliseconds: issued + maximumAgeMilliseconds,
                           at: clock.nowMilliseconds) {
        return refuse("too many commands: \(RecentCommandIDs.capacity) were accepted within "
            + "\(durationText(milliseconds: maximumAgeMilliseconds)) (commands.max_age_s), more than this box can remember "
            + "to refuse repeats; wait a few seconds and send again")
    }
    return .accepted(command)
}
