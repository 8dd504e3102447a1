import JSON
import Platform

/// The reply on `<prefix>/responses` to one command:
/// `{"id":"c-17","command":"acknowledge-alarm","result":"accepted","reason":null,"time":"2026-11-24T08:40:01.002Z"}`.
/// `id` and `command` are null when the payload had no valid id or no known command.
/// The token is never part of a response.
public func encodeCommandResponse(_ decision: CommandDecision, wallClockMilliseconds: Int64) -> String {
    switch decision {
    case .accepted(let command):
        return encodeCommandResponse(id: command.id, command: command.kind, refusalReason: nil,
                                     wallClockMilliseconds: wallClockMilliseconds)
    case .refused(let refusal):
        return encodeCommandResponse(id: refusal.id, command: refusal.command, refusalReason: refusal.reason,
                                     wallClockMilliseconds: wallClockMilliseconds)
    }
}

/// The same reply from its parts, for a later stage (the alarm engine) that refuses an
/// accepted command: `refusalReason` nil means accepted.
public func encodeCommandResponse(id: String?, command: CommandKind?, refusalReason: String?,
                                  wallClockMilliseconds: Int64) -> String {
    var json = JSONWriter()
    json.beginObject()
    json.key("id")
    if let id { json.string(id) } else { json.null() }
    json.key("command")
    if let command { json.string(command.name) } else { json.null() }
    json.member("result", refusalReason == nil ? "accepted" : "refused")
    json.key("reason")
    if let refusalReason { json.string(refusalReason) } else { json.null() }
    json.member("time", formatUTCTimestamp(millisecondsSinceEpoch: wallClockMilliseconds))
    json.endObject()
    return json.text
}
