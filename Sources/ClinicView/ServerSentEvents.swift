/// The text/event-stream framing (WHATWG HTML, "Server-sent events"): an `event:` line, one
/// `data:` line per line of the payload, and a blank line that dispatches the event.
public enum ServerSentEvents {
    public static let contentType = "text/event-stream; charset=utf-8"

    /// Appends one event. A payload line break (LF, CR or CRLF) starts another `data:` line,
    /// so the browser's `event.data` is the payload with LF between its lines; an event name
    /// loses any line break it has, which would otherwise end the field.
    public static func append(event: String, data: [UInt8], to bytes: inout [UInt8]) {
        bytes.append(contentsOf: Array("event: ".utf8))
        for byte in event.utf8 where byte != 10 && byte != 13 { bytes.append(byte) }
        bytes.append(10)
        bytes.append(contentsOf: Array("data: ".utf8))
        var index = 0
        while index < data.count {
            let byte = data[index]
            if byte == 13 || byte == 10 {
                if byte == 13 && index + 1 < data.count && data[index + 1] == 10 { index += 1 }
                bytes.append(10)
                bytes.append(contentsOf: Array("data: ".utf8))
            } else {
                bytes.append(byte)
            }
            index += 1
        }
        bytes.append(10)
        bytes.append(10)
    }

    /// A comment line: ignored by the browser, it keeps the connection from looking idle to
    /// proxies and to the server's own timeout.
    public static let keepAlive: [UInt8] = Array(": keep-alive\n\n".utf8)

    /// Tells the browser how long to wait before it reconnects after the stream ends.
    public static func retry(milliseconds: Int) -> [UInt8] {
        Array("retry: \(milliseconds)\n\n".utf8)
    }
}
