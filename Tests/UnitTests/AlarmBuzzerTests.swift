import Alarms
@testable import Gateway
import Hardware
import Testing

/// The alarm engine's priorities as the buzzer player's plain levels: the same bursts as
/// `SignalPattern`, in the order that keeps "a higher priority cuts in at once".
struct AlarmBuzzerTests {
    @Test func eachLevelPlaysItsPrioritysBurst() {
        let timing = SignalTiming()
        let patterns = AlarmBuzzer.patterns(timing)
        #expect(patterns.levels.count == 3)
        for priority in [AlarmPriority.low, .medium, .high] {
            let level = AlarmBuzzer.level(priority)!
            let burst = patterns.levels[level]
            let expected = SignalPattern.burst(priority, timing: timing).map { BuzzerStep(on: $0.on, milliseconds: $0.milliseconds) }
            #expect(burst.steps == expected, "\(priority.name)")
            #expect(burst.cutInGapMilliseconds == timing[priority].spacingMilliseconds)
            #expect(AlarmBuzzer.priority(level) == priority)
        }
    }

    @Test func higherPrioritiesAreHigherLevels() {
        #expect(AlarmBuzzer.level(.low)! < AlarmBuzzer.level(.medium)!)
        #expect(AlarmBuzzer.level(.medium)! < AlarmBuzzer.level(.high)!)
        #expect(AlarmBuzzer.level(nil) == nil)
        #expect(AlarmBuzzer.priority(nil) == nil && AlarmBuzzer.priority(3) == nil)
    }
}
