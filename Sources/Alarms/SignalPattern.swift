// IEC 60601-1-8 auditory alarm signal patterns, as pure data: a priority and its timing in,
// the burst as a list of on/off segments out. The buzzer player (module Hardware) plays these
// segments; nothing here touches a clock or a line.
//
// The ranges below are the standard's as secondary sources quote them; check them against
// the standard itself before the box claims compliance. `SignalStandard` holds them in code,
// `SignalTiming.validate()` refuses a board profile outside them.
//
//                                  high                medium        low
//   pulses per burst               10 (two groups of 5) 3            1 or 2
//   pulse duration t_d             75-200 ms           125-250 ms    125-250 ms
//   spacing x between pulses       50-125 ms           125-250 ms    125-250 ms
//   gap from pulse 5 to pulse 6    0.35-1.30 s         -             -
//   interburst interval            2.5-15 s            2.5-30 s      more than 15 s
//
// Inside each group of five high-priority pulses the third gap is longer, 2x + t_d, which
// gives the rhythm "c c c - c c" (`BurstTiming.rhythmGapMilliseconds`). The standard also
// wants a pulse rise time of 10-20 % of t_d: that is the sounder's business (a GPIO line is
// on or off), not this table's.

// AlarmPriority (low < medium < high) is the alarm engine's, in AlarmTypes.swift.

/// An inclusive range in milliseconds; `upper == nil` means no upper bound.
public struct MillisecondRange: Equatable, Sendable, CustomStringConvertible {
    public var lower: Int
    public var upper: Int?

    public init(_ lower: Int, _ upper: Int?) {
        self.lower = lower
        self.upper = upper
    }

    public func contains(_ value: Int) -> Bool {
        if value < lower { return false }
        if let upper, value > upper { return false }
        return true
    }

    public var description: String {
        if let upper { return "\(lower)...\(upper) ms" }
        return ">= \(lower) ms"
    }
}

/// The timing of one priority's burst. The interburst interval is counted from the end of
/// the burst's last pulse to the start of the next burst's first pulse.
public struct BurstTiming: Equatable, Sendable {
    /// Pulse duration t_d.
    public var pulseMilliseconds: Int
    /// Spacing x between the end of one pulse and the start of the next.
    public var spacingMilliseconds: Int
    /// High only: the gap between pulse 5 and pulse 6. Ignored for medium and low.
    public var groupGapMilliseconds: Int
    /// End of the last pulse to the start of the next burst.
    public var interburstMilliseconds: Int
    /// Pulses per burst: 10 for high, 3 for medium, 1 or 2 for low.
    public var pulseCount: Int

    public init(pulseMilliseconds: Int, spacingMilliseconds: Int, groupGapMilliseconds: Int = 0,
                interburstMilliseconds: Int, pulseCount: Int) {
        self.pulseMilliseconds = pulseMilliseconds
        self.spacingMilliseconds = spacingMilliseconds
        self.groupGapMilliseconds = groupGapMilliseconds
        self.interburstMilliseconds = interburstMilliseconds
        self.pulseCount = pulseCount
    }

    /// The "c c c – c c" gap: the third gap of each group of five high-priority pulses,
    /// 2x + t_d (as if the fourth pulse were one place later).
    public var rhythmGapMilliseconds: Int { 2 * spacingMilliseconds + pulseMilliseconds }
}

/// One field of a timing outside the standard's range.
public struct SignalTimingViolation: Equatable, Sendable, CustomStringConvertible {
    public var priority: AlarmPriority
    /// The field's name, e.g. "pulseMilliseconds".
    public var field: String
    public var value: Int
    public var allowed: MillisecondRange

    public var description: String {
        if field == "pulseCount" {
            let upper = allowed.upper.map { "...\($0)" } ?? "+"
            return "\(priority.name) \(field) \(value) outside \(allowed.lower)\(upper)"
        }
        return "\(priority.name) \(field) \(value) ms outside \(allowed)"
    }
}

/// Thrown by `SignalTiming.validate()`, naming every value outside its range.
public struct SignalTimingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var violations: [SignalTimingViolation]

    public var description: String {
        var text = "alarm signal timing outside IEC 60601-1-8 ranges:"
        for violation in violations { text += " \(violation.description);" }
        return text
    }
}

/// The IEC 60601-1-8 ranges of the table at the top of this file.
public enum SignalStandard {
    public static func pulseRange(_ priority: AlarmPriority) -> MillisecondRange {
        priority == .high ? MillisecondRange(75, 200) : MillisecondRange(125, 250)
    }

    public static func spacingRange(_ priority: AlarmPriority) -> MillisecondRange {
        priority == .high ? MillisecondRange(50, 125) : MillisecondRange(125, 250)
    }

    /// High only: pulse 5 to pulse 6.
    public static let groupGapRange = MillisecondRange(350, 1300)

    /// Low is "> 15 s": 15 001 ms and up.
    public static func interburstRange(_ priority: AlarmPriority) -> MillisecondRange {
        switch priority {
        case .high: return MillisecondRange(2500, 15000)
        case .medium: return MillisecondRange(2500, 30000)
        case .low: return MillisecondRange(15001, nil)
        }
    }

    public static func pulseCountRange(_ priority: AlarmPriority) -> MillisecondRange {
        switch priority {
        case .high: return MillisecondRange(10, 10)
        case .medium: return MillisecondRange(3, 3)
        case .low: return MillisecondRange(1, 2)
        }
    }
}

/// The timing of all three priorities. The board profile supplies it; the defaults sit
/// inside the standard's ranges.
public struct SignalTiming: Equatable, Sendable {
    public var high: BurstTiming
    public var medium: BurstTiming
    public var low: BurstTiming

    public init(high: BurstTiming = SignalTiming.defaultHigh,
                medium: BurstTiming = SignalTiming.defaultMedium,
                low: BurstTiming = SignalTiming.defaultLow) {
        self.high = high
        self.medium = medium
        self.low = low
    }

    public static let defaultHigh = BurstTiming(pulseMilliseconds: 150, spacingMilliseconds: 100,
                                                groupGapMilliseconds: 500, interburstMilliseconds: 5000,
                                                pulseCount: 10)
    public static let defaultMedium = BurstTiming(pulseMilliseconds: 200, spacingMilliseconds: 200,
                                                  interburstMilliseconds: 7000, pulseCount: 3)
    public static let defaultLow = BurstTiming(pulseMilliseconds: 200, spacingMilliseconds: 200,
                                               interburstMilliseconds: 16000, pulseCount: 2)

    public subscript(priority: AlarmPriority) -> BurstTiming {
        get {
            switch priority {
            case .high: return high
            case .medium: return medium
            case .low: return low
            }
        }
        set {
            switch priority {
            case .high: high = newValue
            case .medium: medium = newValue
            case .low: low = newValue
            }
        }
    }

    /// Every value outside the standard's range, in a stable order (high, medium, low).
    public func violations() -> [SignalTimingViolation] {
        var found: [SignalTimingViolation] = []
        for priority in [AlarmPriority.high, .medium, .low] {
            let timing = self[priority]
            func check(_ field: String, _ value: Int, _ range: MillisecondRange) {
                if !range.contains(value) {
                    found.append(SignalTimingViolation(priority: priority, field: field, value: value, allowed: range))
                }
            }
            check("pulseCount", timing.pulseCount, SignalStandard.pulseCountRange(priority))
            check("pulseMilliseconds", timing.pulseMilliseconds, SignalStandard.pulseRange(priority))
            if priority == .high || timing.pulseCount > 1 {
                check("spacingMilliseconds", timing.spacingMilliseconds, SignalStandard.spacingRange(priority))
            }
            if priority == .high {
                check("groupGapMilliseconds", timing.groupGapMilliseconds, SignalStandard.groupGapRange)
            }
            check("interburstMilliseconds", timing.interburstMilliseconds, SignalStandard.interburstRange(priority))
        }
        return found
    }

    public func validate() throws(SignalTimingError) {
        let found = violations()
        if !found.isEmpty { throw SignalTimingError(violations: found) }
    }
}

/// One stretch of constant level on the buzzer line.
public struct SignalSegment: Equatable, Sendable, CustomStringConvertible {
    public var on: Bool
    public var milliseconds: Int

    public init(on: Bool, milliseconds: Int) {
        self.on = on
        self.milliseconds = milliseconds
    }

    public var description: String { "\(on ? "on" : "off") \(milliseconds)" }
}

/// Builds bursts. A burst starts with the first pulse's rising edge and ends with the
/// interburst silence, so playing bursts back to back repeats the signal.
public enum SignalPattern {
    /// The burst of `priority` under `timing`: alternating on/off segments, the last one the
    /// interburst interval. High: 5 + 5 pulses, each group "c c c – c c" (third gap 2x + t_d),
    /// the groups `groupGapMilliseconds` apart. Medium: 3 pulses. Low: `pulseCount` (1 or 2).
    /// The pulse count is clamped to the standard's (high 10, medium 3, low 1...2).
    public static func burst(_ priority: AlarmPriority, timing: SignalTiming = SignalTiming()) -> [SignalSegment] {
        let t = timing[priority]
        let range = SignalStandard.pulseCountRange(priority)
        let count = min(max(t.pulseCount, range.lower), range.upper ?? range.lower)
        var segments: [SignalSegment] = []
        segments.reserveCapacity(2 * count)
        for index in 0..<count {
            segments.append(SignalSegment(on: true, milliseconds: t.pulseMilliseconds))
            let isLast = index == count - 1
            let gap: Int
            if isLast {
                gap = t.interburstMilliseconds
            } else if priority == .high {
                // index within the group of five: gaps after pulse 1, 2, 3, 4 of a group.
                let inGroup = index % 5
                if inGroup == 4 {
                    gap = t.groupGapMilliseconds
                } else if inGroup == 2 {
                    gap = t.rhythmGapMilliseconds
                } else {
                    gap = t.spacingMilliseconds
                }
            } else {
                gap = t.spacingMilliseconds
            }
            segments.append(SignalSegment(on: false, milliseconds: gap))
        }
        return segments
    }

    /// Milliseconds from the first rising edge to the end of the interburst interval.
    public static func cycleMilliseconds(_ priority: AlarmPriority, timing: SignalTiming = SignalTiming()) -> Int {
        var total = 0
        for segment in burst(priority, timing: timing) { total += segment.milliseconds }
        return total
    }
}
