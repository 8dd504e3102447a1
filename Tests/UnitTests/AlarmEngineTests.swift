import Testing
@testable import Alarms

/// Drives an engine with one clock: monotonic ms `t`, wall clock = base + t.
struct AlarmRig {
    static let wallBase: Int64 = 1_795_000_000_000 // 2026-11-18
    var engine = AlarmEngine()
    var t: Int64 = 0
    var events: [AlarmEvent] = []
    let bed = "chair-1"

    var wall: Int64 { AlarmRig.wallBase + t }

    @discardableResult
    mutating func observe(_ point: String, _ value: Double?, _ quality: AlarmInputQuality = .ok,
                          device: String = "monitor-1", bed: String? = nil) -> [AlarmEvent] {
        let new = engine.observe(bed: bed ?? self.bed, [AlarmObservation(point: point, device: device, value: value, quality: quality)],
                                 monotonicMilliseconds: t, wallClockMilliseconds: wall)
        events += new
        return new
    }

    @discardableResult
    mutating func advance(to time: Int64) -> [AlarmEvent] {
        t = time
        let new = engine.tick(monotonicMilliseconds: t, wallClockMilliseconds: wall)
        events += new
        return new
    }

    @discardableResult
    mutating func acknowledge(_ alarm: String? = nil, bed: String? = nil) throws(AlarmCommandError) -> [AlarmEvent] {
        let new = try engine.acknowledge(bed: bed ?? self.bed, alarm: alarm, monotonicMilliseconds: t, wallClockMilliseconds: wall)
        events += new
        return new
    }

    @discardableResult
    mutating func pause() -> [AlarmEvent] {
        let new = engine.pauseAudio(monotonicMilliseconds: t, wallClockMilliseconds: wall)
        events += new
        return new
    }

    @discardableResult
    mutating func device(_ device: String, role: DeviceRole, answering: Bool) -> [AlarmEvent] {
        let new = engine.deviceState(bed: bed, device: device, role: role, answering: answering,
                                     monotonicMilliseconds: t, wallClockMilliseconds: wall)
        events += new
        return new
    }

    var sound: AlarmPriority? { engine.audibleSignal(now: t) }
    var active: [ActiveAlarm] { engine.activeAlarms(bed: bed) }
    func conditions(_ events: [AlarmEvent]) -> [String] { events.map { "\($0.type.name) \($0.condition) \($0.priority.name)" } }
}

struct AlarmEngineTests {
    @Test func pendingBecomesActiveAfterTheDelay() {
        var rig = AlarmRig()
        #expect(rig.observe("heart_rate", 130).isEmpty) // hr-high has a 1 s delay
        #expect(rig.active.isEmpty)
        #expect(rig.sound == nil)
        rig.t = 500
        #expect(rig.observe("heart_rate", 131).isEmpty) // still within the delay
        #expect(rig.advance(to: 999).isEmpty)
        let started = rig.advance(to: 1000)
        #expect(rig.conditions(started) == ["start hr-high medium"])
        #expect(started[0].alarm == "chair-1.hr-high.1")
        #expect(started[0].kind == .physiological)
        #expect(rig.sound == .medium)
    }

    /// The alarm thread keeps the engine's answers while `revision` stands still and asks
    /// again at `nextDeadline`: values that change nothing must leave it alone, and everything
    /// that changes an answer must move it.
    @Test func revisionMovesExactlyWhenAnAnswerMayChange() throws {
        var rig = AlarmRig()
        rig.observe("heart_rate", 70)
        var seen = rig.engine.revision
        for value in [71.0, 72, 70] {
            rig.observe("heart_rate", value)
            rig.observe("r00", value) // a point no rule watches
        }
        #expect(rig.engine.revision == seen)
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall) == nil)

        rig.observe("heart_rate", 130) // pending: a deadline appears
        #expect(rig.engine.revision != seen)
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall) == 1000)
        seen = rig.engine.revision
        rig.advance(to: 1000) // the delay runs out: the alarm starts and sounds
        #expect(rig.engine.revision != seen)
        #expect(rig.sound == .medium)
        #expect(rig.engine.activeAlarmCount == 1)

        seen = rig.engine.revision
        try rig.acknowledge()
        #expect(rig.engine.revision != seen)
        seen = rig.engine.revision
        rig.pause()
        #expect(rig.engine.revision != seen)
        seen = rig.engine.revision
        rig.device("monitor-1", role: .monitor, answering: false)
        #expect(rig.engine.revision != seen)
        #expect(rig.engine.activeAlarmCount == rig.active.count)
    }

    @Test func observationAfterTheDelayAlsoStartsIt() {
        var rig = AlarmRig()
        rig.observe("respiratory_rate", 35)
        rig.t = 1000
        #expect(rig.conditions(rig.observe("respiratory_rate", 36)) == ["start rr-high medium"])
    }

    @Test func clearingWithinTheDelayRaisesNothing() {
        var rig = AlarmRig()
        rig.observe("heart_rate", 40)
        rig.t = 500
        #expect(rig.observe("heart_rate", 70).isEmpty)
        #expect(rig.advance(to: 5000).isEmpty)
        #expect(rig.events.isEmpty)
        #expect(rig.sound == nil)
    }

    @Test func mediumAlarmEndsWhenTheConditionClears() {
        var rig = AlarmRig()
        rig.observe("nibp_systolic", 170) // NIBP: no delay
        #expect(rig.active.count == 1)
        rig.t = 30_000
        let ended = rig.observe("nibp_systolic", 150)
        #expect(rig.conditions(ended) == ["end nibp-sys-high medium"])
        #expect(ended[0].alarm == rig.events[0].alarm)
        #expect(rig.active.isEmpty)
        #expect(rig.sound == nil)
    }

    @Test func valuesAtTheLimitDoNotAlarm() {
        var rig = AlarmRig()
        rig.observe("spo2", 90)
        rig.observe("nibp_diastolic", 90)
        rig.observe("etco2", 15)
        rig.advance(to: 5000)
        #expect(rig.events.isEmpty)
    }

    @Test func highAlarmLatchesUntilAcknowledged() throws {
        var rig = AlarmRig()
        #expect(rig.conditions(rig.observe("spo2", 88)) == ["start spo2-low high"])
        rig.t = 10_000
        #expect(rig.observe("spo2", 96).isEmpty) // condition gone, alarm latched
        #expect(rig.active.count == 1)
        #expect(rig.active[0].conditionPresent == false)
        #expect(rig.sound == .high)
        rig.advance(to: 60_000)
        #expect(rig.sound == .high)
        let acked = try rig.acknowledge()
        #expect(rig.conditions(acked) == ["acknowledge spo2-low high", "end spo2-low high"])
        #expect(rig.active.isEmpty)
        #expect(rig.sound == nil)
    }

    @Test func acknowledgedActiveHighStopsSoundButStaysListed() throws {
        var rig = AlarmRig()
        rig.observe("spo2", 84)
        #expect(rig.conditions(rig.events) == ["start spo2-low high", "start spo2-desat high"])
        let desat = rig.events[1].alarm
        rig.t = 2000
        #expect(rig.conditions(try rig.acknowledge(desat)) == ["acknowledge spo2-desat high"])
        #expect(rig.sound == .high) // spo2-low still unacknowledged
        try rig.acknowledge(rig.events[0].alarm)
        #expect(rig.sound == nil)
        #expect(rig.active.count == 2)
        #expect(rig.active.allSatisfy { $0.acknowledged })
        rig.t = 3000
        #expect(rig.conditions(rig.observe("spo2", 87)) == ["end spo2-desat high"])
        rig.t = 4000
        #expect(rig.conditions(rig.observe("spo2", 95)) == ["end spo2-low high"])
        #expect(rig.active.isEmpty)
    }

    @Test func acknowledgeAllOfABedAndUnknownIDs() throws {
        var rig = AlarmRig()
        rig.observe("nibp_mean", 50)
        rig.observe("nibp_diastolic", 40)
        #expect(try rig.acknowledge().count == 2)
        #expect(try rig.acknowledge().isEmpty) // already acknowledged
        #expect(throws: AlarmCommandError.unknownAlarm("chair-1.nope.1")) { try rig.acknowledge("chair-1.nope.1") }
        #expect(throws: AlarmCommandError.unknownBed("chair-9")) { try rig.acknowledge(bed: "chair-9") }
    }

    @Test func unacknowledgedMediumEscalatesToHigh() {
        var rig = AlarmRig()
        rig.observe("nibp_systolic", 80)
        rig.advance(to: 59_999)
        #expect(rig.sound == .medium)
        let escalated = rig.advance(to: 60_000)
        #expect(rig.conditions(escalated) == ["escalate nibp-sys-low high"])
        #expect(escalated[0].alarm == rig.events[0].alarm)
        #expect(rig.sound == .high)
        #expect(rig.active[0].priority == .high)
        // Now high: it latches like any high alarm.
        rig.t = 61_000
        #expect(rig.observe("nibp_systolic", 120).isEmpty)
        #expect(rig.sound == .high)
    }

    @Test func escalationTimeIsConfigurableAndAcknowledgedMediumDoesNotEscalate() throws {
        var rig = AlarmRig()
        var settings = BedAlarmSettings()
        settings.escalateAfterMilliseconds = 10_000
        _ = try rig.engine.configure(bed: "chair-1", settings: settings, monotonicMilliseconds: 0, wallClockMilliseconds: rig.wall)
        rig.observe("nibp_mean", 120)
        rig.observe("nibp_diastolic", 95)
        try rig.acknowledge(rig.events[1].alarm)
        let escalated = rig.advance(to: 10_000)
        #expect(rig.conditions(escalated) == ["escalate nibp-mean-high high"])
        #expect(rig.advance(to: 100_000).isEmpty)
    }

    @Test func audioPauseSilencesForTwoMinutesThenSoundReturns() {
        var rig = AlarmRig()
        rig.observe("spo2", 88)
        rig.t = 1000
        let paused = rig.pause()
        #expect(rig.conditions(paused) == ["audio-paused audio-paused high"])
        #expect(rig.sound == nil)
        #expect(rig.engine.audioPausedUntil(now: rig.t) == rig.wall + 120_000)
        rig.advance(to: 120_999)
        #expect(rig.sound == nil)
        let resumed = rig.advance(to: 121_000)
        #expect(rig.conditions(resumed) == ["audio-resumed audio-paused high"])
        #expect(rig.sound == .high)
        #expect(rig.engine.audioPausedUntil(now: rig.t) == nil)
    }

    @Test func pauseExpiresSilentlyWhenTheConditionIsGone() throws {
        var rig = AlarmRig()
        rig.observe("nibp_systolic", 170)
        rig.pause()
        rig.t = 5000
        rig.observe("nibp_systolic", 130)
        rig.advance(to: 120_000)
        #expect(rig.sound == nil)
    }

    @Test func higherPriorityNewcomerSoundsDuringPause() {
        var rig = AlarmRig()
        rig.observe("nibp_systolic", 170) // medium
        rig.pause()
        #expect(rig.sound == nil)
        rig.t = 10_000
        rig.observe("spo2", 88) // high: higher than anything active at the pause
        #expect(rig.sound == .high)
    }

    @Test func sameOrLowerPriorityNewcomerStaysSilentDuringPause() throws {
        var rig = AlarmRig()
        var slow = BedAlarmSettings()
        slow.escalateAfterMilliseconds = 1_000_000 // keep escalation out of this test
        _ = try rig.engine.configure(bed: rig.bed, settings: slow, monotonicMilliseconds: 0, wallClockMilliseconds: rig.wall)
        rig.observe("nibp_systolic", 170) // medium
        rig.pause()
        rig.t = 10_000
        rig.observe("nibp_diastolic", 95) // medium: same
        rig.observe("nibp_time", Double((rig.wall - 400_000) / 1000)) // nibp-stale: low
        #expect(rig.active.count == 3)
        #expect(rig.sound == nil)
        rig.advance(to: 120_000)
        #expect(rig.sound == .medium)
    }

    @Test func pauseWithHighActiveHoldsBackAnotherHigh() {
        var rig = AlarmRig()
        rig.observe("spo2", 88)
        rig.pause()
        rig.t = 5000
        rig.device("monitor-2", role: .monitor, answering: false)
        rig.observe("spo2", 80) // desat: high, not higher than high
        #expect(rig.sound == nil)
    }

    @Test func escalationDuringPauseBreaksThroughAMediumCeiling() {
        var rig = AlarmRig()
        rig.observe("nibp_systolic", 170)
        rig.t = 30_000
        rig.pause()
        rig.advance(to: 60_000)
        #expect(rig.sound == .high)
    }

    @Test func monitorCommLossIsATechnicalMediumAlarm() {
        var rig = AlarmRig()
        let lost = rig.device("monitor-1", role: .monitor, answering: false)
        #expect(rig.conditions(lost) == ["start comm-loss-monitor-1 medium"])
        #expect(lost[0].kind == .technical)
        #expect(rig.sound == .medium)
        // Values of a silent device end physiological alarms instead of raising them.
        rig.observe("spo2", nil, .commLoss)
        #expect(rig.active.count == 1)
        rig.t = 5000
        #expect(rig.conditions(rig.device("monitor-1", role: .monitor, answering: true)) == ["end comm-loss-monitor-1 medium"])
        #expect(rig.conditions(rig.device("pump-1", role: .pump, answering: false)) == ["start comm-loss-pump-1 low"])
    }

    @Test func commLossEndsAMediumPhysiologicalAlarmButKeepsAHighLatched() {
        var rig = AlarmRig()
        rig.observe("spo2", 88)
        rig.observe("nibp_systolic", 170)
        rig.t = 1000
        let ended = rig.engine.observe(bed: rig.bed, [
            AlarmObservation(point: "spo2", device: "monitor-1", value: nil, quality: .commLoss),
            AlarmObservation(point: "nibp_systolic", device: "monitor-1", value: nil, quality: .commLoss),
        ], monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall)
        #expect(rig.conditions(ended) == ["end nibp-sys-high medium"])
        #expect(rig.active.map { $0.condition } == ["spo2-low"])
        #expect(rig.sound == .high)
    }

    @Test func sensorOffIsTechnicalAndSuppressesLimits() {
        var rig = AlarmRig()
        rig.observe("spo2", 0, .sensorOff)
        #expect(rig.events.isEmpty) // 1 s delay, and 0 % is not a patient value
        rig.t = 1000
        let started = rig.observe("spo2", 0, .sensorOff)
        #expect(rig.conditions(started) == ["start sensor-off-spo2 medium"])
        #expect(started[0].kind == .technical)
        rig.t = 2000
        #expect(rig.conditions(rig.observe("spo2", 97)) == ["end sensor-off-spo2 medium"])
        rig.observe("heart_rate", nil, .sensorOff)
        rig.advance(to: 3000)
        #expect(rig.active.map { "\($0.condition) \($0.priority.name)" } == ["sensor-off-heart_rate low"])
    }

    @Test func staleAndOutOfRangeValuesHoldTheConditions() {
        var rig = AlarmRig()
        rig.observe("spo2", 120, .outOfRange)
        rig.observe("spo2", 50, .stale)
        #expect(rig.events.isEmpty)
        rig.observe("nibp_systolic", 170)
        rig.t = 1000
        rig.observe("nibp_systolic", 400, .outOfRange)
        rig.observe("nibp_systolic", 120, .stale)
        #expect(rig.active.count == 1)
    }

    @Test func outOfRangeValuesRaiseATechnicalAlarmLikeSensorOff() {
        var rig = AlarmRig()
        rig.observe("spo2", 97)
        rig.observe("spo2", 250, .outOfRange)
        #expect(rig.events.isEmpty) // the sensor-off delay, 1 s
        #expect(rig.conditions(rig.advance(to: 999)).isEmpty)
        let started = rig.advance(to: 1000)
        #expect(rig.conditions(started) == ["start out-of-range-spo2 medium"])
        #expect(started[0].kind == .technical)
        // Comm loss and staleness say nothing about what the device sends: the alarm stays.
        rig.t = 2000
        #expect(rig.observe("spo2", nil, .commLoss).isEmpty)
        #expect(rig.observe("spo2", 60, .stale).isEmpty)
        #expect(rig.active.map { $0.condition } == ["out-of-range-spo2"])
        rig.t = 3000
        #expect(rig.conditions(rig.observe("spo2", 97)) == ["end out-of-range-spo2 medium"])
        // Other parameters: the other sensor-off priority; gone within the delay, nothing.
        rig.observe("heart_rate", 900, .outOfRange)
        rig.t = 3500
        #expect(rig.observe("heart_rate", 70).isEmpty)
        rig.observe("heart_rate", 900, .outOfRange)
        #expect(rig.conditions(rig.advance(to: 4500)) == ["start out-of-range-heart_rate low"])
        // A probe off replaces it: the value is no longer out of range, sensor-off follows.
        rig.t = 5000
        #expect(rig.conditions(rig.observe("heart_rate", 0, .sensorOff)) == ["end out-of-range-heart_rate low"])
    }

    @Test func outOfRangeOfAnUnwatchedPointRaisesNothing() throws {
        var rig = AlarmRig()
        var settings = BedAlarmSettings()
        for index in settings.limits.indices where settings.limits[index].point == "spo2" {
            settings.limits[index].enabled = false
        }
        try rig.engine.configure(bed: rig.bed, settings: settings, monotonicMilliseconds: 0, wallClockMilliseconds: rig.wall)
        rig.events = []
        rig.observe("spo2", 250, .outOfRange)
        rig.advance(to: 5000)
        #expect(rig.events.isEmpty)
    }

    @Test func nibpOlderThanFiveMinutesIsStale() {
        var rig = AlarmRig()
        let measured = Double(rig.wall / 1000)
        rig.observe("nibp_time", measured)
        #expect(rig.events.isEmpty)
        rig.advance(to: 300_000)
        #expect(rig.events.isEmpty)
        let stale = rig.advance(to: 301_000)
        #expect(rig.conditions(stale) == ["start nibp-stale low"])
        rig.t = 302_000
        #expect(rig.conditions(rig.observe("nibp_time", Double(rig.wall / 1000))) == ["end nibp-stale low"])
    }

    @Test func noNIBPYetIsStaleFiveMinutesAfterFirstSight() {
        var rig = AlarmRig()
        rig.observe("nibp_time", 0)
        rig.advance(to: 300_000)
        #expect(rig.events.isEmpty)
        #expect(rig.conditions(rig.advance(to: 300_001)) == ["start nibp-stale low"])
    }

    /// Found by fuzz-device-profile: a measurement time whose milliseconds do not fit Int64
    /// trapped the alarm engine. Garbage is read as no measurement yet.
    @Test func anAbsurdNIBPTimeIsReadAsNoneYet() {
        var rig = AlarmRig()
        rig.observe("nibp_time", 1e300)
        rig.observe("nibp_time", .nan)
        rig.advance(to: 300_000)
        #expect(rig.events.isEmpty)
        #expect(rig.conditions(rig.advance(to: 300_001)) == ["start nibp-stale low"])
    }

    @Test func aPumpStatusNoIntegerHoldsChangesNothing() {
        var rig = AlarmRig()
        #expect(rig.observe("pump_status", 1e300, device: "pump-1").isEmpty)
        #expect(rig.observe("pump_status", .nan, device: "pump-1").isEmpty)
        #expect(rig.conditions(rig.observe("pump_status", 1, device: "pump-1")) == ["start pump-occlusion-pump-1 medium"])
    }

    @Test func pumpOcclusionAndAirInLine() {
        var rig = AlarmRig()
        #expect(rig.observe("pump_status", 0, device: "pump-1").isEmpty)
        #expect(rig.conditions(rig.observe("pump_status", 1, device: "pump-1")) == ["start pump-occlusion-pump-1 medium"])
        rig.t = 1000
        #expect(rig.conditions(rig.observe("pump_status", 2, device: "pump-1"))
                == ["end pump-occlusion-pump-1 medium", "start pump-air-in-line-pump-1 medium"])
        #expect(rig.active.allSatisfy { $0.kind == .technical })
        // Battery low (bit 3) is status, not an alarm.
        rig.t = 2000
        #expect(rig.conditions(rig.observe("pump_status", 8, device: "pump-1")) == ["end pump-air-in-line-pump-1 medium"])
    }

    @Test func repeatedLoopOverrunsRaiseAnAgentFaultOnEveryBed() {
        var rig = AlarmRig()
        rig.observe("spo2", 97)
        rig.observe("spo2", 97, bed: "chair-2")
        let raised = rig.engine.agentFault("loop-overrun", present: true, monotonicMilliseconds: 0, wallClockMilliseconds: rig.wall)
        #expect(raised.map { "\($0.bed) \($0.condition) \($0.priority.name) \($0.kind.name)" }
                == ["chair-1 agent-loop-overrun medium technical", "chair-2 agent-loop-overrun medium technical"])
        let cleared = rig.engine.agentFault("loop-overrun", present: false, beds: ["chair-2"], monotonicMilliseconds: 1,
                                            wallClockMilliseconds: rig.wall)
        #expect(cleared.map { "\($0.bed) \($0.type.name)" } == ["chair-2 end"])
    }

    @Test func perBedLimitOverrideAndLimitChangeEvent() throws {
        var rig = AlarmRig()
        var settings = BedAlarmSettings()
        settings.setLimit(LimitRule(condition: "spo2-low", point: "spo2", .below, 92, priority: .high, delayMilliseconds: 0))
        let changed = try rig.engine.configure(bed: "chair-1", settings: settings, monotonicMilliseconds: 0,
                                               wallClockMilliseconds: rig.wall)
        #expect(changed.count == 1)
        #expect(changed[0].type == .limitChange)
        #expect(changed[0].condition == "spo2-low")
        #expect(changed[0].detail == "spo2 below 92 high delay 0ms")
        rig.observe("spo2", 91)
        #expect(rig.active.map { $0.condition } == ["spo2-low"])
        rig.observe("spo2", 91, bed: "chair-2") // other bed keeps the default 90
        #expect(rig.engine.activeAlarms(bed: "chair-2").isEmpty)
        // Configuring the same again changes nothing; raising the HR limit re-checks the last value.
        #expect(try rig.engine.configure(bed: "chair-1", settings: settings, monotonicMilliseconds: 0,
                                         wallClockMilliseconds: rig.wall).isEmpty)
        rig.observe("heart_rate", 125)
        rig.advance(to: 1000)
        settings.setLimit(LimitRule(condition: "hr-high", point: "heart_rate", .above, 130, priority: .medium, delayMilliseconds: 1000))
        rig.t = 2000
        let raised = try rig.engine.configure(bed: "chair-1", settings: settings, monotonicMilliseconds: rig.t,
                                              wallClockMilliseconds: rig.wall)
        #expect(rig.conditions(raised) == ["limit-change hr-high medium", "end hr-high medium"])
    }

    @Test func invalidSettingsAreRefused() {
        var settings = BedAlarmSettings()
        settings.setLimit(LimitRule(condition: "hr-low", point: "heart_rate", .below, 125, priority: .medium, delayMilliseconds: 0))
        #expect(throws: AlarmSettingsError.limitsCross("hr-low", "hr-high")) { try settings.validate() }
        settings = BedAlarmSettings()
        settings.setLimit(LimitRule(condition: "hr-low", point: "heart_rate", .below, 40, priority: .medium, delayMilliseconds: -1))
        #expect(throws: AlarmSettingsError.badDelay("hr-low")) { try settings.validate() }
        #expect(throws: Never.self) { try BedAlarmSettings().validate() }
    }

    @Test func limitsAreWrittenAsAFileWouldHoldThemAndNeverTrap() {
        #expect(formatLimit(90) == "90")
        #expect(formatLimit(37.25) == "37.25")
        #expect(formatLimit(-0.5) == "-0.5")
        #expect(formatLimit(0.0004) == "0")
        #expect(formatLimit(1e300) == "null", "Int64(value * 1000) would trap")
        #expect(formatLimit(-.infinity) == "null")
        #expect(formatLimit(.nan) == "null")
    }

    @Test func defaultLimitsMatchTheDesign() {
        let settings = BedAlarmSettings()
        func rule(_ name: String) -> String { settings.limit(name)?.summary ?? "missing" }
        #expect(rule("spo2-low") == "spo2 below 90 high delay 0ms")
        #expect(rule("spo2-desat") == "spo2 below 85 high delay 0ms")
        #expect(rule("pr-low") == "pulse_rate below 50 medium delay 1000ms")
        #expect(rule("hr-high") == "heart_rate above 120 medium delay 1000ms")
        #expect(rule("nibp-sys-low") == "nibp_systolic below 90 medium delay 0ms")
        #expect(rule("nibp-sys-high") == "nibp_systolic above 160 medium delay 0ms")
        #expect(rule("nibp-dia-low") == "nibp_diastolic below 50 medium delay 0ms")
        #expect(rule("nibp-dia-high") == "nibp_diastolic above 90 medium delay 0ms")
        #expect(rule("nibp-mean-low") == "nibp_mean below 60 medium delay 0ms")
        #expect(rule("nibp-mean-high") == "nibp_mean above 110 medium delay 0ms")
        #expect(rule("rr-low") == "respiratory_rate below 8 medium delay 1000ms")
        #expect(rule("rr-high") == "respiratory_rate above 30 medium delay 1000ms")
        #expect(rule("etco2-low") == "etco2 below 15 medium delay 1000ms")
        #expect(rule("etco2-high") == "etco2 above 50 medium delay 1000ms")
        #expect(rule("apnea") == "respiratory_rate below 1 high delay 1000ms")
    }

    @Test func eventSequenceNumbersArePerBed() {
        var rig = AlarmRig()
        rig.observe("spo2", 88)
        rig.observe("spo2", 80, bed: "chair-2")
        rig.observe("nibp_systolic", 170)
        rig.pause()
        let one = rig.events.filter { $0.bed == "chair-1" }.map { $0.sequence }
        let two = rig.events.filter { $0.bed == "chair-2" }.map { $0.sequence }
        #expect(one == [1, 2, 3])
        #expect(two == [1, 2, 3])
        #expect(rig.engine.nextSequence(bed: "chair-1") == 4)
        #expect(rig.events[0].alarm == "chair-1.spo2-low.1")
    }

    @Test func conditionReturningWhileLatchedKeepsTheSameAlarm() {
        var rig = AlarmRig()
        rig.observe("spo2", 88)
        rig.t = 1000
        rig.observe("spo2", 95)
        rig.t = 2000
        #expect(rig.observe("spo2", 89).isEmpty)
        #expect(rig.active.count == 1)
        #expect(rig.active[0].conditionPresent)
    }
}

/// The alarm thread sleeps until `nextDeadline`: each timer must be announced at the millisecond
/// `tick` acts on it, and be used up by that tick (a deadline left standing would spin the thread).
struct AlarmDeadlineTests {
    @Test func nothingTimedWithoutConditions() {
        var rig = AlarmRig()
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: 0, wallClockMilliseconds: rig.wall) == nil)
        rig.observe("heart_rate", 80)
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: 0, wallClockMilliseconds: rig.wall) == nil)
    }

    @Test func conditionDelayThenEscalation() {
        var rig = AlarmRig()
        rig.t = 250
        rig.observe("heart_rate", 130) // hr-high: 1 s delay, medium
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall) == 1250)
        #expect(rig.advance(to: 1249).isEmpty)
        #expect(rig.conditions(rig.advance(to: 1250)) == ["start hr-high medium"])
        // Active and unacknowledged: the next timer is its escalation, 60 s after the start.
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall) == 61_250)
        #expect(rig.conditions(rig.advance(to: 61_250)) == ["escalate hr-high high"])
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall) == nil)
    }

    @Test func acknowledgedMediumHasNoEscalationTimer() throws {
        var rig = AlarmRig()
        rig.observe("nibp_systolic", 80) // medium, no delay
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: 0, wallClockMilliseconds: rig.wall) == 60_000)
        try rig.acknowledge()
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: 0, wallClockMilliseconds: rig.wall) == nil)
    }

    @Test func audioPauseEnd() {
        var rig = AlarmRig()
        rig.observe("spo2", 80) // high, no delay
        rig.t = 5000
        rig.pause()
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall) == 125_000)
        #expect(rig.conditions(rig.advance(to: 125_000)) == ["audio-resumed audio-paused high"])
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall) == nil)
    }

    /// NIBP ages on the wall clock; the deadline is where that age runs out, on the monotonic clock.
    @Test func nibpTurnsStaleAtItsDeadline() {
        var rig = AlarmRig()
        rig.t = 1000
        rig.observe("nibp_time", Double((rig.wall - 10_000) / 1000)) // measured 10 s ago
        let due = rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall)
        // Stale once older than 300 s: 300 s + 1 ms after the measurement, 10 s before now.
        let expected: Int64 = 1000 - 10_000 + 300_000 + 1
        #expect(due == expected)
        #expect(rig.advance(to: due! - 1).isEmpty)
        #expect(rig.conditions(rig.advance(to: due!)) == ["start nibp-stale low"])
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall) == nil)
    }

    /// Whatever happens, a tick at the announced deadline moves the next one later.
    @Test func everyDeadlineIsUsedUpByItsTick() throws {
        var rig = AlarmRig()
        rig.observe("heart_rate", 130)
        rig.observe("nibp_systolic", 80)
        rig.observe("nibp_time", Double(rig.wall / 1000))
        rig.advance(to: 2000)
        rig.pause()
        var rounds = 0
        while let due = rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall),
              rounds < 20 {
            #expect(due > rig.t)
            rig.advance(to: due)
            rounds += 1
        }
        #expect(rounds < 20)
        #expect(rig.engine.nextDeadline(monotonicMilliseconds: rig.t, wallClockMilliseconds: rig.wall) == nil)
    }
}
