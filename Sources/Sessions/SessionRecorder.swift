import Alarms
import Charting
import JSON
import Platform
import RegisterMaps
import Vitals

/// Which entries of a bed's description the record reads: the pump's state, status word,
/// rate, dose rate and volume, and the vital signs of the summary. Found by IEEE 11073 term
/// (the pump's state and status word, which have none, by point name on the pump's device),
/// so a clinic's own profiles work as long as their points carry the terms.
struct SessionLayout: Sendable {
    var pumpState: Int?
    var pumpStatus: Int?
    var pumpRate: Int?
    var doseRate: Int?
    var volumeInfused: Int?
    var spo2: Int?
    var heartRate: Int?
    var systolic: Int?
    var respiratoryRate: Int?
    /// Entries a row charts: every one with a term (status words and clocks have none).
    var charted: [Int]

    init(_ description: BedDescription) {
        func first(_ term: Term) -> Int? { description.entries.firstIndex { $0.mdcName == term.mdcName } }
        pumpRate = first(Nomenclature.pumpRate)
        let pumpDevice = pumpRate.map { description.entries[$0].deviceIndex }
        func onPump(_ point: String) -> Int? {
            guard let pumpDevice else { return nil }
            return description.entries.firstIndex { $0.deviceIndex == pumpDevice && $0.point == point }
        }
        pumpState = onPump("state")
        pumpStatus = onPump("pump_status")
        doseRate = first(Nomenclature.doseRate)
        volumeInfused = first(Nomenclature.volumeInfused)
        spo2 = first(Nomenclature.spo2)
        heartRate = first(Nomenclature.heartRate) ?? first(Nomenclature.pulseRate)
        systolic = first(Nomenclature.nibpSystolic)
        respiratoryRate = first(Nomenclature.respiratoryRate)
        charted = description.entries.indices.filter { !description.entries[$0].mdcName.isEmpty }
    }
}

/// The state of an open session: everything its record and summary are made of.
struct OpenSession: Sendable, Equatable {
    var id: String
    var startMilliseconds: Int64
    var startedBy: String
    /// The latest time the session saw (a message, row or event).
    var lastMilliseconds: Int64
    /// Whether the pump ran during the session: only then does a stopped pump end it.
    var pumpHasRun = false
    /// Since when the pump has not been running (stopped or paused), while it is not.
    var notRunningSince: Int64?
    /// The rate last reported in an event, while running.
    var reportedRate: Double?
    var occluded = false
    /// Each row and event as its JSON text: final once written, so the record is their concatenation.
    var rows: [String] = []
    var events: [String] = []
    var rowsLeftOut = 0
    var eventsLeftOut = 0
    /// Per charted entry (by name): samples and `ok` samples.
    var counts: [(name: String, samples: Int, okSamples: Int)] = []
    var volumeInfused: Double = 0
    var lastVolume: Double?
    var lowestSpO2: Double?
    var belowSpO2Milliseconds: Int64 = 0
    /// The last `ok` SpO2 sample's value and time.
    var lastSpO2: (value: Double, milliseconds: Int64)?
    var highestSystolic: Double?
    var highestHeartRate: Double?
    var lowestRespiratoryRate: Double?
    var alarms = AlarmStatistics()

    static func == (a: OpenSession, b: OpenSession) -> Bool {
        a.id == b.id && a.startMilliseconds == b.startMilliseconds && a.startedBy == b.startedBy
            && a.lastMilliseconds == b.lastMilliseconds && a.pumpHasRun == b.pumpHasRun && a.notRunningSince == b.notRunningSince
            && a.reportedRate == b.reportedRate && a.occluded == b.occluded && a.rows == b.rows && a.events == b.events
            && a.rowsLeftOut == b.rowsLeftOut && a.eventsLeftOut == b.eventsLeftOut
            && a.counts.map { $0.name } == b.counts.map { $0.name } && a.counts.map { $0.samples } == b.counts.map { $0.samples }
            && a.counts.map { $0.okSamples } == b.counts.map { $0.okSamples }
            && a.volumeInfused == b.volumeInfused && a.lastVolume == b.lastVolume && a.lowestSpO2 == b.lowestSpO2
            && a.belowSpO2Milliseconds == b.belowSpO2Milliseconds && a.lastSpO2?.value == b.lastSpO2?.value
            && a.lastSpO2?.milliseconds == b.lastSpO2?.milliseconds && a.highestSystolic == b.highestSystolic
            && a.highestHeartRate == b.highestHeartRate && a.lowestRespiratoryRate == b.lowestRespiratoryRate
            && a.alarms == b.alarms
    }
}

/// A finished session: its id and the final record.
public struct FinishedSession: Sendable {
    public var id: String
    public var startMilliseconds: Int64
    public var record: String
}

/// What one input did to the bed's sessions, for the caller to publish and store.
public struct SessionChanges: Sendable {
    /// The session that ended, with its final record.
    public var finished: FinishedSession?
    /// The id of a session that started.
    public var started: String?
    /// The open session's record has a new row or event: publish it, save the state.
    public var recordChanged = false
    /// Anything else the state file should keep (a sample's figures, the pump state).
    public var stateChanged = false

    public init() {}
}

public enum SessionCommandError: Error, Equatable, CustomStringConvertible {
    case alreadyOpen(bed: String, session: String)
    case noneOpen(bed: String)

    public var description: String {
        switch self {
        case .alreadyOpen(let bed, let session): return "bed \(bed) has an open session already (\(session))"
        case .noneOpen(let bed): return "bed \(bed) has no open session"
        }
    }
}

/// One bed's infusion sessions and their records. Pure: every input carries its own time, so
/// tests drive it without threads or clocks; the agent feeds it on the publisher thread.
///
/// - A session starts when the pump is first seen running after it was not (stopped, paused,
///   or not yet seen: a box that starts beside a running pump starts a session), or on a
///   `session-start` command. It ends once the pump has not been running for
///   `endAfterStoppedSeconds` after having run in the session, or on `session-end`. A session
///   ended while the pump still runs is not started again until the pump has stopped.
/// - Rows are the chart rows the agent's `ChartingAggregator` makes (one per charting
///   interval), taken while a session is open; samples feed the summary; alarm events, device
///   states and the pump's own changes are events.
/// - `snapshot()` is everything needed to continue after a restart.
public struct SessionRecorder {
    public let description: BedDescription
    public let settings: SessionSettings
    public let intervalMilliseconds: Int64
    let layout: SessionLayout
    /// The pump's last known state (`PumpState` raw value); nil while unknown.
    var pumpState: Int?
    /// Whether the pump running starts a session: false after a session ended with the pump running.
    var armed = true
    var lastSessionID = ""
    /// Devices not answering, and since when.
    var devicesDown: [(device: String, since: Int64)] = []
    var session: OpenSession?
    /// Restored after a restart, and no message since: the next one notes the gap.
    var resumePending = false
    /// The bed's alarms since the agent started (not kept across restarts): for /metrics.
    public private(set) var bedAlarms = AlarmStatistics()

    public init(description: BedDescription, intervalMilliseconds: Int64, settings: SessionSettings) {
        self.description = description
        self.settings = settings
        self.intervalMilliseconds = intervalMilliseconds
        layout = SessionLayout(description)
    }

    public var bedID: String { description.bedID }
    /// The open session's id, if one is open.
    public var openSessionID: String? { session?.id }

    // MARK: inputs

    /// One vitals message of the bed: its values and its time.
    public mutating func observe(_ values: [VitalValue], messageMilliseconds time: Int64) -> SessionChanges {
        var changes = SessionChanges()
        var newPumpState: Int?
        if let entry = layout.pumpState, let value = Self.okValue(values, entry), value >= 0, value <= 2 {
            newPumpState = Int(value)
        }
        let running = BuiltinProfiles.PumpState.running.rawValue
        if let state = newPumpState {
            if state != running { armed = true }
            if state == running && session == nil && armed && pumpState != running {
                changes.started = open(at: time, by: "pump")
                changes.recordChanged = true
            }
        }
        if session != nil && resumePending {
            resumePending = false
            var json = eventHead("recording-resumed", at: time)
            Self.seconds("gap_s", max(0, time - session!.lastMilliseconds), &json)
            append(event: &json, at: time)
            changes.recordChanged = true
        }
        if session != nil {
            if let state = newPumpState { pumpChanged(to: state, at: time, changes: &changes) }
            sample(values, at: time, changes: &changes)
            if let state = newPumpState, state == running {
                pumpRate(values, at: time, changes: &changes)
            }
            pumpStatus(values, at: time, changes: &changes)
            changes.stateChanged = true
        }
        if let state = newPumpState {
            if pumpState != state { changes.stateChanged = true }
            pumpState = state
        }
        if let open = session, open.pumpHasRun, let since = open.notRunningSince,
           time - since >= Int64(settings.endAfterStoppedSeconds) * 1000 {
            changes.finished = close(at: time, by: "pump-stopped")
            changes.recordChanged = true
        }
        return changes
    }

    /// A chart row of the bed (from the agent's charting aggregator).
    public mutating func addRow(_ row: ChartRow) -> SessionChanges {
        var changes = SessionChanges()
        guard var open = session, row.rowMilliseconds > open.startMilliseconds else { return changes }
        if open.rows.count < SessionSettings.maximumRows {
            open.rows.append(encodeRow(row))
        } else {
            open.rowsLeftOut += 1
        }
        session = open
        changes.recordChanged = true
        return changes
    }

    /// An alarm event of the bed, as the alarm thread made it.
    public mutating func alarm(_ event: AlarmEvent) -> SessionChanges {
        var changes = SessionChanges()
        let bedOutcome = bedAlarms.add(event)
        guard session != nil else { return changes }
        let outcome = session!.alarms.add(event)
        var json = eventHead(alarmEventName(event.type), at: event.wallClockMilliseconds)
        switch event.type {
        case .audioPaused, .audioResumed:
            break
        case .limitChange:
            json.member("condition", event.condition)
            json.member("detail", event.detail)
        default:
            json.member("alarm", event.alarm)
            json.member("condition", event.condition)
            json.member("priority", event.priority.name)
            json.member("kind", event.kind.name)
        }
        if event.type == .acknowledge {
            json.member("by", event.by.isEmpty ? "unknown" : event.by)
            if let after = outcome.acknowledgeAfterMilliseconds ?? bedOutcome.acknowledgeAfterMilliseconds {
                Self.seconds("after_s", after, &json)
            }
        }
        if event.type == .end, let duration = outcome.durationMilliseconds ?? bedOutcome.durationMilliseconds {
            Self.seconds("duration_s", duration, &json)
        }
        append(event: &json, at: event.wallClockMilliseconds)
        changes.recordChanged = true
        return changes
    }

    /// A device of the bed stopped answering (with the reason) or answers again.
    public mutating func deviceState(device: String, answering: Bool, reason: String?, at time: Int64) -> SessionChanges {
        var changes = SessionChanges()
        let wasDown = devicesDown.first { $0.device == device }
        if answering {
            devicesDown.removeAll { $0.device == device }
        } else if wasDown == nil {
            devicesDown.append((device, time))
        }
        changes.stateChanged = (wasDown != nil) == answering
        guard session != nil, changes.stateChanged else { return changes }
        var json = eventHead(answering ? "device-recovered" : "device-comm-loss", at: time)
        json.member("device", device)
        if answering, let since = wasDown?.since { Self.seconds("after_s", max(0, time - since), &json) }
        if !answering, let reason { json.member("reason", reason) }
        append(event: &json, at: time)
        changes.recordChanged = true
        return changes
    }

    /// The agent starts again with this recorder restored from its state: the open session
    /// (if any) notes the gap up to the first message after the restart, so a reader knows
    /// the record has a hole there rather than a quiet patient.
    public mutating func resumed() {
        resumePending = session != nil
    }

    /// The `session-start` command: `issuer` is its sender's name.
    public mutating func startByCommand(issuer: String, at time: Int64) throws(SessionCommandError) -> SessionChanges {
        if let open = session { throw .alreadyOpen(bed: bedID, session: open.id) }
        var changes = SessionChanges()
        changes.started = open(at: time, by: "command:" + issuer)
        if pumpState == BuiltinProfiles.PumpState.running.rawValue { session!.pumpHasRun = true }
        changes.recordChanged = true
        return changes
    }

    /// The `session-end` command.
    public mutating func endByCommand(issuer: String, at time: Int64) throws(SessionCommandError) -> SessionChanges {
        guard session != nil else { throw .noneOpen(bed: bedID) }
        var changes = SessionChanges()
        if pumpState == BuiltinProfiles.PumpState.running.rawValue { armed = false }
        changes.finished = close(at: time, by: "command:" + issuer)
        changes.recordChanged = true
        return changes
    }

    // MARK: lifecycle

    private mutating func open(at time: Int64, by: String) -> String {
        var start = time
        var id = SessionID.make(bed: bedID, startMilliseconds: start)
        // Two sessions of a bed within one second: the later id moves on a second.
        while id == lastSessionID {
            start += 1000
            id = SessionID.make(bed: bedID, startMilliseconds: start)
        }
        lastSessionID = id
        var open = OpenSession(id: id, startMilliseconds: start, startedBy: by, lastMilliseconds: time)
        open.counts = layout.charted.map { (description.entries[$0].name, 0, 0) }
        // Alarms active as the session starts belong to it: their acknowledge and end count.
        open.alarms.adopt(bedAlarms.open, at: time)
        session = open
        var json = eventHead("session-start", at: time)
        json.member("by", by)
        append(event: &json, at: time)
        for down in devicesDown {
            var json = eventHead("device-comm-loss", at: time)
            json.member("device", down.device)
            json.member("reason", "not answering at the start of the session")
            append(event: &json, at: time)
        }
        return id
    }

    private mutating func close(at time: Int64, by: String) -> FinishedSession? {
        guard session != nil else { return nil }
        var json = eventHead("session-end", at: time)
        json.member("by", by)
        append(event: &json, at: time)
        session!.alarms.close(at: time)
        let record = encodeRecord(at: time, ended: by)
        let finished = FinishedSession(id: session!.id, startMilliseconds: session!.startMilliseconds, record: record)
        session = nil
        return finished
    }

    // MARK: samples

    private mutating func pumpChanged(to state: Int, at time: Int64, changes: inout SessionChanges) {
        let running = BuiltinProfiles.PumpState.running.rawValue
        if state == running {
            session!.pumpHasRun = true
            session!.notRunningSince = nil
        } else if session!.notRunningSince == nil {
            session!.notRunningSince = time
        }
        guard state != pumpState else { return }
        let name: String
        switch state {
        case running: name = "pump-running"
        case BuiltinProfiles.PumpState.paused.rawValue: name = "pump-paused"
        default: name = "pump-stopped"
        }
        var json = eventHead(name, at: time)
        if state != running { session!.reportedRate = nil }
        append(event: &json, at: time)
        changes.recordChanged = true
    }

    private mutating func pumpRate(_ values: [VitalValue], at time: Int64, changes: inout SessionChanges) {
        guard let entry = layout.pumpRate, let rate = Self.okValue(values, entry) else { return }
        let decimals = description.entries[entry].decimals
        guard let reported = session!.reportedRate else {
            session!.reportedRate = rate
            var json = eventHead("pump-rate", at: time)
            Self.number("rate", rate, decimals, &json)
            append(event: &json, at: time)
            changes.recordChanged = true
            return
        }
        var step: Double = 1
        for _ in 0..<decimals { step /= 10 }
        guard abs(rate - reported) >= step * 0.5 else { return }
        session!.reportedRate = rate
        var json = eventHead("pump-rate", at: time)
        Self.number("from", reported, decimals, &json)
        Self.number("rate", rate, decimals, &json)
        append(event: &json, at: time)
        changes.recordChanged = true
    }

    private mutating func pumpStatus(_ values: [VitalValue], at time: Int64, changes: inout SessionChanges) {
        guard let entry = layout.pumpStatus, let word = Self.okValue(values, entry), word >= 0, word < 65_536 else { return }
        let occluded = Int(word) & 1 != 0
        guard occluded != session!.occluded else { return }
        session!.occluded = occluded
        var json = eventHead(occluded ? "pump-occlusion" : "pump-occlusion-cleared", at: time)
        append(event: &json, at: time)
        changes.recordChanged = true
    }

    /// Spells between two SpO2 samples longer than this (comm-loss, probe off) count as
    /// unknown, not as time below 90 %.
    static let longestSpO2GapMilliseconds: Int64 = 10_000

    private mutating func sample(_ values: [VitalValue], at time: Int64, changes: inout SessionChanges) {
        session!.lastMilliseconds = max(session!.lastMilliseconds, time)
        var index = 0
        while index < values.count {
            let value = values[index]
            index += 1
            if let position = layout.charted.firstIndex(of: value.entry), position < session!.counts.count {
                session!.counts[position].samples += 1
                if value.quality == .ok && value.value?.isFinite == true { session!.counts[position].okSamples += 1 }
            }
            guard value.quality == .ok, let number = value.value, number.isFinite else {
                if value.entry == layout.spo2 { session!.lastSpO2 = nil }
                continue
            }
            switch value.entry {
            case layout.spo2:
                session!.lowestSpO2 = min(session!.lowestSpO2 ?? number, number)
                if let last = session!.lastSpO2, last.value < 90 {
                    let gap = value.wallClockMilliseconds - last.milliseconds
                    if gap > 0 && gap <= Self.longestSpO2GapMilliseconds { session!.belowSpO2Milliseconds += gap }
                }
                session!.lastSpO2 = (number, value.wallClockMilliseconds)
            case layout.systolic:
                session!.highestSystolic = max(session!.highestSystolic ?? number, number)
            case layout.heartRate:
                session!.highestHeartRate = max(session!.highestHeartRate ?? number, number)
            case layout.respiratoryRate:
                session!.lowestRespiratoryRate = min(session!.lowestRespiratoryRate ?? number, number)
            case layout.volumeInfused:
                // The pump's counter restarts at 0 for a new syringe or programme: what it
                // counts from then on is added, never a negative step.
                if let last = session!.lastVolume {
                    session!.volumeInfused += number >= last ? number - last : number
                }
                session!.lastVolume = number
            default:
                break
            }
        }
    }

    static func okValue(_ values: [VitalValue], _ entry: Int) -> Double? {
        var index = values.count - 1
        while index >= 0 {
            if values[index].entry == entry {
                guard values[index].quality == .ok, let value = values[index].value, value.isFinite else { return nil }
                return value
            }
            index -= 1
        }
        return nil
    }

    // MARK: encoding pieces

    private func eventHead(_ name: String, at time: Int64) -> JSONWriter {
        var json = JSONWriter()
        json.beginObject()
        json.member("time", formatUTCTimestamp(millisecondsSinceEpoch: time))
        json.member("event", name)
        return json
    }

    private mutating func append(event json: inout JSONWriter, at time: Int64) {
        json.endObject()
        guard session != nil else { return }
        session!.lastMilliseconds = max(session!.lastMilliseconds, time)
        if session!.events.count < SessionSettings.maximumEvents {
            session!.events.append(json.text)
        } else {
            session!.eventsLeftOut += 1
        }
    }

    static func seconds(_ name: String, _ milliseconds: Int64, _ json: inout JSONWriter) {
        json.key(name)
        json.rawNumber(formatDecimal(Double(milliseconds) / 1000, decimals: 1))
    }

    static func number(_ name: String, _ value: Double?, _ decimals: Int, _ json: inout JSONWriter) {
        json.key(name)
        if let value, value.isFinite { json.rawNumber(formatDecimal(value, decimals: decimals)) } else { json.null() }
    }

    private func alarmEventName(_ type: AlarmEventType) -> String {
        switch type {
        case .audioPaused, .audioResumed, .limitChange: return type.name
        default: return "alarm-" + type.name
        }
    }

    /// {"time":…,"pump":"running","values":[{"name":"spo2","value":97,"quality":"ok","min":96,"max":98},…]}
    func encodeRow(_ row: ChartRow) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("time", formatUTCTimestamp(millisecondsSinceEpoch: row.rowMilliseconds))
        json.key("pump")
        if let entry = layout.pumpState, entry < row.values.count, let state = row.values[entry].value, state >= 0, state <= 2,
           let pump = BuiltinProfiles.PumpState(rawValue: Int(state)) {
            json.string(pump == .running ? "running" : pump == .paused ? "paused" : "stopped")
        } else {
            json.null()
        }
        json.key("values")
        json.beginArray()
        for entry in layout.charted where entry < row.values.count {
            let value = row.values[entry]
            let decimals = description.entries[entry].decimals
            json.beginObject()
            json.member("name", description.entries[entry].name)
            Self.number("value", value.value, decimals, &json)
            json.member("quality", value.quality.rawValue)
            if let minimum = value.minimum, let maximum = value.maximum {
                Self.number("min", minimum, decimals, &json)
                Self.number("max", maximum, decimals, &json)
            }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.text
    }
}
