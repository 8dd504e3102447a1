/// What happened to an alarm; every type is in the contract's alarmEvent enum
/// (Deploy/mqtt/asyncapi.yaml) and in the alarm log.
public enum AlarmEventType: Sendable, Equatable {
    case start
    case end
    case escalate
    case acknowledge
    case audioPaused
    case audioResumed
    case limitChange

    public var name: String {
        switch self {
        case .start: return "start"
        case .end: return "end"
        case .escalate: return "escalate"
        case .acknowledge: return "acknowledge"
        case .audioPaused: return "audio-paused"
        case .audioResumed: return "audio-resumed"
        case .limitChange: return "limit-change"
        }
    }

    public init?(name: String) {
        switch name {
        case "start": self = .start
        case "end": self = .end
        case "escalate": self = .escalate
        case "acknowledge": self = .acknowledge
        case "audio-paused": self = .audioPaused
        case "audio-resumed": self = .audioResumed
        case "limit-change": self = .limitChange
        default: return nil
        }
    }
}

/// One alarm event of one bed.
public struct AlarmEvent: Sendable, Equatable {
    public var bed: String
    /// Per bed, strictly increasing across restarts (restored from the log).
    public var sequence: Int64
    /// Stable opaque id, e.g. "chair-1.spo2-low.17"; for pause and limit events "<bed>.<condition>".
    public var alarm: String
    public var condition: String
    public var priority: AlarmPriority
    public var kind: AlarmKind
    public var type: AlarmEventType
    public var wallClockMilliseconds: Int64
    public var monotonicMilliseconds: Int64
    /// Free text for the log (e.g. the new limit); not in the contract payload.
    public var detail: String
    /// Who acknowledged (acknowledge events only, else empty): "button" for the box's button,
    /// "command:<issuer>" for a command, the issuer being the tokens-file name of its sender.
    public var by: String

    public init(bed: String, sequence: Int64, alarm: String, condition: String, priority: AlarmPriority,
                kind: AlarmKind, type: AlarmEventType, wallClockMilliseconds: Int64,
                monotonicMilliseconds: Int64, detail: String = "", by: String = "") {
        self.bed = bed
        self.sequence = sequence
        self.alarm = alarm
        self.condition = condition
        self.priority = priority
        self.kind = kind
        self.type = type
        self.wallClockMilliseconds = wallClockMilliseconds
        self.monotonicMilliseconds = monotonicMilliseconds
        self.detail = detail
        self.by = by
    }
}

/// One alarm as the retained state lists it.
public struct ActiveAlarm: Sendable, Equatable {
    public var alarm: String
    public var condition: String
    public var priority: AlarmPriority
    public var kind: AlarmKind
    public var sinceWallClockMilliseconds: Int64
    public var acknowledged: Bool
    /// False once the condition has ended but a high-priority alarm is latched.
    public var conditionPresent: Bool
}
