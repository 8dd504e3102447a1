import JSON
import Vitals

/// What `watch` knows of each chair: the latest vitals message, when it arrived, and the
/// chair's active alarms from the retained alarm state. Fed by the MQTT thread, read by the
/// board's layout; times are the watcher's own clock in milliseconds.
public struct BoardState {
    public struct Alarm: Equatable, Sendable {
        public var alarm: String
        public var condition: String
        public var priority: Priority
        public var acknowledged: Bool

        public init(alarm: String, condition: String, priority: Priority, acknowledged: Bool) {
            self.alarm = alarm
            self.condition = condition
            self.priority = priority
            self.acknowledged = acknowledged
        }
    }

    /// IEC 60601-1-8 priorities, each shown in the standard's colour.
    public enum Priority: Int, Comparable, Sendable {
        case low = 1
        case medium = 2
        case high = 3

        public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }
    }

    public struct Chair {
        public var bed: String
        public var vitals: ReceivedVitals?
        /// When the latest vitals message (or the note that it cannot be read yet) arrived.
        public var receivedAt: Int64?
        /// The description revision the latest message names and the watcher does not hold.
        public var waitingForDescription: String?
        public var alarms: [Alarm] = []
        /// "2026-12-03T09:12:00.000Z" while the box's alarm audio is paused.
        public var audioPausedUntil: String?

        public init(bed: String) { self.bed = bed }
    }

    public private(set) var chairs: [String: Chair] = [:]

    public init() {}

    public mutating func received(_ vitals: ReceivedVitals, at now: Int64) {
        var chair = chairs[vitals.bedID] ?? Chair(bed: vitals.bedID)
        chair.vitals = vitals
        chair.receivedAt = now
        chair.waitingForDescription = nil
        chairs[vitals.bedID] = chair
    }

    /// A message that names a description not received yet: its values cannot be shown, but
    /// the chair is alive.
    public mutating func waiting(bed: String, revision: String, at now: Int64) {
        var chair = chairs[bed] ?? Chair(bed: bed)
        chair.waitingForDescription = revision
        chair.receivedAt = now
        chairs[bed] = chair
    }

    /// The retained alarm state of a bed (the topic contract's alarmState), which replaces the
    /// chair's alarms as a whole.
    public mutating func receivedAlarmState(_ payload: [UInt8]) throws(BoardError) {
        let document: JSONValue
        do throws(JSONParseError) {
            document = try JSONParser.parse(payload)
        } catch {
            throw BoardError(reason: "alarm state: " + error.description)
        }
        guard let bed = document["bed"]?.stringValue, !bed.isEmpty else { throw BoardError(reason: "alarm state without \"bed\"") }
        guard case .array(let entries)? = document["active"] else { throw BoardError(reason: "alarm state of \(bed) without \"active\"") }
        var alarms: [Alarm] = []
        for entry in entries {
            guard let alarm = entry["alarm"]?.stringValue, let condition = entry["condition"]?.stringValue,
                  let priorityName = entry["priority"]?.stringValue else {
                throw BoardError(reason: "alarm state of \(bed): an active alarm without alarm, condition or priority")
            }
            let priority: Priority
            switch priorityName {
            case "high": priority = .high
            case "medium": priority = .medium
            case "low": priority = .low
            default: throw BoardError(reason: "alarm state of \(bed): unknown priority '\(priorityName)'")
            }
            var acknowledged = false
            if case .bool(let value)? = entry["acknowledged"] { acknowledged = value }
            alarms.append(Alarm(alarm: alarm, condition: condition, priority: priority, acknowledged: acknowledged))
        }
        var chair = chairs[bed] ?? Chair(bed: bed)
        chair.alarms = alarms
        chair.audioPausedUntil = document["audio_paused_until"]?.stringValue
        chairs[bed] = chair
    }
}

public struct BoardError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
