import Alarms
import Hardware
import Platform

/// The buzzer as the alarm engine sees it: IEC 60601-1-8 priorities and their signal timing,
/// played by the Hardware module's `BuzzerPlayer`, which only knows levels of plain on/off
/// steps. Level i plays `AlarmBuzzer.priorities[i]`, so a higher priority is a higher level
/// and keeps the player's switching rules (cut in at once upwards, at a burst boundary downwards).
public final class AlarmBuzzer: Sendable {
    /// Least urgent first: the player's level order.
    static let priorities: [AlarmPriority] = [.low, .medium, .high]

    private let player: BuzzerPlayer

    /// - Parameters: as `BuzzerPlayer`'s; `timing` is validated before (`SignalTiming.validate()`).
    public init(output: any GPIOOutputLine, timing: SignalTiming = SignalTiming(),
                idleWakeMilliseconds: Int = 1000, slipMilliseconds: Int = 20,
                realtimePriority: Int? = nil, heartbeat: (() -> Void)? = nil) {
        player = BuzzerPlayer(output: output, patterns: Self.patterns(timing), idleWakeMilliseconds: idleWakeMilliseconds,
                              slipMilliseconds: slipMilliseconds, realtimePriority: realtimePriority, heartbeat: heartbeat)
    }

    /// Each priority's burst as on/off steps; cutting in on an active line waits one pulse
    /// spacing of the new priority, so the old and new pulses stay distinct edges.
    static func patterns(_ timing: SignalTiming) -> BuzzerPatterns {
        var levels: [BuzzerBurst] = []
        for priority in priorities {
            var steps: [BuzzerStep] = []
            for segment in SignalPattern.burst(priority, timing: timing) {
                steps.append(BuzzerStep(on: segment.on, milliseconds: segment.milliseconds))
            }
            levels.append(BuzzerBurst(steps: steps, cutInGapMilliseconds: timing[priority].spacingMilliseconds))
        }
        return BuzzerPatterns(levels: levels)
    }

    static func level(_ priority: AlarmPriority?) -> Int? {
        guard let priority else { return nil }
        return priorities.firstIndex(of: priority)
    }

    static func priority(_ level: Int?) -> AlarmPriority? {
        guard let level, priorities.indices.contains(level) else { return nil }
        return priorities[level]
    }

    public func start() throws(SystemError) { try player.start() }

    /// Silences the line and joins the player's thread.
    public func stop() { player.stop() }

    /// The priority whose pattern should sound, or nil for silence. Cheap; any thread.
    public func request(_ priority: AlarmPriority?) { player.request(Self.level(priority)) }

    /// What the player sounds now (after its switching rules).
    public var playing: AlarmPriority? { Self.priority(player.playing) }

    /// How many writes to the line failed.
    public var errorCount: Int { player.errorCount }
}
