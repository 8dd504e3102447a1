import Alarms

/// Where an alarm comes from, when it concerns one value: the device and point, the point's
/// IEEE 11073 term (empty name for a point without one), and the device's equipment id for
/// that row's OBX-18 (the box's when nil).
public struct AlarmSource: Sendable, Equatable {
    public var device: String
    public var point: String
    public var term: MDCTerm
    public var equipment: EUI64?

    public init(device: String, point: String, term: MDCTerm, equipment: EUI64? = nil) {
        self.device = device
        self.point = point
        self.term = term
        self.equipment = equipment
    }
}

/// Builds IHE PCD-04 (Report Alert, ACM profile) `ORU^R40^ORU_R40` v2.6 messages, one per
/// alarm event. The OBR's filler order number is the alarm's own id, the same for every
/// event of one alarm, so the alert manager can tie its start, updates and end together.
/// Under it, OBX rows with sub-ids 1.0.0.0.n: the alarm (its condition as text, OBX-8 the
/// priority and the source type), the parameter it concerns, the event phase, the alarm
/// state and the inactivation state.
public struct PCD04Encoder: Sendable {
    public var sender: HL7Sender
    public var locations: [String: BedLocation]

    public init(sender: HL7Sender, locations: [String: BedLocation]) {
        self.sender = sender
        self.locations = locations
    }

    /// MSH-10: per bed, the event's sequence is strictly increasing across restarts.
    public static func controlID(bed: String, sequence: Int64) -> String { "\(bed)-A\(sequence)" }

    public func encode(_ event: AlarmEvent, source: AlarmSource?) -> String {
        let time = hl7Timestamp(millisecondsSinceEpoch: event.wallClockMilliseconds)
        var segments: [String] = []
        segments.append(sender.header(type: ["ORU", "R40", "ORU_R40"],
                                      controlID: PCD04Encoder.controlID(bed: event.bed, sequence: event.sequence),
                                      milliseconds: event.wallClockMilliseconds, profile: PCDProfile.alertCommunication))
        let location = locations[event.bed] ?? BedLocation(pointOfCare: "", room: "", bed: event.bed, facility: sender.facility)
        segments += unboundPatientSegments(bed: event.bed, box: sender.box, location: location)

        var obr = HL7Segment("OBR")
        obr.set(1, "1")
        obr.set(3, hl7Components([event.alarm, sender.application, sender.box.text, "EUI-64"]))
        obr.set(4, PCD04Encoder.alarmTerm.field)
        obr.set(7, time)
        segments.append(obr.text)

        let phase = PCD04Encoder.phase(event.type)
        let box = sender.box.entityIdentifier
        var rows: [(type: String, term: String, value: String, abnormal: String, equipment: String)] = [
            ("ST", PCD04Encoder.alarmTerm.field, hl7Escaped(event.condition),
             PCD04Encoder.priorityFlag(event.priority) + "~" + (event.kind == .physiological ? "SP" : "ST"), box),
        ]
        if let source {
            rows.append(("ST", source.term.name.isEmpty ? hl7Components(["", source.point, "L"]) : source.term.field,
                         hl7Escaped("\(source.device).\(source.point)"), "", source.equipment?.entityIdentifier ?? box))
        }
        rows.append(("ST", MDCTerm(nil, "MDC_ATTR_EVENT_PHASE").field, phase.phase, "", box))
        rows.append(("ST", MDCTerm(nil, "MDC_ATTR_ALARM_STATE").field, phase.state, "", box))
        rows.append(("ST", MDCTerm(nil, "MDC_ATTR_ALARM_INACTIVATION_STATE").field, phase.inactivation, "", box))
        for (index, row) in rows.enumerated() {
            var obx = HL7Segment("OBX")
            obx.set(1, String(index + 1))
            obx.set(2, row.type)
            obx.set(3, row.term)
            obx.set(4, "1.0.0.0.\(index + 1)")
            obx.set(5, row.value)
            obx.set(8, row.abnormal)
            obx.set(11, "F")
            obx.set(14, time)
            obx.set(18, row.equipment)
            segments.append(obx.text)
        }
        return hl7Message(segments)
    }

    static let alarmTerm = MDCTerm(196616, "MDC_EVT_ALARM")

    /// OBX-8's first repetition: PH, PM, PL.
    static func priorityFlag(_ priority: AlarmPriority) -> String {
        switch priority {
        case .high: return "PH"
        case .medium: return "PM"
        case .low: return "PL"
        }
    }

    /// The ACM event phase, alarm state and inactivation state of each event the agent has.
    static func phase(_ type: AlarmEventType) -> (phase: String, state: String, inactivation: String) {
        switch type {
        case .start: return ("start", "active", "enabled")
        case .end: return ("end", "inactive", "enabled")
        case .escalate: return ("escalate", "active", "enabled")
        case .acknowledge: return ("update", "active", "acknowledged")
        case .audioPaused: return ("update", "active", "audio-paused")
        case .audioResumed: return ("update", "active", "enabled")
        case .limitChange: return ("update", "inactive", "enabled")
        }
    }
}
