/// The box's own alarm system: where the alarm log lives, and the limits every bed starts
/// from (the default limits, changed box-wide; each bed may change them further for itself).
public struct AlarmSettings: Sendable, Equatable {
    /// Start, end, escalate, acknowledge, pause and limit-change events, one line each; read
    /// back at start so latched alarms and event numbers survive a restart.
    public var logPath: String
    public var defaults: BedAlarmSettings

    public static let defaultLogPath = "/var/lib/bedside-gateway/alarms.log"

    public init(logPath: String = AlarmSettings.defaultLogPath, defaults: BedAlarmSettings = BedAlarmSettings()) {
        self.logPath = logPath
        self.defaults = defaults
    }
}
