/// The topic contract (Deploy/mqtt/asyncapi.yaml): every topic the agent publishes to or
/// reads, under one configured prefix ("bedside/<site>/<box>" unless configured otherwise).
/// Beds and devices appear only by their opaque configured ids.
public struct Topics: Sendable {
    public let prefix: String

    public init(prefix: String) { self.prefix = prefix }

    /// Retained birth ("online") and death ("offline", also the Last Will) of the agent.
    public var status: String { "\(prefix)/status" }
    /// One message per bed per sampling cycle, QoS 1, through the disk queue.
    public func vitals(bed: String) -> String { "\(prefix)/beds/\(bed)/vitals" }
    /// Retained description of a bed's vitals entries (device, unit, IEEE 11073 term), QoS 1,
    /// on every connection and through the disk queue when it starts a run.
    public func description(bed: String) -> String { "\(prefix)/beds/\(bed)\(Topics.descriptionSuffix)" }
    /// Alarm events (start, end, escalate, acknowledge, pause), QoS 1, through the disk queue.
    public func alarmEvents(bed: String) -> String { "\(prefix)/beds/\(bed)/\(Topics.alarmEventsLevels)" }
    /// Retained current alarm state of a bed.
    public func alarmState(bed: String) -> String { "\(prefix)/beds/\(bed)/alarms/state" }
    /// One FHIR R4 Bundle (type collection) per bed per charting interval, QoS 1, through the disk queue.
    public func fhirBundle(bed: String) -> String { "\(prefix)/beds/\(bed)\(Topics.fhirSuffix)" }
    /// Retained FHIR R4 Device resource of one device, which the bundles' observations reference.
    public func fhirDevice(device: String) -> String { "\(prefix)/devices/\(device)\(Topics.fhirSuffix)" }
    /// Retained record of a bed's open infusion session (or that none is open), at each row and event.
    public func session(bed: String) -> String { "\(prefix)/beds/\(bed)/session" }
    /// Each finished infusion session's final record, QoS 1, through the disk queue.
    public func sessionRecords(bed: String) -> String { "\(prefix)/beds/\(bed)/sessions" }
    /// Retained connectivity of one device: answering or comm-loss.
    public func deviceState(device: String) -> String { "\(prefix)/devices/\(device)/state" }
    /// Retained health summary, every `health.publish_interval_s`.
    public var health: String { "\(prefix)/health" }
    /// Commands in (acknowledge-alarm, pause-audio, rebirth, session-start, session-end).
    public var commands: String { "\(prefix)/commands" }
    /// One reply per command received, accepted or refused with its reason.
    public var responses: String { "\(prefix)/responses" }

    private static let alarmEventsLevels = "alarms/events"
    private static let descriptionSuffix = "/description"
    private static let fhirSuffix = "/fhir"

    /// Whether `topic`, as received through a wildcard subscription, is a bed's alarm events.
    public static func isAlarmEvents(_ topic: String) -> Bool { topic.hasSuffix("/" + alarmEventsLevels) }
    /// Whether `topic` is a bed's description.
    public static func isDescription(_ topic: String) -> Bool { topic.hasSuffix(descriptionSuffix) }
    /// Whether `topic` carries FHIR resources (a bed's bundles, a device's Device).
    public static func isFHIR(_ topic: String) -> Bool { topic.hasSuffix(fhirSuffix) }
}
