/// A command queued in the broker while the box was offline, or captured and sent again, must
/// not silence an alarm minutes later. Every command therefore carries the time it was issued
/// and an id, and this file holds what the decision needs to refuse it when it is stale, when
/// it claims to come from the future, or when its id was already received.

/// The wall-clock facts one decision is made against, read by the caller so the decision stays
/// pure and tests inject any time they like.
public struct CommandClock: Equatable, Sendable {
    /// This box's wall clock, milliseconds since the Unix epoch.
    public var nowMilliseconds: Int64
    /// How far this box's clock may be off, milliseconds: the kernel's stated maximum error
    /// (`adjtimex` `maxerror`) while synchronised, the kernel's cap of 16 s otherwise.
    public var errorMilliseconds: Int64

    public init(nowMilliseconds: Int64, errorMilliseconds: Int64) {
        self.nowMilliseconds = nowMilliseconds
        self.errorMilliseconds = max(0, min(errorMilliseconds, CommandClock.unsynchronisedErrorMilliseconds))
    }

    /// The kernel caps its maximum-error estimate at 16 s (NTP_PHASE_LIMIT) and reports that
    /// once the clock is not synchronised; used too when the clock state cannot be read.
    public static let unsynchronisedErrorMilliseconds: Int64 = 16_000

    /// What a sender's own clock may be ahead of true time: a sender synchronised by NTP is
    /// within milliseconds; 2 s also covers one synchronised loosely (e.g. a phone).
    public static let senderErrorMilliseconds: Int64 = 2_000

    /// How far in the future an issue time may lie before it is refused.
    public var futureAllowanceMilliseconds: Int64 { CommandClock.senderErrorMilliseconds + errorMilliseconds }
}

/// The ids of recently accepted commands, per sender, so a command sent again (a broker's
/// redelivery, a capture replayed) is refused. An id needs remembering only while its command
/// is not yet stale: once `issued + max_age` has passed, the age check refuses it anyway. The
/// memory is a fixed number of slots allocated once; when every slot holds an id that is not
/// yet stale, a new command is refused rather than forgetting one, because forgetting would let
/// that one through again.
public struct RecentCommandIDs: Sendable {
    /// 256 commands within one `max_age_s` window (8.5 a second at the default 30 s): far
    /// beyond what people at screens send, small enough to scan on every command.
    public static let capacity = 256

    struct Entry: Sendable {
        var issuer: String
        var id: String
        /// Wall-clock milliseconds after which the age check alone refuses this id.
        var staleAfterMilliseconds: Int64
    }

    private var entries: [Entry] = []

    public init() { entries.reserveCapacity(RecentCommandIDs.capacity) }

    /// Ids remembered and not yet stale at `nowMilliseconds`.
    public func count(at nowMilliseconds: Int64) -> Int {
        var count = 0
        for entry in entries where entry.staleAfterMilliseconds >= nowMilliseconds { count += 1 }
        return count
    }

    func contains(issuer: String, id: String, at nowMilliseconds: Int64) -> Bool {
        for entry in entries where entry.staleAfterMilliseconds >= nowMilliseconds && entry.id == id && entry.issuer == issuer {
            return true
        }
        return false
    }

    /// False when every slot holds an id that is not yet stale.
    mutating func remember(issuer: String, id: String, staleAfterMilliseconds: Int64, at nowMilliseconds: Int64) -> Bool {
        let entry = Entry(issuer: issuer, id: id, staleAfterMilliseconds: staleAfterMilliseconds)
        if entries.count < RecentCommandIDs.capacity {
            entries.append(entry)
            return true
        }
        for index in entries.indices where entries[index].staleAfterMilliseconds < nowMilliseconds {
            entries[index] = entry
            return true
        }
        return false
    }
}

/// Everything that decides on commands across their arrival: who may send what, how old a
/// command may be, and the ids already received. Owned by the thread that reads the command
/// topic.
public struct CommandIntake: Sendable {
    public let tokens: CommandTokens
    public let maximumAgeMilliseconds: Int64
    public private(set) var recentIDs = RecentCommandIDs()

    public init(tokens: CommandTokens, maximumAgeSeconds: Int = CommandSettings.defaultMaximumAgeSeconds) {
        self.tokens = tokens
        maximumAgeMilliseconds = Int64(maximumAgeSeconds) * 1000
    }

    /// Decides on one payload against `clock`, remembering the id of an accepted command.
    public mutating func decide(_ payload: [UInt8], bedIDs: [String], clock: CommandClock) -> CommandDecision {
        decideCommand(payload, tokens: tokens, bedIDs: bedIDs, clock: clock,
                      maximumAgeMilliseconds: maximumAgeMilliseconds, recentIDs: &recentIDs)
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 UTC time, `2026-12-03T13:16:13Z` or with a
/// fraction of 1 to 9 digits (`…13.250Z`); nil for anything else (another offset, a space
/// instead of `T`, an impossible date).
public func parseUTCTimestamp(_ text: String) -> Int64? {
    let bytes = Array(text.utf8)
    guard bytes.count >= 20, bytes.count <= 30 else { return nil }
    func digits(_ start: Int, _ count: Int) -> Int? {
        var value = 0
        for index in start..<(start + count) {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
    guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
          bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[bytes.count - 1] == UInt8(ascii: "Z"),
          let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
          let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2)
    else { return nil }
    guard (1...12).contains(month), day >= 1, day <= daysInMonth(month, year: year),
          hour < 24, minute < 60, second <= 60  // 60: a leap second, as RFC 3339 allows
    else { return nil }

    var milliseconds = 0
    if bytes.count > 20 {
        // ".d" to ".ddddddddd" between the seconds and the Z; digits past milliseconds are dropped.
        let fractionDigits = bytes.count - 21
        guard bytes[19] == UInt8(ascii: "."), fractionDigits >= 1, fractionDigits <= 9,
              let fraction = digits(20, fractionDigits) else { return nil }
        var scaled = fraction
        var count = fractionDigits
        while count < 3 { scaled *= 10; count += 1 }
        while count > 3 { scaled /= 10; count -= 1 }
        milliseconds = scaled
    } else if bytes[19] != UInt8(ascii: "Z") {
        return nil
    }
    let days = Int64(daysSinceEpoch(year: year, month: month, day: day))
    let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    return seconds * 1000 + Int64(milliseconds)
}

func daysInMonth(_ month: Int, year: Int) -> Int {
    switch month {
    case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days-from-civil, the
/// inverse of `formatUTCTimestamp`'s): years start on 1 March, so the leap day ends its year.
func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
    let marchYear = month <= 2 ? year - 1 : year
    let era = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
    let yearOfEra = marchYear - era * 400
    let monthFromMarch = month > 2 ? month - 3 : month + 9
    let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}

/// "95 s", "30.001 s", "2.05 s", "250 ms", for reasons: exact to the millisecond, because a
/// refusal at a boundary must show which side of it the command fell on.
func durationText(milliseconds: Int64) -> String {
    if milliseconds < 1000 { return "\(milliseconds) ms" }
    var fraction = milliseconds % 1000
    if fraction == 0 { return "\(milliseconds / 1000) s" }
    var digits = 3
    while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
    var fractionText = String(fraction)
    while fractionText.utf8.count < digits { fractionText = "0" + fractionText }
    return "\(milliseconds / 1000).\(fractionText) s"
}
