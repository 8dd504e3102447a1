// Alarm vocabulary, after IEC 60601-1-8 (the terms as secondary sources explain them):
//
// - An alarm *condition* is what the engine detects (SpO2 below its limit, a monitor that
//   stopped answering); the alarm *signal* is what people hear (the buzzer pattern of the
//   condition's priority, SignalPattern.swift) and what is published.
// - Physiological conditions come from patient values; technical ones from the equipment or
//   the agent itself (`AlarmKind`).
// - Two delays add up before anyone hears anything: the condition delay, from the value
//   crossing the limit to the engine calling it an alarm (`LimitRule.delayMilliseconds`), and
//   the signal generation delay, from there to sound. Monitors already average SpO2 over
//   6-30 s, so the agent's own share should stay within one sampling period.
// - States of one condition (AlarmEngine): inactive, pending (its delay running), active,
//   ended. A high-priority alarm latches: it keeps sounding after its condition ends until
//   someone acknowledges it. Unacknowledged medium alarms escalate to high.
// - Audio paused: the sound stops for 2 minutes (`AlarmEngine.audioPauseMilliseconds`) and
//   returns if the condition is still there; a condition of higher priority than those the
//   pause covered sounds at once.

import JSON

/// IEC 60601-1-8 alarm priority. Ordered so that `max` picks what the buzzer plays.
public enum AlarmPriority: Int, Comparable, Sendable {
    case low = 1
    case medium = 2
    case high = 3

    public static func < (a: AlarmPriority, b: AlarmPriority) -> Bool { a.rawValue < b.rawValue }

    /// The contract's spelling.
    public var name: String {
        switch self {
        case .low: return "low"
        case .medium: return "medium"
        case .high: return "high"
        }
    }

    public init?(name: String) {
        switch name {
        case "low": self = .low
        case "medium": self = .medium
        case "high": self = .high
        default: return nil
        }
    }
}

/// Physiological alarms come from patient values; technical alarms from equipment or the agent.
public enum AlarmKind: Sendable, Equatable {
    case physiological
    case technical

    public var name: String { self == .physiological ? "physiological" : "technical" }

    public init?(name: String) {
        switch name {
        case "physiological": self = .physiological
        case "technical": self = .technical
        default: return nil
        }
    }
}

/// The sample qualities of Vitals, mirrored so that Alarms depends on Platform and JSON only.
/// Raw values equal `Vitals.Quality`'s, so the caller maps with `init(rawValue:)`.
public enum AlarmInputQuality: String, Sendable {
    case ok
    case stale
    case outOfRange = "out-of-range"
    case commLoss = "comm-loss"
    case sensorOff = "sensor-off"
}

/// One value of one point of one bed, as the alarm engine needs it.
public struct AlarmObservation: Sendable {
    public var point: String
    public var device: String
    public var value: Double?
    public var quality: AlarmInputQuality

    public init(point: String, device: String, value: Double?, quality: AlarmInputQuality) {
        self.point = point
        self.device = device
        self.value = value
        self.quality = quality
    }
}

/// What kind of device went silent: decides the comm-loss alarm's priority.
public enum DeviceRole: Sendable, Equatable {
    case monitor
    case pump
    case other
}

public enum LimitComparison: Sendable, Equatable {
    /// Alarm while value < threshold.
    case below
    /// Alarm while value > threshold.
    case above

    public var name: String { self == .below ? "below" : "above" }
}

/// One physiological limit: condition `condition` is present while `point`'s value is beyond `threshold`.
public struct LimitRule: Sendable, Equatable {
    public var condition: String
    public var point: String
    public var comparison: LimitComparison
    public var threshold: Double
    public var priority: AlarmPriority
    /// Alarm condition delay: how long the value must stay beyond the limit before the alarm starts.
    public var delayMilliseconds: Int64
    public var enabled: Bool

    public init(condition: String, point: String, _ comparison: LimitComparison, _ threshold: Double,
                priority: AlarmPriority, delayMilliseconds: Int64, enabled: Bool = true) {
        self.condition = condition
        self.point = point
        self.comparison = comparison
        self.threshold = threshold
        self.priority = priority
        self.delayMilliseconds = delayMilliseconds
        self.enabled = enabled
    }

    func violated(by value: Double) -> Bool {
        comparison == .below ? value < threshold : value > threshold
    }

    /// For the log and limit-change events, e.g. "spo2 below 90 high delay 0ms".
    public var summary: String {
        var text = "\(point) \(comparison.name) \(formatLimit(threshold)) \(priority.name) delay \(delayMilliseconds)ms"
        if !enabled { text += " off" }
        return text
    }
}

/// A threshold as a configuration file would write it: whole numbers without a point, others
/// to at most three decimals, "null" for what no file can hold (not finite, or beyond 9e12).
/// Not `Double.description`, whose digits differ under Embedded Swift.
public func formatLimit(_ value: Double) -> String {
    var text = formatDecimal(value, decimals: 3)
    guard text.contains(".") else { return text }
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
}

/// Priorities and delays of the technical alarms of one bed.
public struct TechnicalAlarmSettings: Sendable, Equatable {
    /// A silent monitor: medium, not high. The monitor keeps alarming in the room on its own
    /// speaker, so the patient is not unmonitored; only the box's copy is lost. Left unresolved
    /// it escalates to high after `escalateAfterMilliseconds`, which covers a monitor that died.
    public var monitorCommLoss: AlarmPriority = .medium
    /// The pump alarms locally and keeps infusing or stops on its own; losing it costs visibility.
    public var pumpCommLoss: AlarmPriority = .low
    public var otherCommLoss: AlarmPriority = .low
    /// SpO2 probe off during sedation means no desaturation alarm at all: medium (escalates).
    public var spo2SensorOff: AlarmPriority = .medium
    /// ECG leads or CO2 line off: SpO2 still watches the patient.
    public var otherSensorOff: AlarmPriority = .low
    /// A reminder (ASA: NIBP at least every 5 min), not an acute danger.
    public var nibpStale: AlarmPriority = .low
    public var nibpStaleAfterMilliseconds: Int64 = 300_000
    /// The pump stops and alarms itself on occlusion or air; the box repeats it as medium so it
    /// escalates if nobody attends (ketamine delivery interrupted, or air in the line).
    public var pumpOcclusion: AlarmPriority = .medium
    public var pumpAirInLine: AlarmPriority = .medium
    /// The agent's own faults (loop overruns): its alarms may be late or missing.
    public var agentFault: AlarmPriority = .medium
    /// Probe-off flickers when the patient moves; one sampling period filters a single blip.
    public var sensorOffDelayMilliseconds: Int64 = 1000

    public init() {}
}

/// The alarm settings of one bed; Config fills it from the bed's section, defaults otherwise.
public struct BedAlarmSettings: Sendable, Equatable {
    public var limits: [LimitRule]
    public var technical: TechnicalAlarmSettings
    /// Unacknowledged medium alarms become high after this long.
    public var escalateAfterMilliseconds: Int64

    public init(limits: [LimitRule] = BedAlarmSettings.defaultLimits,
                technical: TechnicalAlarmSettings = TechnicalAlarmSettings(),
                escalateAfterMilliseconds: Int64 = 60_000) {
        self.limits = limits
        self.technical = technical
        self.escalateAfterMilliseconds = escalateAfterMilliseconds
    }

    /// Adult defaults, as bedside monitors ship them (seen in the manuals of Mindray TM70 and
    /// TD60, LIFEPAK 15 and GE B30); a clinic changes them box-wide or per bed:
    ///
    ///     parameter                 low                    high
    ///     SpO2 %                    90, desaturation 85    -
    ///     pulse / heart rate /min   50                     120
    ///     NIBP systolic mmHg        90                     160
    ///     NIBP diastolic mmHg       50                     90
    ///     NIBP mean mmHg            60                     110
    ///     respiratory rate /min     8 (apnea: no breath    30
    ///                               for 20 s on the monitor)
    ///     EtCO2 mmHg                15                     50
    ///
    /// NIBP is a cycle (every 3-5 minutes during sedation, at least every 5 per ASA), so a
    /// reading older than 5 minutes is stale (`TechnicalAlarmSettings.nibpStaleAfterMilliseconds`);
    /// SpO2 and heart rate refresh every second, EtCO2 with each breath.
    ///
    /// Delays: 0 for SpO2 (the monitor already averages 6-30 s) and NIBP (an intermittent,
    /// final measurement); 1 s elsewhere, which at 1 Hz sampling is one period: two
    /// consecutive samples, filtering a single artefact.
    /// Priorities: SpO2 low and desaturation high (hypoxaemia is the sedation risk); apnea high;
    /// the rest medium as on the monitors the limits come from, escalating if unattended.
    public static let defaultLimits: [LimitRule] = [
        LimitRule(condition: "spo2-low", point: "spo2", .below, 90, priority: .high, delayMilliseconds: 0),
        LimitRule(condition: "spo2-desat", point: "spo2", .below, 85, priority: .high, delayMilliseconds: 0),
        LimitRule(condition: "pr-low", point: "pulse_rate", .below, 50, priority: .medium, delayMilliseconds: 1000),
        LimitRule(condition: "pr-high", point: "pulse_rate", .above, 120, priority: .medium, delayMilliseconds: 1000),
        LimitRule(condition: "hr-low", point: "heart_rate", .below, 50, priority: .medium, delayMilliseconds: 1000),
        LimitRule(condition: "hr-high", point: "heart_rate", .above, 120, priority: .medium, delayMilliseconds: 1000),
        LimitRule(condition: "nibp-sys-low", point: "nibp_systolic", .below, 90, priority: .medium, delayMilliseconds: 0),
        LimitRule(condition: "nibp-sys-high", point: "nibp_systolic", .above, 160, priority: .medium, delayMilliseconds: 0),
        LimitRule(condition: "nibp-dia-low", point: "nibp_diastolic", .below, 50, priority: .medium, delayMilliseconds: 0),
        LimitRule(condition: "nibp-dia-high", point: "nibp_diastolic", .above, 90, priority: .medium, delayMilliseconds: 0),
        LimitRule(condition: "nibp-mean-low", point: "nibp_mean", .below, 60, priority: .medium, delayMilliseconds: 0),
        LimitRule(condition: "nibp-mean-high", point: "nibp_mean", .above, 110, priority: .medium, delayMilliseconds: 0),
        LimitRule(condition: "rr-low", point: "respiratory_rate", .below, 8, priority: .medium, delayMilliseconds: 1000),
        LimitRule(condition: "rr-high", point: "respiratory_rate", .above, 30, priority: .medium, delayMilliseconds: 1000),
        // The monitor's rate reaches 0 only after its own breath detection gave up (its apnea
        // time, typically 20 s), so the agent adds just one sampling period.
        LimitRule(condition: "apnea", point: "respiratory_rate", .below, 1, priority: .high, delayMilliseconds: 1000),
        LimitRule(condition: "etco2-low", point: "etco2", .below, 15, priority: .medium, delayMilliseconds: 1000),
        LimitRule(condition: "etco2-high", point: "etco2", .above, 50, priority: .medium, delayMilliseconds: 1000),
    ]

    /// Replaces (or adds) the rule of `condition`.
    public mutating func setLimit(_ rule: LimitRule) {
        for index in limits.indices where limits[index].condition == rule.condition {
            limits[index] = rule
            return
        }
        limits.append(rule)
    }

    public func limit(_ condition: String) -> LimitRule? {
        for rule in limits where rule.condition == condition { return rule }
        return nil
    }

    /// Refuses settings that could silence an alarm by mistake.
    public func validate() throws(AlarmSettingsError) {
        for (index, rule) in limits.enumerated() {
            if rule.condition.isEmpty || !isIdentifier(rule.condition) { throw .badCondition(rule.condition) }
            if !rule.threshold.isFinite { throw .badThreshold(rule.condition) }
            if rule.delayMilliseconds < 0 || rule.delayMilliseconds > 120_000 { throw .badDelay(rule.condition) }
            for other in limits[(index + 1)...] where other.condition == rule.condition {
                throw .duplicateCondition(rule.condition)
            }
        }
        // A low limit at or above the matching high limit would alarm forever or never.
        for low in limits where low.comparison == .below && low.enabled {
            for high in limits where high.comparison == .above && high.enabled && high.point == low.point {
                if low.threshold >= high.threshold { throw .limitsCross(low.condition, high.condition) }
            }
        }
        if escalateAfterMilliseconds <= 0 { throw .badEscalation }
        if technical.nibpStaleAfterMilliseconds <= 0 { throw .badDelay("nibp-stale") }
    }
}

public enum AlarmSettingsError: Error, Equatable, CustomStringConvertible {
    case badCondition(String)
    case badThreshold(String)
    case badDelay(String)
    case duplicateCondition(String)
    case limitsCross(String, String)
    case badEscalation

    public var description: String {
        switch self {
        case .badCondition(let name): return "alarm condition name '\(name)' is not [A-Za-z0-9._-]"
        case .badThreshold(let name): return "alarm limit \(name) is not a finite number"
        case .badDelay(let name): return "alarm delay of \(name) is outside 0...120000 ms"
        case .duplicateCondition(let name): return "alarm condition \(name) given twice"
        case .limitsCross(let low, let high): return "alarm limit \(low) is not below \(high)"
        case .badEscalation: return "escalation time must be positive"
        }
    }
}

/// The contract's id pattern: [A-Za-z0-9._-].
func isIdentifier(_ text: String) -> Bool {
    for byte in text.utf8 {
        let ok = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2E || byte == 0x5F || byte == 0x2D
        if !ok { return false }
    }
    return true
}
