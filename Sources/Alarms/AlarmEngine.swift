/// The box's alarm system: pure logic. Every input carries its own times (monotonic ms for
/// delays, escalation and pause; wall-clock ms for what is reported), so tests drive time and
/// the engine makes no OS calls.
///
/// Per bed and condition: inactive → pending (condition delay) → active → ended; high-priority
/// alarms stay latched after their condition ends until acknowledged; unacknowledged medium
/// alarms escalate to high. Audio pause is box-wide.
///
/// Sample quality: `ok` values are checked against the limits. `comm-loss` and `sensor-off`
/// end the point's physiological conditions (the technical alarm takes over, as monitors do;
/// latched high alarms stay). `stale` and `out-of-range` values are not trusted as patient
/// values, yet must not silence an alarm either: they leave the conditions as they are;
/// `out-of-range` raises its own technical alarm, `out-of-range-<point>`, after the sensor-off delay.
public struct AlarmEngine: Sendable {
    public static let audioPauseMilliseconds: Int64 = 120_000

    struct Tracked: Sendable {
        var condition: String
        var kind: AlarmKind
        var priority: AlarmPriority
        var delay: Int64
        var pendingSince: Int64
        var active = false
        var present = true
        var alarm = ""
        var sinceWall: Int64 = 0
        var activeSince: Int64 = 0
        var acknowledged = false
    }

    struct Bed: Sendable {
        var settings: BedAlarmSettings
        var nextSequence: Int64 = 1
        var tracked: [Tracked] = []
        /// Last trusted value per point, to re-check after a limit change.
        var lastValues: [String: Double] = [:]
        /// Wall ms of the last NIBP (or of the first sight of "none yet").
        var nibpReference: Int64?
    }

    var beds: [String: Bed] = [:]
    var bedOrder: [String] = []
    var pauseStart: Int64?
    var pauseEnd: Int64 = 0
    var pauseEndWall: Int64 = 0
    var pauseCeiling: AlarmPriority = .low
    /// Moves whenever the state that `tick`, `nextDeadline`, `audibleSignal`, `activeAlarmCount`
    /// and `audioPausedUntil` read may have changed (a condition tracked, untracked or
    /// updated, an event, a limit, an acknowledgement, the pause, a NIBP time). While it
    /// stands still those answers change only with time, at `nextDeadline`: a caller that
    /// keeps them may skip asking again until one of the two moves.
    public private(set) var revision: UInt64 = 0

    public init() {}

    // MARK: inputs

    /// Sets a bed's limits (validated). The first call records overrides of the defaults, later
    /// calls every changed rule, as limit-change events; values already seen are re-checked.
    public mutating func configure(bed id: String, settings: BedAlarmSettings, monotonicMilliseconds now: Int64,
                                   wallClockMilliseconds wall: Int64) throws(AlarmSettingsError) -> [AlarmEvent] {
        try settings.validate()
        if !isIdentifier(id) || id.isEmpty { throw .badCondition(id) }
        revision &+= 1
        let previous = beds[id]?.settings.limits ?? BedAlarmSettings.defaultLimits
        ensureBed(id)
        beds[id]!.settings = settings
        var events: [AlarmEvent] = []
        for rule in settings.limits {
            var old: LimitRule?
            for candidate in previous where candidate.condition == rule.condition { old = candidate }
            if old != rule {
                emit(&events, bed: id, alarm: "\(id).\(rule.condition)", condition: rule.condition,
                     priority: rule.priority, kind: .physiological, type: .limitChange, now: now, wall: wall,
                     detail: rule.summary)
            }
        }
        for old in previous where settings.limit(old.condition) == nil {
            emit(&events, bed: id, alarm: "\(id).\(old.condition)", condition: old.condition, priority: old.priority,
                 kind: .physiological, type: .limitChange, now: now, wall: wall, detail: "removed")
        }
        // Conditions of removed or disabled rules end; kept ones are re-checked with the last values.
        var dropped: [Tracked] = []
        for tracked in beds[id]!.tracked where tracked.kind == .physiological {
            let rule = settings.limit(tracked.condition)
            if rule == nil || !rule!.enabled { dropped.append(tracked) }
        }
        for tracked in dropped {
            update(bed: id, condition: tracked.condition, kind: .physiological, priority: tracked.priority,
                   delay: 0, present: false, now: now, wall: wall, events: &events)
        }
        for rule in settings.limits where rule.enabled {
            if let value = beds[id]!.lastValues[rule.point] {
                update(bed: id, condition: rule.condition, kind: .physiological, priority: rule.priority,
                       delay: rule.delayMilliseconds, present: rule.violated(by: value), now: now, wall: wall,
                       events: &events)
            }
        }
        return events
    }

    /// One sampling cycle's values of one bed.
    public mutating func observe(bed id: String, _ observations: [AlarmObservation], monotonicMilliseconds now: Int64,
                                 wallClockMilliseconds wall: Int64) -> [AlarmEvent] {
        ensureBed(id)
        var events: [AlarmEvent] = []
        let settings = beds[id]!.settings
        for observation in observations {
            let point = observation.point
            var watched = false
            for rule in settings.limits where rule.point == point && rule.enabled {
                watched = true
                switch observation.quality {
                case .ok:
                    guard let value = observation.value else { continue }
                    update(bed: id, condition: rule.condition, kind: .physiological, priority: rule.priority,
                           delay: rule.delayMilliseconds, present: rule.violated(by: value), now: now, wall: wall,
                           events: &events)
                case .commLoss, .sensorOff:
                    update(bed: id, condition: rule.condition, kind: .physiological, priority: rule.priority,
                           delay: rule.delayMilliseconds, present: false, now: now, wall: wall, events: &events)
                case .stale, .outOfRange:
                    break
                }
            }
            if watched {
                if observation.quality == .ok, let value = observation.value {
                    beds[id]!.lastValues[point] = value
                } else if observation.quality != .stale && observation.quality != .outOfRange {
                    beds[id]!.lastValues[point] = nil
                }
                // Comm loss says nothing about the probe: leave sensor-off as it was.
                let priority = point == "spo2" ? settings.technical.spo2SensorOff : settings.technical.otherSensorOff
                if observation.quality != .commLoss {
                    update(bed: id, condition: "sensor-off-\(point)", kind: .technical, priority: priority,
                           delay: settings.technical.sensorOffDelayMilliseconds,
                           present: observation.quality == .sensorOff, now: now, wall: wall, events: &events)
                }
                // A value outside the device's range leaves the parameter unmonitored as a probe
                // off does, hence its delay and priority. Only a value read again ends it: comm
                // loss and staleness say nothing about what the device would send.
                if observation.quality != .commLoss && observation.quality != .stale {
                    update(bed: id, condition: "out-of-range-\(point)", kind: .technical, priority: priority,
                           delay: settings.technical.sensorOffDelayMilliseconds,
                           present: observation.quality == .outOfRange, now: now, wall: wall, events: &events)
                }
            }
            if point == "nibp_time", observation.quality == .ok, let value = observation.value {
                // A time past year 33658 (or NaN) is a device's garbage, not a measurement time:
                // read as none, it must not trap on the conversion to milliseconds.
                if value > 0 && value < 1e12 {
                    if beds[id]!.nibpReference != Int64(value) * 1000 {
                        beds[id]!.nibpReference = Int64(value) * 1000
                        revision &+= 1
                    }
                } else if beds[id]!.nibpReference == nil {
                    beds[id]!.nibpReference = wall // none yet: stale 5 min after we started looking
                    revision &+= 1
                }
                checkNIBP(bed: id, now: now, wall: wall, events: &events)
            }
            // A status no integer can hold (a float register's garbage) says nothing: conditions stay.
            if point == "pump_status", observation.quality == .ok, let value = observation.value,
               let bits = Int(exactly: value.rounded(.towardZero)) {
                update(bed: id, condition: "pump-occlusion-\(observation.device)", kind: .technical,
                       priority: settings.technical.pumpOcclusion, delay: 0, present: bits & 1 != 0,
                       now: now, wall: wall, events: &events)
                update(bed: id, condition: "pump-air-in-line-\(observation.device)", kind: .technical,
                       priority: settings.technical.pumpAirInLine, delay: 0, present: bits & 2 != 0,
                       now: now, wall: wall, events: &events)
            }
        }
        return events
    }

    /// A device of a bed started or stopped answering (the poller has already retried).
    public mutating func deviceState(bed id: String, device: String, role: DeviceRole, answering: Bool,
                                     monotonicMilliseconds now: Int64, wallClockMilliseconds wall: Int64) -> [AlarmEvent] {
        ensureBed(id)
        let technical = beds[id]!.settings.technical
        let priority: AlarmPriority
        switch role {
        case .monitor: priority = technical.monitorCommLoss
        case .pump: priority = technical.pumpCommLoss
        case .other: priority = technical.otherCommLoss
        }
        var events: [AlarmEvent] = []
        update(bed: id, condition: "comm-loss-\(device)", kind: .technical, priority: priority, delay: 0,
               present: !answering, now: now, wall: wall, events: &events)
        return events
    }

    /// A fault of the agent itself (e.g. fault "loop-overrun" after repeated overruns), raised on
    /// the given beds or on every bed known so far: all of their alarms may be late. `priority`
    /// replaces the beds' `agentFault` priority for a fault that leaves the alarms working
    /// (a damaged queue file moved aside at start).
    public mutating func agentFault(_ fault: String, present: Bool, beds only: [String]? = nil, priority: AlarmPriority? = nil,
                                    monotonicMilliseconds now: Int64, wallClockMilliseconds wall: Int64) -> [AlarmEvent] {
        var events: [AlarmEvent] = []
        for id in only ?? bedOrder {
            ensureBed(id)
            update(bed: id, condition: "agent-\(fault)", kind: .technical,
                   priority: priority ?? beds[id]!.settings.technical.agentFault, delay: 0, present: present,
                   now: now, wall: wall, events: &events)
        }
        return events
    }

    /// Time passing: condition delays run out, medium alarms escalate, NIBP ages, the pause ends.
    /// Call when `nextDeadline` is due, and after inputs.
    public mutating func tick(monotonicMilliseconds now: Int64, wallClockMilliseconds wall: Int64) -> [AlarmEvent] {
        var events: [AlarmEvent] = []
        for id in bedOrder {
            checkNIBP(bed: id, now: now, wall: wall, events: &events)
            let escalateAfter = beds[id]!.settings.escalateAfterMilliseconds
            for index in beds[id]!.tracked.indices {
                var tracked = beds[id]!.tracked[index]
                if !tracked.active {
                    if tracked.present && now - tracked.pendingSince >= tracked.delay {
                        activate(&tracked, bed: id, now: now, wall: wall, events: &events)
                    }
                } else if tracked.priority == .medium && tracked.present && !tracked.acknowledged
                            && now - tracked.activeSince >= escalateAfter {
                    tracked.priority = .high
                    emit(&events, bed: id, alarm: tracked.alarm, condition: tracked.condition, priority: .high,
                         kind: tracked.kind, type: .escalate, now: now, wall: wall)
                }
                beds[id]!.tracked[index] = tracked
            }
        }
        if let _ = pauseStart, now >= pauseEnd {
            pauseStart = nil
            revision &+= 1
            for id in bedOrder {
                emit(&events, bed: id, alarm: "\(id).audio", condition: "audio-paused", priority: pauseCeiling,
                     kind: .technical, type: .audioResumed, now: now, wall: wall)
            }
        }
        return events
    }

    /// The earliest monotonic millisecond at which `tick` would change something on its own:
    /// a condition delay running out, a medium alarm escalating, the audio pause ending, a
    /// bed's NIBP turning stale (a wall-clock age, mapped onto the monotonic clock at `wall`).
    /// nil when only new inputs can change anything. Lets the alarm thread sleep until then.
    public func nextDeadline(monotonicMilliseconds now: Int64, wallClockMilliseconds wall: Int64) -> Int64? {
        var earliest: Int64?
        func consider(_ time: Int64) {
            if earliest == nil || time < earliest! { earliest = time }
        }
        for id in bedOrder {
            let bed = beds[id]!
            for tracked in bed.tracked where tracked.present {
                if !tracked.active {
                    consider(tracked.pendingSince + tracked.delay)
                } else if tracked.priority == .medium && !tracked.acknowledged {
                    consider(tracked.activeSince + bed.settings.escalateAfterMilliseconds)
                }
            }
            if let reference = bed.nibpReference {
                let staleAt = reference + bed.settings.technical.nibpStaleAfterMilliseconds + 1
                if wall < staleAt { consider(now + (staleAt - wall)) }
            }
        }
        if pauseStart != nil { consider(pauseEnd) }
        return earliest
    }

    /// Acknowledges one alarm of a bed (`alarm` id) or all of them (nil). An acknowledged alarm
    /// stops sounding and escalating; it stays listed while its condition persists. `by` says
    /// who ("button", "command:<issuer>") and goes into the acknowledge events.
    public mutating func acknowledge(bed id: String, alarm: String? = nil, by: String = "", monotonicMilliseconds now: Int64,
                                     wallClockMilliseconds wall: Int64) throws(AlarmCommandError) -> [AlarmEvent] {
        guard beds[id] != nil else { throw .unknownBed(id) }
        revision &+= 1
        var events: [AlarmEvent] = []
        var found = false
        var index = 0
        while index < beds[id]!.tracked.count {
            let tracked = beds[id]!.tracked[index]
            guard tracked.active, alarm == nil || tracked.alarm == alarm else { index += 1; continue }
            found = true
            if tracked.acknowledged { index += 1; continue }
            beds[id]!.tracked[index].acknowledged = true
            emit(&events, bed: id, alarm: tracked.alarm, condition: tracked.condition, priority: tracked.priority,
                 kind: tracked.kind, type: .acknowledge, now: now, wall: wall, by: by)
            if !tracked.present {
                emit(&events, bed: id, alarm: tracked.alarm, condition: tracked.condition, priority: tracked.priority,
                     kind: tracked.kind, type: .end, now: now, wall: wall)
                beds[id]!.tracked.remove(at: index)
            } else {
                index += 1
            }
        }
        if let alarm, !found { throw .unknownAlarm(alarm) }
        return events
    }

    /// Pauses the buzzer for 2 minutes, box-wide. Alarms that start (or escalate) during the
    /// pause with a priority above every alarm active when it began still sound. With none
    /// active the ceiling is low, so a pre-emptive pause never hides a medium or high newcomer.
    /// Pausing again restarts the 2 minutes.
    public mutating func pauseAudio(monotonicMilliseconds now: Int64, wallClockMilliseconds wall: Int64) -> [AlarmEvent] {
        var ceiling = AlarmPriority.low
        for id in bedOrder {
            for tracked in beds[id]!.tracked where tracked.active && tracked.priority > ceiling {
                ceiling = tracked.priority
            }
        }
        revision &+= 1
        pauseStart = now
        pauseEnd = now + AlarmEngine.audioPauseMilliseconds
        pauseEndWall = wall + AlarmEngine.audioPauseMilliseconds
        pauseCeiling = ceiling
        var events: [AlarmEvent] = []
        for id in bedOrder {
            emit(&events, bed: id, alarm: "\(id).audio", condition: "audio-paused", priority: ceiling,
                 kind: .technical, type: .audioPaused, now: now, wall: wall)
        }
        return events
    }

    // MARK: outputs

    /// What the buzzer plays now: the highest priority among active, unacknowledged alarms,
    /// except those the audio pause holds back; nil for silence.
    public func audibleSignal(now: Int64) -> AlarmPriority? {
        var best: AlarmPriority?
        let paused = pauseStart != nil && now < pauseEnd
        for id in bedOrder {
            for tracked in beds[id]!.tracked where tracked.active && !tracked.acknowledged {
                // Anything above the ceiling started or escalated after the pause began.
                if paused && tracked.priority <= pauseCeiling { continue }
                if best == nil || tracked.priority > best! { best = tracked.priority }
            }
        }
        return best
    }

    /// How many alarms are active (latched and acknowledged included) on every bed: what
    /// `activeAlarms` would list, counted without building the lists.
    public var activeAlarmCount: Int {
        var count = 0
        for bed in beds.values {
            for tracked in bed.tracked where tracked.active { count += 1 }
        }
        return count
    }

    /// Active (including latched) alarms of a bed, in order of onset.
    public func activeAlarms(bed id: String) -> [ActiveAlarm] {
        var list: [ActiveAlarm] = []
        for tracked in beds[id]?.tracked ?? [] where tracked.active {
            list.append(ActiveAlarm(alarm: tracked.alarm, condition: tracked.condition, priority: tracked.priority,
                                    kind: tracked.kind, sinceWallClockMilliseconds: tracked.sinceWall,
                                    acknowledged: tracked.acknowledged, conditionPresent: tracked.present))
        }
        return list
    }

    /// Wall-clock end of the audio pause, nil when not paused.
    public func audioPausedUntil(now: Int64) -> Int64? {
        pauseStart != nil && now < pauseEnd ? pauseEndWall : nil
    }

    public var bedIDs: [String] { bedOrder }

    public func settings(bed id: String) -> BedAlarmSettings? { beds[id]?.settings }

    /// The sequence number the bed's next event gets.
    public func nextSequence(bed id: String) -> Int64 { beds[id]?.nextSequence ?? 1 }

    // MARK: restart

    /// Restores active alarms and sequence numbers from the alarm log after a restart. Restored
    /// alarms count as present until the next observation says otherwise, so a latched high
    /// alarm keeps sounding until acknowledged. The audio pause is not restored (sound returns).
    public mutating func restore(_ recovered: AlarmLogRecovery, monotonicMilliseconds now: Int64) {
        revision &+= 1
        for bed in recovered.beds {
            ensureBed(bed.bed)
            if bed.lastSequence + 1 > beds[bed.bed]!.nextSequence { beds[bed.bed]!.nextSequence = bed.lastSequence + 1 }
            for alarm in bed.active {
                var tracked = Tracked(condition: alarm.condition, kind: alarm.kind, priority: alarm.priority,
                                      delay: 0, pendingSince: now)
                tracked.active = true
                tracked.alarm = alarm.alarm
                tracked.sinceWall = alarm.sinceWallClockMilliseconds
                tracked.activeSince = now
                tracked.acknowledged = alarm.acknowledged
                beds[bed.bed]!.tracked.removeAll { $0.condition == alarm.condition }
                beds[bed.bed]!.tracked.append(tracked)
            }
        }
    }

    // MARK: state machine

    mutating func ensureBed(_ id: String) {
        if beds[id] == nil {
            revision &+= 1
            beds[id] = Bed(settings: BedAlarmSettings())
            bedOrder.append(id)
        }
    }

    mutating func checkNIBP(bed id: String, now: Int64, wall: Int64, events: inout [AlarmEvent]) {
        guard let reference = beds[id]!.nibpReference else { return }
        let technical = beds[id]!.settings.technical
        update(bed: id, condition: "nibp-stale", kind: .technical, priority: technical.nibpStale, delay: 0,
               present: wall - reference > technical.nibpStaleAfterMilliseconds, now: now, wall: wall, events: &events)
    }

    mutating func update(bed id: String, condition: String, kind: AlarmKind, priority: AlarmPriority, delay: Int64,
                         present: Bool, now: Int64, wall: Int64, events: inout [AlarmEvent]) {
        var found: Int?
        for index in beds[id]!.tracked.indices where beds[id]!.tracked[index].condition == condition { found = index }
        guard let index = found else {
            guard present else { return }
            revision &+= 1
            var tracked = Tracked(condition: condition, kind: kind, priority: priority, delay: delay, pendingSince: now)
            if delay <= 0 { activate(&tracked, bed: id, now: now, wall: wall, events: &events) }
            beds[id]!.tracked.append(tracked)
            return
        }
        revision &+= 1
        var tracked = beds[id]!.tracked[index]
        if present {
            tracked.present = true
            tracked.delay = delay
            if !tracked.active && now - tracked.pendingSince >= delay {
                activate(&tracked, bed: id, now: now, wall: wall, events: &events)
            }
            beds[id]!.tracked[index] = tracked
            return
        }
        if !tracked.active { // cleared within the delay: never was an alarm
            beds[id]!.tracked.remove(at: index)
        } else if tracked.priority == .high && !tracked.acknowledged {
            tracked.present = false // latched until acknowledged
            beds[id]!.tracked[index] = tracked
        } else {
            emit(&events, bed: id, alarm: tracked.alarm, condition: condition, priority: tracked.priority,
                 kind: tracked.kind, type: .end, now: now, wall: wall)
            beds[id]!.tracked.remove(at: index)
        }
    }

    mutating func activate(_ tracked: inout Tracked, bed id: String, now: Int64, wall: Int64, events: inout [AlarmEvent]) {
        tracked.active = true
        tracked.alarm = "\(id).\(tracked.condition).\(beds[id]!.nextSequence)"
        tracked.sinceWall = wall
        tracked.activeSince = now
        emit(&events, bed: id, alarm: tracked.alarm, condition: tracked.condition, priority: tracked.priority,
             kind: tracked.kind, type: .start, now: now, wall: wall)
    }

    mutating func emit(_ events: inout [AlarmEvent], bed id: String, alarm: String, condition: String,
                       priority: AlarmPriority, kind: AlarmKind, type: AlarmEventType, now: Int64, wall: Int64,
                       detail: String = "", by: String = "") {
        revision &+= 1
        let sequence = beds[id]!.nextSequence
        beds[id]!.nextSequence += 1
        events.append(AlarmEvent(bed: id, sequence: sequence, alarm: alarm, condition: condition, priority: priority,
                                 kind: kind, type: type, wallClockMilliseconds: wall, monotonicMilliseconds: now,
                                 detail: detail, by: by))
    }
}

public enum AlarmCommandError: Error, Equatable, CustomStringConvertible {
    case unknownBed(String)
    case unknownAlarm(String)

    public var description: String {
        switch self {
        case .unknownBed(let bed): return "no alarms known for bed \(bed)"
        case .unknownAlarm(let alarm): return "no active alarm \(alarm)"
        }
    }
}
