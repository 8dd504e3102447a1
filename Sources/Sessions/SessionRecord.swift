import Alarms
import JSON
import Platform
import Vitals

/// The record's JSON (Deploy/mqtt/asyncapi.yaml, `sessionRecord`):
/// {"session","bed","state":"open"|"ended","start","end","started_by","ended_by","interval_s",
///  "points":[{"name","unit"}],"rows":[…],"rows_left_out","events":[…],"events_left_out","summary":{…}}
/// Rows and events are kept as their finished JSON, so writing a record is one pass over them.
extension SessionRecorder {
    /// The open session's record as it stands at `time`; nil when no session is open.
    public func runningRecord(at time: Int64) -> String? {
        guard session != nil else { return nil }
        return encodeRecord(at: time, ended: nil)
    }

    /// What the retained session topic says while no session is open.
    public func noSessionPayload(at time: Int64) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("bed", bedID)
        json.member("state", "none")
        json.key("last_session")
        if lastSessionID.isEmpty { json.null() } else { json.string(lastSessionID) }
        json.member("time", formatUTCTimestamp(millisecondsSinceEpoch: time))
        json.endObject()
        return json.text
    }

    func encodeRecord(at time: Int64, ended: String?) -> String {
        guard let open = session else { return "" }
        var json = JSONWriter()
        json.beginObject()
        json.member("session", open.id)
        json.member("bed", bedID)
        json.member("state", ended == nil ? "open" : "ended")
        json.member("start", formatUTCTimestamp(millisecondsSinceEpoch: open.startMilliseconds))
        json.key("end")
        if ended != nil { json.string(formatUTCTimestamp(millisecondsSinceEpoch: time)) } else { json.null() }
        json.member("started_by", open.startedBy)
        json.key("ended_by")
        if let ended { json.string(ended) } else { json.null() }
        json.member("interval_s", Int(intervalMilliseconds / 1000))
        json.key("points")
        json.beginArray()
        for entry in layout.charted {
            json.beginObject()
            json.member("name", description.entries[entry].name)
            json.member("unit", description.entries[entry].unit)
            json.endObject()
        }
        json.endArray()
        json.key("rows")
        json.beginArray()
        for row in open.rows { json.rawValue(row) }
        json.endArray()
        json.member("rows_left_out", open.rowsLeftOut)
        json.key("events")
        json.beginArray()
        for event in open.events { json.rawValue(event) }
        json.endArray()
        json.member("events_left_out", open.eventsLeftOut)
        json.key("summary")
        encodeSummary(open, at: time, into: &json)
        json.endObject()
        return json.text
    }

    private func encodeSummary(_ open: OpenSession, at time: Int64, into json: inout JSONWriter) {
        var alarms = open.alarms
        alarms.close(at: time)
        json.beginObject()
        Self.seconds("duration_s", max(0, time - open.startMilliseconds), &json)
        Self.number("volume_infused_ml", open.lastVolume == nil ? nil : open.volumeInfused,
                    layout.volumeInfused.map { description.entries[$0].decimals } ?? 1, &json)
        Self.number("spo2_lowest", open.lowestSpO2, decimals(layout.spo2), &json)
        Self.seconds("spo2_below_90_s", open.belowSpO2Milliseconds, &json)
        Self.number("systolic_highest", open.highestSystolic, decimals(layout.systolic), &json)
        Self.number("heart_rate_highest", open.highestHeartRate, decimals(layout.heartRate), &json)
        Self.number("respiratory_rate_lowest", open.lowestRespiratoryRate, decimals(layout.respiratoryRate), &json)
        json.key("alarms")
        Self.encodeAlarmConditions(alarms, into: &json)
        Self.optionalSeconds("acknowledge_median_s", alarms.medianAcknowledgeMilliseconds, &json)
        Self.optionalSeconds("acknowledge_longest_s", alarms.longestAcknowledgeMilliseconds, &json)
        Self.seconds("high_alarm_active_s", alarms.highActiveMilliseconds, &json)
        json.key("completeness")
        json.beginObject()
        for count in open.counts {
            json.key(count.name)
            if count.samples == 0 {
                json.null()
            } else {
                json.rawNumber(formatDecimal(Double(count.okSamples) / Double(count.samples), decimals: 3))
            }
        }
        json.endObject()
        json.endObject()
    }

    private func decimals(_ entry: Int?) -> Int { entry.map { description.entries[$0].decimals } ?? 0 }

    /// [{"condition","low","medium","high","escalated","ended","duration_total_s","duration_median_s",
    ///   "acknowledged","acknowledge_median_s"}], one per condition that started or was active.
    static func encodeAlarmConditions(_ alarms: AlarmStatistics, into json: inout JSONWriter) {
        json.beginArray()
        for condition in alarms.conditions {
            json.beginObject()
            json.member("condition", condition.condition)
            json.member("low", condition.started[0])
            json.member("medium", condition.started[1])
            json.member("high", condition.started[2])
            json.member("escalated", condition.escalated)
            json.member("ended", condition.ended)
            seconds("duration_total_s", condition.durationTotalMilliseconds, &json)
            optionalSeconds("duration_median_s", condition.medianDurationMilliseconds, &json)
            json.member("acknowledged", condition.acknowledged)
            optionalSeconds("acknowledge_median_s", condition.medianAcknowledgeMilliseconds, &json)
            json.endObject()
        }
        json.endArray()
    }

    static func optionalSeconds(_ name: String, _ milliseconds: Int64?, _ json: inout JSONWriter) {
        if let milliseconds { seconds(name, milliseconds, &json) } else { json.key(name); json.null() }
    }
}

/// A state file that cannot be used: the caller moves it aside and starts without it.
public struct SessionStateError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { "not a session state: \(reason)" }
}

/// The state file: one JSON document of everything a recorder needs to continue, written after
/// every change worth keeping and read once at start.
extension SessionRecorder {
    static let snapshotVersion = 1

    public func snapshot() -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.member("version", Self.snapshotVersion)
        json.member("bed", bedID)
        json.key("pump_state")
        if let pumpState { json.integer(pumpState) } else { json.null() }
        json.member("armed", armed)
        json.member("last_session", lastSessionID)
        json.key("devices_down")
        json.beginArray()
        for down in devicesDown {
            json.beginObject()
            json.member("device", down.device)
            json.member("since", down.since)
            json.endObject()
        }
        json.endArray()
        json.key("session")
        if let open = session { Self.write(open, into: &json) } else { json.null() }
        json.endObject()
        return Array(json.text.utf8)
    }

    private static func write(_ open: OpenSession, into json: inout JSONWriter) {
        json.beginObject()
        json.member("id", open.id)
        json.member("start", open.startMilliseconds)
        json.member("started_by", open.startedBy)
        json.member("last", open.lastMilliseconds)
        json.member("pump_has_run", open.pumpHasRun)
        optionalInteger("not_running_since", open.notRunningSince, &json)
        optionalDouble("reported_rate", open.reportedRate, &json)
        json.member("occluded", open.occluded)
        json.key("rows")
        json.beginArray()
        for row in open.rows { json.string(row) }
        json.endArray()
        json.key("events")
        json.beginArray()
        for event in open.events { json.string(event) }
        json.endArray()
        json.member("rows_left_out", open.rowsLeftOut)
        json.member("events_left_out", open.eventsLeftOut)
        json.key("counts")
        json.beginArray()
        for count in open.counts {
            json.beginObject()
            json.member("name", count.name)
            json.member("samples", count.samples)
            json.member("ok", count.okSamples)
            json.endObject()
        }
        json.endArray()
        optionalDouble("volume", open.volumeInfused, &json)
        optionalDouble("last_volume", open.lastVolume, &json)
        optionalDouble("spo2_lowest", open.lowestSpO2, &json)
        json.member("spo2_below_ms", open.belowSpO2Milliseconds)
        optionalDouble("spo2_last", open.lastSpO2?.value, &json)
        optionalInteger("spo2_last_time", open.lastSpO2?.milliseconds, &json)
        optionalDouble("systolic_highest", open.highestSystolic, &json)
        optionalDouble("heart_rate_highest", open.highestHeartRate, &json)
        optionalDouble("respiratory_rate_lowest", open.lowestRespiratoryRate, &json)
        json.key("alarms")
        write(open.alarms, into: &json)
        json.endObject()
    }

    private static func write(_ alarms: AlarmStatistics, into json: inout JSONWriter) {
        json.beginObject()
        json.key("conditions")
        json.beginArray()
        for condition in alarms.conditions {
            json.beginObject()
            json.member("condition", condition.condition)
            integers("started", condition.started.map { Int64($0) }, &json)
            json.member("escalated", condition.escalated)
            integers("durations", condition.durations, &json)
            json.member("duration_total", condition.durationTotalMilliseconds)
            json.member("ended", condition.ended)
            integers("acknowledge_times", condition.acknowledgeTimes, &json)
            json.member("acknowledge_total", condition.acknowledgeTotalMilliseconds)
            json.member("acknowledged", condition.acknowledged)
            json.endObject()
        }
        json.endArray()
        json.key("open")
        json.beginArray()
        for alarm in alarms.open {
            json.beginObject()
            json.member("alarm", alarm.alarm)
            json.member("condition", alarm.condition)
            json.member("priority", alarm.priority.name)
            json.member("start", alarm.startMilliseconds)
            optionalInteger("acknowledged", alarm.acknowledgedMilliseconds, &json)
            json.endObject()
        }
        json.endArray()
        integers("acknowledge_times", alarms.acknowledgeTimes, &json)
        optionalInteger("acknowledge_longest", alarms.longestAcknowledgeMilliseconds, &json)
        json.member("high_active", alarms.highActiveMilliseconds)
        optionalInteger("high_active_since", alarms.highActiveSince, &json)
        json.endObject()
    }

    private static func integers(_ name: String, _ values: [Int64], _ json: inout JSONWriter) {
        json.key(name)
        json.beginArray()
        for value in values { json.integer(value) }
        json.endArray()
    }

    private static func optionalInteger(_ name: String, _ value: Int64?, _ json: inout JSONWriter) {
        json.key(name)
        if let value { json.integer(value) } else { json.null() }
    }

    /// Doubles with up to 6 decimals: exact for what devices report (at most 3).
    private static func optionalDouble(_ name: String, _ value: Double?, _ json: inout JSONWriter) {
        json.key(name)
        if let value, value.isFinite { json.rawNumber(formatDecimal(value, decimals: 6)) } else { json.null() }
    }

    /// A recorder continuing from `snapshot`, for a bed of `description`. Counts of entries the
    /// description no longer has are dropped; new entries start from zero.
    public init(description: BedDescription, intervalMilliseconds: Int64, settings: SessionSettings,
                snapshot: [UInt8]) throws(SessionStateError) {
        self.init(description: description, intervalMilliseconds: intervalMilliseconds, settings: settings)
        let document: JSONValue
        do {
            document = try JSONParser.parse(snapshot)
        } catch {
            throw SessionStateError(reason: error.description)
        }
        var reader = SnapshotReader(document)
        guard try reader.integer("version") == Int64(Self.snapshotVersion) else {
            throw SessionStateError(reason: "version \(document["version"]?.integerValue ?? -1), expected \(Self.snapshotVersion)")
        }
        let bed = try reader.string("bed")
        guard bed == description.bedID else { throw SessionStateError(reason: "it is bed \(bed)'s, not \(description.bedID)'s") }
        pumpState = try reader.optionalInteger("pump_state").map { Int($0) }
        armed = try reader.bool("armed")
        lastSessionID = try reader.string("last_session")
        for item in try reader.array("devices_down") {
            var down = SnapshotReader(item)
            devicesDown.append((try down.string("device"), try down.integer("since")))
        }
        if let sessionValue = document["session"], sessionValue != .null {
            session = try Self.readSession(sessionValue, layout: layout, description: description)
        }
    }

    private static func readSession(_ value: JSONValue, layout: SessionLayout,
                                    description: BedDescription) throws(SessionStateError) -> OpenSession {
        var reader = SnapshotReader(value)
        var open = OpenSession(id: try reader.string("id"), startMilliseconds: try reader.integer("start"),
                               startedBy: try reader.string("started_by"), lastMilliseconds: try reader.integer("last"))
        guard SessionID.isWellFormed(open.id, beds: [description.bedID]) else {
            throw SessionStateError(reason: "session id \(open.id) is not one of bed \(description.bedID)")
        }
        open.pumpHasRun = try reader.bool("pump_has_run")
        open.notRunningSince = try reader.optionalInteger("not_running_since")
        open.reportedRate = try reader.optionalDouble("reported_rate")
        open.occluded = try reader.bool("occluded")
        // Rows and events go into records as they are: each must be a JSON object.
        for row in try reader.array("rows") { open.rows.append(try jsonObjectText(row, what: "a row")) }
        for event in try reader.array("events") { open.events.append(try jsonObjectText(event, what: "an event")) }
        open.rowsLeftOut = Int(try reader.integer("rows_left_out"))
        open.eventsLeftOut = Int(try reader.integer("events_left_out"))
        var stored: [(name: String, samples: Int, okSamples: Int)] = []
        for item in try reader.array("counts") {
            var count = SnapshotReader(item)
            stored.append((try count.string("name"), Int(try count.integer("samples")), Int(try count.integer("ok"))))
        }
        open.counts = layout.charted.map { entry in
            let name = description.entries[entry].name
            let kept = stored.first { $0.name == name }
            return (name, kept?.samples ?? 0, kept?.okSamples ?? 0)
        }
        open.volumeInfused = try reader.optionalDouble("volume") ?? 0
        open.lastVolume = try reader.optionalDouble("last_volume")
        open.lowestSpO2 = try reader.optionalDouble("spo2_lowest")
        open.belowSpO2Milliseconds = try reader.integer("spo2_below_ms")
        if let last = try reader.optionalDouble("spo2_last"), let time = try reader.optionalInteger("spo2_last_time") {
            open.lastSpO2 = (last, time)
        }
        open.highestSystolic = try reader.optionalDouble("systolic_highest")
        open.highestHeartRate = try reader.optionalDouble("heart_rate_highest")
        open.lowestRespiratoryRate = try reader.optionalDouble("respiratory_rate_lowest")
        guard let alarms = value["alarms"] else { throw SessionStateError(reason: "no \"alarms\"") }
        open.alarms = try readAlarms(alarms)
        return open
    }

    private static func jsonObjectText(_ value: JSONValue, what: String) throws(SessionStateError) -> String {
        guard let text = value.stringValue else { throw SessionStateError(reason: "\(what) that is not a string") }
        guard case .object? = try? JSONParser.parse(text) else { throw SessionStateError(reason: "\(what) that is not a JSON object") }
        return text
    }

    private static func readAlarms(_ value: JSONValue) throws(SessionStateError) -> AlarmStatistics {
        var reader = SnapshotReader(value)
        var conditions: [AlarmStatistics.Condition] = []
        for item in try reader.array("conditions") {
            var entry = SnapshotReader(item)
            var condition = AlarmStatistics.Condition(condition: try entry.string("condition"))
            let started = try entry.integers("started")
            guard started.count == 3 else { throw SessionStateError(reason: "\"started\" is not three counts") }
            condition.started = started.map { Int($0) }
            condition.escalated = Int(try entry.integer("escalated"))
            condition.durations = try entry.integers("durations")
            condition.durationTotalMilliseconds = try entry.integer("duration_total")
            condition.ended = Int(try entry.integer("ended"))
            condition.acknowledgeTimes = try entry.integers("acknowledge_times")
            condition.acknowledgeTotalMilliseconds = try entry.integer("acknowledge_total")
            condition.acknowledged = Int(try entry.integer("acknowledged"))
            conditions.append(condition)
        }
        var open: [AlarmStatistics.OpenAlarm] = []
        for item in try reader.array("open") {
            var entry = SnapshotReader(item)
            let priorityName = try entry.string("priority")
            guard let priority = AlarmPriority(name: priorityName) else {
                throw SessionStateError(reason: "alarm priority \(priorityName)")
            }
            open.append(AlarmStatistics.OpenAlarm(alarm: try entry.string("alarm"), condition: try entry.string("condition"),
                                                  priority: priority, startMilliseconds: try entry.integer("start"),
                                                  acknowledgedMilliseconds: try entry.optionalInteger("acknowledged")))
        }
        return AlarmStatistics(conditions: conditions, open: open, acknowledgeTimes: try reader.integers("acknowledge_times"),
                               longestAcknowledgeMilliseconds: try reader.optionalInteger("acknowledge_longest"),
                               highActiveMilliseconds: try reader.integer("high_active"),
                               highActiveSince: try reader.optionalInteger("high_active_since"))
    }
}

/// Typed member access for the state file: each failure names the member.
struct SnapshotReader {
    let value: JSONValue

    init(_ value: JSONValue) { self.value = value }

    private func member(_ name: String) throws(SessionStateError) -> JSONValue {
        guard let member = value[name] else { throw SessionStateError(reason: "no \"\(name)\"") }
        return member
    }

    mutating func string(_ name: String) throws(SessionStateError) -> String {
        guard let text = try member(name).stringValue else { throw SessionStateError(reason: "\"\(name)\" is not a string") }
        return text
    }

    /// Every number the state holds (times, durations, counts) is at least 0 and at most this
    /// (2^62 ms: 146 million years): a forged or damaged file with more is refused, so the
    /// recorder's differences and sums of them cannot overflow.
    static let largestNumber = Int64(1) << 62

    mutating func integer(_ name: String) throws(SessionStateError) -> Int64 {
        guard let number = try member(name).integerValue, number >= 0, number <= Self.largestNumber else {
            throw SessionStateError(reason: "\"\(name)\" is not an integer in 0...2^62")
        }
        return number
    }

    mutating func optionalInteger(_ name: String) throws(SessionStateError) -> Int64? {
        let value = try member(name)
        if value == .null { return nil }
        guard let number = value.integerValue, number >= 0, number <= Self.largestNumber else {
            throw SessionStateError(reason: "\"\(name)\" is not an integer in 0...2^62")
        }
        return number
    }

    mutating func optionalDouble(_ name: String) throws(SessionStateError) -> Double? {
        let value = try member(name)
        if value == .null { return nil }
        guard let number = value.doubleValue, number.isFinite else { throw SessionStateError(reason: "\"\(name)\" is not a number") }
        return number
    }

    mutating func bool(_ name: String) throws(SessionStateError) -> Bool {
        guard case .bool(let flag) = try member(name) else { throw SessionStateError(reason: "\"\(name)\" is not true or false") }
        return flag
    }

    mutating func array(_ name: String) throws(SessionStateError) -> [JSONValue] {
        guard case .array(let items) = try member(name) else { throw SessionStateError(reason: "\"\(name)\" is not an array") }
        return items
    }

    mutating func integers(_ name: String) throws(SessionStateError) -> [Int64] {
        var numbers: [Int64] = []
        for item in try array(name) {
            guard let number = item.integerValue, number >= 0, number <= Self.largestNumber else {
                throw SessionStateError(reason: "\"\(name)\" holds something other than an integer in 0...2^62")
            }
            numbers.append(number)
        }
        return numbers
    }
}
