import Platform

/// How sessions start, end and are kept. A plain value the configuration produces.
public struct SessionSettings: Sendable, Equatable {
    /// A session ends once its pump has not been running for this long (it was stopped or
    /// paused), so the first minutes after the infusion, the recovery, are in the record.
    public var endAfterStoppedSeconds: Int
    /// Finished records are kept on the box for this many days.
    public var keepDays: Int
    /// Where the state of open sessions and the finished records are kept on the box.
    public var directory: String

    public static let endAfterStoppedRange = 10...86_400
    public static let keepDaysRange = 1...3650
    /// Rows and events a record holds at most; beyond them the record counts what it left out
    /// (the summary still covers everything). At a 60 s interval 1440 rows are 24 hours.
    public static let maximumRows = 1440
    public static let maximumEvents = 2000
    /// Finished records on the box take at most this many bytes: beyond it the oldest go first,
    /// whatever `keepDays` says. A 45-minute session at a 60 s interval is about 40 kB, a 24-hour
    /// one with every row and event about 1.5 MB, so this holds the 30 days of a busy clinic.
    public static let maximumArchiveBytes = 64 << 20

    public init(endAfterStoppedSeconds: Int = 600, keepDays: Int = 30,
                directory: String = "/var/lib/bedside-gateway/sessions") {
        self.endAfterStoppedSeconds = endAfterStoppedSeconds
        self.keepDays = keepDays
        self.directory = directory
    }
}

/// Session ids: "<bed>-<yyyyMMdd>T<HHmmss>Z", the bed's configured id and the UTC start time
/// to the second, e.g. "chair-2-20261203T214900Z". Opaque to everyone but the box: no patient
/// data, and safe as a file name and URL path segment (the bed id is [A-Za-z0-9._-]).
public enum SessionID {
    public static func make(bed: String, startMilliseconds: Int64) -> String {
        bed + "-" + compactUTC(startMilliseconds)
    }

    /// "20261203T214900Z" from the RFC 3339 form the timestamps use.
    static func compactUTC(_ milliseconds: Int64) -> String {
        var text = ""
        for byte in formatUTCTimestampBytes(milliseconds).prefix(19) where byte != UInt8(ascii: "-") && byte != UInt8(ascii: ":") {
            text.unicodeScalars.append(Unicode.Scalar(byte))
        }
        return text + "Z"
    }

    /// Whether `text` is a session id of one of `beds`: the bed, '-', 8 digits, 'T', 6 digits,
    /// 'Z'. Anything else (a slash, "..", another bed) is not, so it can name no file.
    public static func isWellFormed(_ text: String, beds: [String]) -> Bool {
        let bytes = Array(text.utf8)
        let stampLength = 16
        guard bytes.count > stampLength + 1 else { return false }
        let bedLength = bytes.count - stampLength - 1
        guard bytes[bedLength] == UInt8(ascii: "-") else { return false }
        let bed = String(decoding: bytes[0..<bedLength], as: UTF8.self)
        guard beds.contains(bed) else { return false }
        for (offset, byte) in bytes[(bedLength + 1)...].enumerated() {
            switch offset {
            case 8: if byte != UInt8(ascii: "T") { return false }
            case 15: if byte != UInt8(ascii: "Z") { return false }
            default: if byte < UInt8(ascii: "0") || byte > UInt8(ascii: "9") { return false }
            }
        }
        return true
    }
}

func formatUTCTimestampBytes(_ milliseconds: Int64) -> [UInt8] {
    var bytes: [UInt8] = []
    appendUTCTimestamp(millisecondsSinceEpoch: milliseconds, to: &bytes)
    return bytes
}
