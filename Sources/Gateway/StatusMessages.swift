import JSON
import Platform

/// Payloads of the retained messages in the topic contract (Deploy/mqtt/asyncapi.yaml).
/// Pure: times come in as arguments.
enum StatusMessages {
    /// Birth (online) and death (offline, also the Last Will) of the agent on `<prefix>/status`.
    static func status(online: Bool, site: String, box: String, version: String, sinceMilliseconds: Int64,
                       reason: String? = nil) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("state", online ? "online" : "offline")
        json.member("site", site)
        json.member("box", box)
        json.member("version", version)
        json.member("since", formatUTCTimestamp(millisecondsSinceEpoch: sinceMilliseconds))
        if let reason { json.member("reason", reason) }
        json.endObject()
        return json.text
    }

    /// `<prefix>/devices/<device>/state`: whether a device answers, and why not.
    static func deviceState(device: String, bed: String, answering: Bool, reason: String?, exceptionCode: Int?,
                            timeMilliseconds: Int64) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("device", device)
        json.member("bed", bed)
        json.member("state", answering ? "answering" : "comm-loss")
        json.key("reason")
        if let reason { json.string(reason) } else { json.null() }
        if let exceptionCode { json.member("exception_code", exceptionCode) }
        json.member("time", formatUTCTimestamp(millisecondsSinceEpoch: timeMilliseconds))
        json.endObject()
        return json.text
    }

    /// A vitals message as replayed from the disk queue: the stored JSON object with
    /// `"replayed":true` added, everything else (timestamps, sequence) as first written.
    static func markedReplayed(_ payload: [UInt8]) -> [UInt8] {
        guard let last = payload.lastIndex(of: UInt8(ascii: "}")) else { return payload }
        var marked = Array(payload[..<last])
        marked.append(contentsOf: Array(",\"replayed\":true}".utf8))
        return marked
    }
}
