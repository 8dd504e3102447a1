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
