import Acquisition
import Alarms
import Config
import Health
import Platform
import RegisterMaps
import Vitals

/// The alarm engine with what surrounds it at run time, without threads: sample records in,
/// events out to the alarm log and to the publisher, the retained state of each bed marked
/// for republishing. `AlarmStation` runs it on the alarm thread; commands from the publisher
/// reach it through the station's lock.
struct AlarmDesk {
    private(set) var engine = AlarmEngine()
    private var logFile: AlarmLogFile
    private let devices: [PlannedDevice]
    /// Configured beds, in configuration order (the index publishers use).
    let bedIDs: [String]
    private let roles: [DeviceRole]
    /// Observations of each bed gathered until one of its devices ends its cycle.
    private var pendingObservations: [[AlarmObservation]]
    /// Events not yet taken by the publisher, in order.
    private(set) var outgoing: [AlarmEvent] = []
    /// Beds whose retained state changed since the publisher last took it.
    private(set) var changedBeds: [Bool]
    /// Alarm events whose first write to the alarm log failed, since the start.
    private(set) var logFailures = 0
    /// The alarm log's line on /readyz: failing while the last attempt to write the log failed.
    private(set) var logCheck: HealthCheck
    /// What stood at the log's path at start and was moved aside ("<why>; moved to <where>").
    private(set) var logMovedAside: String?
    private var lastLogError: SystemError?
    /// Events published but not yet in the log, oldest first, written again once a second.
    private var unwrittenEvents: [AlarmEvent] = []
    private var lastLogAttempt: Int64 = 0
    /// Bed indices each sampling loop serves, by loop.
    private let loopBeds: [[Int]]
    /// Overruns of each loop when last looked at, the times of its recent ones, and whether it is in fault.
    private var overrunsSeen: [UInt64]
    private var recentOverruns: [[Int64]]
    private var overrunFaultActive: [Bool]
    /// Beds on which the overrun fault is raised: those served by at least one loop in fault.
    private var bedsInOverrunFault: [Bool]

    /// Overruns within this window that make a fault, and how long a fault needs to stay quiet to end.
    static let overrunWindowMilliseconds: Int64 = 10_000
    static let overrunsForFault = 3
    /// How often a failing alarm log is tried again, and how many unwritten events are held
    /// for it (beyond that the oldest are given up: they were published, and counted).
    static let logRetryMilliseconds: Int64 = 1000
    static let unwrittenEventLimit = 1000

    /// `loopBeds`: for each sampling loop, the indices of the beds its devices belong to.
    init(config: GatewayConfig, devices: [PlannedDevice], loopBeds: [[Int]]) {
        self.devices = devices
        bedIDs = config.beds.map { $0.id }
        logFile = AlarmLogFile(path: config.alarms.logPath)
        logCheck = AlarmDesk.logWritten(config.alarms.logPath)
        roles = devices.map { AlarmDesk.role(of: $0.profile) }
        pendingObservations = [[AlarmObservation]](repeating: [], count: config.beds.count)
        changedBeds = [Bool](repeating: true, count: config.beds.count)
        self.loopBeds = loopBeds
        overrunsSeen = [UInt64](repeating: 0, count: loopBeds.count)
        recentOverruns = [[Int64]](repeating: [], count: loopBeds.count)
        overrunFaultActive = [Bool](repeating: false, count: loopBeds.count)
        bedsInOverrunFault = [Bool](repeating: false, count: config.beds.count)
    }

    /// A monitor is what watches the patient (SpO2 or ECG), a pump what reports pump status.
    static func role(of profile: DeviceProfile) -> DeviceRole {
        var hasPumpStatus = false
        for point in profile.points {
            if point.name == "spo2" || point.name == "heart_rate" { return .monitor }
            if point.name == "pump_status" { hasPumpStatus = true }
        }
        return hasPumpStatus ? .pump : .other
    }

    /// Reads the log back (latched alarms and event numbers survive a restart) and applies each
    /// bed's limits. Returns what to tell the operator.
    mutating func start(config: GatewayConfig, now: Int64, wall: Int64) -> [String] {
        var notes: [String] = []
        do throws(SystemError) {
            var recovery = try logFile.load()
            // A bed no longer configured could never be acknowledged by command: not restored.
            let configured = bedIDs
            recovery.beds.removeAll { bed in !configured.contains(bed.bed) }
            engine.restore(recovery, monotonicMilliseconds: now)
            var restored = 0
            for bed in recovery.beds { restored += bed.active.count }
            if restored > 0 { notes.append("alarm log: \(restored) alarm(s) still active from before the restart") }
            if recovery.skippedLines > 0 {
                notes.append("alarm log \(config.alarms.logPath): \(recovery.skippedLines) damaged line(s) skipped")
            }
            if let movedAside = recovery.movedAside {
                notes.append("alarm log: \(movedAside); starting a new log without the alarms of before")
                logMovedAside = movedAside
            }
        } catch {
            notes.append("cannot read the alarm log: \(error.description); starting without the alarms of before")
        }
        for bed in config.beds {
            do throws(AlarmSettingsError) {
                keep(try engine.configure(bed: bed.id, settings: bed.alarms, monotonicMilliseconds: now,
                                            wallClockMilliseconds: wall), now: now)
            } catch {
                // The configuration check validates the same settings; this is a last guard.
                notes.append("bed \(bed.id): \(error.description); keeping the default limits")
            }
        }
        // After the beds are configured: the fault is raised on each of them.
        if logMovedAside != nil { storageFault("alarm-log-damaged", priority: .low, now: now, wall: wall) }
        return notes
    }

    // MARK: inputs

    mutating func consume(_ record: SampleRecord, now: Int64, wall: Int64) {
        let deviceIndex = Int(record.deviceIndex)
        guard deviceIndex < devices.count else { return }
        let device = devices[deviceIndex]
        let bed = device.bedIndex
        switch record.kind {
        case .sample:
            guard Int(record.pointIndex) < device.profile.points.count else { return }
            let point = device.profile.points[Int(record.pointIndex)]
            let quality = AlarmDesk.inputQuality(record.quality)
            pendingObservations[bed].append(
                AlarmObservation(point: point.name, device: device.config.id,
                                 value: quality == .commLoss ? nil : record.value, quality: quality))
        case .endOfDeviceCycle:
            guard !pendingObservations[bed].isEmpty else { return }
            keep(engine.observe(bed: bedIDs[bed], pendingObservations[bed], monotonicMilliseconds: now,
                                  wallClockMilliseconds: wall), now: now)
            pendingObservations[bed].removeAll(keepingCapacity: true)
        case .deviceAnswering, .deviceSilent:
            keep(engine.deviceState(bed: bedIDs[bed], device: device.config.id, role: roles[deviceIndex],
                                      answering: record.kind == .deviceAnswering, monotonicMilliseconds: now,
                                      wallClockMilliseconds: wall), now: now)
        }
    }

    /// AlarmInputQuality spells its cases as Vitals.Quality does.
    static func inputQuality(_ code: QualityCode) -> AlarmInputQuality {
        AlarmInputQuality(rawValue: code.quality.rawValue) ?? .stale
    }

    mutating func tick(now: Int64, wall: Int64) {
        keep(engine.tick(monotonicMilliseconds: now, wallClockMilliseconds: wall), now: now)
        if lastLogError != nil && now - lastLogAttempt >= AlarmDesk.logRetryMilliseconds {
            writeToLog([], now: now)
        }
    }

    /// The earliest monotonic millisecond at which `tick` has something to do without a new
    /// input: the engine's timers and the next attempt at a failing alarm log. nil: nothing is timed.
    func nextDeadline(now: Int64, wall: Int64) -> Int64? {
        var earliest = engine.nextDeadline(monotonicMilliseconds: now, wallClockMilliseconds: wall)
        func consider(_ time: Int64) {
            if earliest == nil || time < earliest! { earliest = time }
        }
        if lastLogError != nil { consider(lastLogAttempt + AlarmDesk.logRetryMilliseconds) }
        return earliest
    }

    /// Repeated overruns of a sampling loop are a fault of the agent: the samples, and so the
    /// alarms, of the beds that loop serves may be late. Present on those beds while
    /// `overrunsForFault` of that loop's overruns fell within the window. `overruns`: each loop's
    /// `LoopStatistics.overruns`, which leaves out cycles made late by a silent device (its own
    /// comm-loss alarm covers its bed, and the other beds' data is fine).
    mutating func checkOverruns(_ overruns: [UInt64], now: Int64, wall: Int64) {
        for (loop, count) in overruns.enumerated() where loop < overrunsSeen.count {
            if count > overrunsSeen[loop] {
                for _ in 0..<min(count - overrunsSeen[loop], 16) { recentOverruns[loop].append(now) }
            }
            overrunsSeen[loop] = count
            recentOverruns[loop].removeAll { now - $0 > AlarmDesk.overrunWindowMilliseconds }
            overrunFaultActive[loop] = recentOverruns[loop].count >= AlarmDesk.overrunsForFault
        }
        var wanted = [Bool](repeating: false, count: bedsInOverrunFault.count)
        for (loop, beds) in loopBeds.enumerated() where overrunFaultActive[loop] {
            for bed in beds where bed < wanted.count { wanted[bed] = true }
        }
        var raised: [String] = []
        var ended: [String] = []
        for bed in wanted.indices where wanted[bed] != bedsInOverrunFault[bed] {
            if wanted[bed] { raised.append(bedIDs[bed]) } else { ended.append(bedIDs[bed]) }
        }
        bedsInOverrunFault = wanted
        if !raised.isEmpty {
            keep(engine.agentFault("loop-overrun", present: true, beds: raised, monotonicMilliseconds: now,
                                   wallClockMilliseconds: wall), now: now)
        }
        if !ended.isEmpty {
            keep(engine.agentFault("loop-overrun", present: false, beds: ended, monotonicMilliseconds: now,
                                   wallClockMilliseconds: wall), now: now)
        }
    }

    /// When `checkOverruns` would end a loop's overrun fault if no loop overran again: the
    /// oldest overrun of a loop in fault leaves the window. nil while no loop is in fault.
    var overrunFaultEnd: Int64? {
        var earliest: Int64?
        for loop in overrunFaultActive.indices where overrunFaultActive[loop] {
            guard let oldest = recentOverruns[loop].min() else { continue }
            let end = oldest + AlarmDesk.overrunWindowMilliseconds + 1
            if earliest == nil || end < earliest! { earliest = end }
        }
        return earliest
    }

    /// A fault of the box's own alarm hardware (the buzzer line cannot be driven), on every bed.
    mutating func hardwareFault(_ fault: String, present: Bool, now: Int64, wall: Int64) {
        keep(engine.agentFault(fault, present: present, monotonicMilliseconds: now, wallClockMilliseconds: wall), now: now)
    }

    /// The alarm forwarding link (alarms.forward.hl7) does not deliver: low, on every bed. The
    /// buzzer and the MQTT events go on; the alert manager is missing the events meanwhile.
    mutating func forwardingFault(present: Bool, now: Int64, wall: Int64) {
        keep(engine.agentFault("alarm-forward-down", present: present, priority: .low, monotonicMilliseconds: now,
                               wallClockMilliseconds: wall), now: now)
    }

    /// A fault of the agent's files found at start, on every bed: "queue-damaged" and
    /// "alarm-log-damaged" (parts moved aside, low: sampling, alarms and publishing work, the
    /// broker's record or the restored alarms may have a gap) or "queue-unavailable" (nothing
    /// kept on disk, the beds' agent-fault priority: an outage of the broker now loses messages).
    mutating func storageFault(_ fault: String, priority: AlarmPriority?, now: Int64, wall: Int64) {
        keep(engine.agentFault(fault, present: true, priority: priority, monotonicMilliseconds: now, wallClockMilliseconds: wall),
             now: now)
    }

    mutating func acknowledge(bed: String, alarm: String?, by: String, now: Int64, wall: Int64) throws(AlarmCommandError) {
        keep(try engine.acknowledge(bed: bed, alarm: alarm, by: by, monotonicMilliseconds: now, wallClockMilliseconds: wall),
             now: now)
    }

    /// The button's short press: every active alarm of every bed (one button serves the room).
    mutating func acknowledgeAll(now: Int64, wall: Int64) -> Int {
        var count = 0
        for bed in engine.bedIDs {
            do throws(AlarmCommandError) {
                let events = try engine.acknowledge(bed: bed, by: "button", monotonicMilliseconds: now, wallClockMilliseconds: wall)
                for event in events where event.type == .acknowledge { count += 1 }
                keep(events, now: now)
            } catch {}
        }
        return count
    }

    mutating func pauseAudio(now: Int64, wall: Int64) {
        keep(engine.pauseAudio(monotonicMilliseconds: now, wallClockMilliseconds: wall), now: now)
    }

    // MARK: outputs

    /// Whether `takeOutgoing` has anything for the publisher.
    var hasOutgoing: Bool { !outgoing.isEmpty || changedBeds.contains(true) }

    /// Events and changed states for the publisher; clears both.
    mutating func takeOutgoing() -> (events: [AlarmEvent], changedBeds: [Int]) {
        let events = outgoing
        outgoing.removeAll(keepingCapacity: true)
        var beds: [Int] = []
        for index in changedBeds.indices where changedBeds[index] {
            beds.append(index)
            changedBeds[index] = false
        }
        return (events, beds)
    }

    /// Marks every bed's retained state for republishing (after a reconnect or a rebirth).
    mutating func markAllChanged() {
        for index in changedBeds.indices { changedBeds[index] = true }
    }

    /// Alarms active now, all beds (latched and acknowledged included).
    var activeCount: Int { engine.activeAlarmCount }

    /// Writes the events to the log, then hands them to the publisher.
    private mutating func keep(_ events: [AlarmEvent], now: Int64) {
        guard !events.isEmpty else { return }
        writeToLog(events, now: now)
        outgoing.append(contentsOf: events)
        for event in events {
            if event.type == .audioPaused || event.type == .audioResumed {
                markAllChanged()
            } else {
                for (index, id) in bedIDs.enumerated() where id == event.bed { changedBeds[index] = true }
            }
        }
    }

    /// Appends the events, after any still unwritten, and syncs them: what is published has
    /// been recorded on the box. A log that cannot be written does not hold an alarm back: the
    /// events are published all the same, counted, kept for the next attempt, and /readyz
    /// fails until a write succeeds. An event written again after a failed sync may stand
    /// twice in the log; replaying it twice gives the same state.
    private mutating func writeToLog(_ events: [AlarmEvent], now: Int64) {
        lastLogAttempt = now
        let batch = unwrittenEvents + events
        do throws(SystemError) {
            try logFile.append(batch)
            unwrittenEvents.removeAll()
            if lastLogError != nil {
                log(.info, "the alarm log \(logFile.path) is written again; the events that waited are in it")
                lastLogError = nil
                logCheck = AlarmDesk.logWritten(logFile.path)
            }
        } catch {
            logFailures += events.count
            if lastLogError == nil {
                log(.error, AlarmDesk.logFailure(error) + "; alarms still sound and are published, "
                    + "and the log is tried again every second")
            }
            lastLogError = error
            unwrittenEvents = batch
            if unwrittenEvents.count > AlarmDesk.unwrittenEventLimit {
                unwrittenEvents.removeFirst(unwrittenEvents.count - AlarmDesk.unwrittenEventLimit)
            }
            logCheck = .fail("alarm log", AlarmDesk.logFailure(error) + "; \(unwrittenEvents.count) alarm event(s) "
                             + "published but not recorded on the box: a restart now would not know them")
        }
    }

    /// `logCheck`, and while it passes, what was moved aside at start: the log works, and says why it is new.
    var logHealth: HealthCheck {
        guard logCheck.passed, let logMovedAside else { return logCheck }
        return .pass(logCheck.name, logCheck.reason + "; at start, \(logMovedAside)")
    }

    static func logWritten(_ path: String) -> HealthCheck {
        .pass("alarm log", "every alarm event is recorded in \(path)")
    }

    /// "cannot write the alarm log /var/…/alarms.log: No space left on device (errno 28); the disk is full: free space on it"
    static func logFailure(_ error: SystemError) -> String {
        var text = "cannot write the alarm log: \(error.description)"
        let advice = error.errno.storageAdvice
        if !advice.isEmpty { text += "; " + advice }
        return text
    }
}
