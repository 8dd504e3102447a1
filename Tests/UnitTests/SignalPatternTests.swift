import Testing
@testable import Alarms

/// IEC 60601-1-8 burst patterns (the table in SignalPattern.swift), checked segment by segment.
struct SignalPatternTests {
    static let priorities: [AlarmPriority] = [.high, .medium, .low]

    func pulses(_ burst: [SignalSegment]) -> [Int] { burst.filter { $0.on }.map { $0.milliseconds } }
    func gaps(_ burst: [SignalSegment]) -> [Int] { burst.filter { !$0.on }.map { $0.milliseconds } }

    @Test func defaultsAreInsideTheStandardsRanges() throws {
        let timing = SignalTiming()
        #expect(timing.violations().isEmpty)
        try timing.validate()
    }

    @Test func segmentsAlternateStartingWithAPulseAndEndingWithTheInterburst() {
        let timing = SignalTiming()
        for priority in Self.priorities {
            let burst = SignalPattern.burst(priority, timing: timing)
            for (index, segment) in burst.enumerated() { #expect(segment.on == (index % 2 == 0)) }
            #expect(burst.last == SignalSegment(on: false, milliseconds: timing[priority].interburstMilliseconds))
            #expect(burst.allSatisfy { $0.milliseconds > 0 })
        }
    }

    @Test func highIsTenPulsesAsFivePlusFiveInTheCCCgapCCRhythm() {
        let timing = SignalTiming()
        let t = timing.high
        let burst = SignalPattern.burst(.high, timing: timing)
        #expect(pulses(burst).count == 10)
        #expect(pulses(burst).allSatisfy { $0 == t.pulseMilliseconds && SignalStandard.pulseRange(.high).contains($0) })
        let rhythm = 2 * t.spacingMilliseconds + t.pulseMilliseconds
        let x = t.spacingMilliseconds
        // gaps after pulses 1...10: c c c – c c | c c c – c c, then the interburst.
        #expect(gaps(burst) == [x, x, rhythm, x, t.groupGapMilliseconds, x, x, rhythm, x, t.interburstMilliseconds])
        #expect(SignalStandard.spacingRange(.high).contains(x))
        #expect(SignalStandard.groupGapRange.contains(t.groupGapMilliseconds))
        #expect(SignalStandard.interburstRange(.high).contains(t.interburstMilliseconds))
        #expect(rhythm > x)
    }

    @Test func mediumIsThreePulses() {
        let timing = SignalTiming()
        let t = timing.medium
        let burst = SignalPattern.burst(.medium, timing: timing)
        #expect(pulses(burst) == [t.pulseMilliseconds, t.pulseMilliseconds, t.pulseMilliseconds])
        #expect(gaps(burst) == [t.spacingMilliseconds, t.spacingMilliseconds, t.interburstMilliseconds])
        #expect(SignalStandard.pulseRange(.medium).contains(t.pulseMilliseconds))
        #expect(SignalStandard.spacingRange(.medium).contains(t.spacingMilliseconds))
        #expect((2500...30000).contains(t.interburstMilliseconds))
    }

    @Test(arguments: [1, 2])
    func lowIsOneOrTwoPulses(count: Int) {
        var timing = SignalTiming()
        timing.low.pulseCount = count
        let t = timing.low
        let burst = SignalPattern.burst(.low, timing: timing)
        #expect(pulses(burst) == Array(repeating: t.pulseMilliseconds, count: count))
        #expect(gaps(burst) == (count == 2 ? [t.spacingMilliseconds, t.interburstMilliseconds] : [t.interburstMilliseconds]))
        #expect((125...250).contains(t.pulseMilliseconds))
        #expect(t.interburstMilliseconds > 15000)
        #expect(timing.violations().isEmpty)
    }

    @Test func everyDurationOfEveryPriorityIsInsideTheStandardsTable() {
        // The standard's ranges written out again here, independent of SignalStandard.
        let timing = SignalTiming()
        let table: [(AlarmPriority, pulse: ClosedRange<Int>, spacing: ClosedRange<Int>, count: ClosedRange<Int>)] = [
            (.high, 75...200, 50...125, 10...10), (.medium, 125...250, 125...250, 3...3), (.low, 125...250, 125...250, 1...2),
        ]
        for (priority, pulse, spacing, count) in table {
            let burst = SignalPattern.burst(priority, timing: timing)
            #expect(count.contains(pulses(burst).count), "\(priority)")
            #expect(pulses(burst).allSatisfy { pulse.contains($0) }, "\(priority)")
            let inner = gaps(burst).dropLast()
            let t = timing[priority]
            for gap in inner {
                if priority == .high {
                    #expect(spacing.contains(gap) || gap == 2 * t.spacingMilliseconds + t.pulseMilliseconds
                            || (350...1300).contains(gap))
                } else {
                    #expect(spacing.contains(gap))
                }
            }
        }
        #expect((2500...15000).contains(timing.high.interburstMilliseconds))
        #expect(SignalPattern.cycleMilliseconds(.high, timing: timing)
                == 10 * 150 + 6 * 100 + 2 * 350 + 500 + 5000)
    }

    @Test func validationNamesEveryValueOutsideItsRange() {
        var timing = SignalTiming()
        timing.high.pulseMilliseconds = 250
        timing.high.groupGapMilliseconds = 200
        timing.medium.interburstMilliseconds = 31000
        timing.low.interburstMilliseconds = 15000
        timing.low.pulseCount = 3
        let found = timing.violations()
        #expect(found.map { "\($0.priority.name).\($0.field)" } == [
            "high.pulseMilliseconds", "high.groupGapMilliseconds", "medium.interburstMilliseconds",
            "low.pulseCount", "low.interburstMilliseconds",
        ])
        #expect(found[0].description == "high pulseMilliseconds 250 ms outside 75...200 ms")
        #expect(found[4].description == "low interburstMilliseconds 15000 ms outside >= 15001 ms")
        #expect(throws: SignalTimingError.self) { try timing.validate() }
        do {
            try timing.validate()
        } catch {
            #expect(error.description.contains("high pulseMilliseconds 250"))
            #expect(error.description.contains("medium interburstMilliseconds 31000"))
        }
    }

    @Test func rangeEdgesAreAccepted() {
        var timing = SignalTiming()
        timing.high = BurstTiming(pulseMilliseconds: 75, spacingMilliseconds: 125, groupGapMilliseconds: 1300,
                                  interburstMilliseconds: 2500, pulseCount: 10)
        timing.medium = BurstTiming(pulseMilliseconds: 250, spacingMilliseconds: 125, interburstMilliseconds: 30000, pulseCount: 3)
        timing.low = BurstTiming(pulseMilliseconds: 125, spacingMilliseconds: 250, interburstMilliseconds: 15001, pulseCount: 1)
        #expect(timing.violations().isEmpty)
        timing.high.spacingMilliseconds = 49
        #expect(timing.violations().map { $0.field } == ["spacingMilliseconds"])
    }
}
