import HL7
import MLLP
import StoreAndForward
import YAMLReader

/// Where alarm events go as IHE PCD-04 besides MQTT: one MLLP receiver (an alert manager),
/// and what the messages say about the sender.
public struct HL7ForwardSettings: Sendable, Equatable {
    public var link: MLLPSettings
    /// MSH-4, and PV1-3's facility when a bed gives none.
    public var facility: String
    public var receivingApplication: String
    public var receivingFacility: String
    /// `charting.hl7.min_max`: each metric's interval minimum and maximum as OBX rows of their own.
    public var reportsMinimumAndMaximum: Bool

    public init(link: MLLPSettings, facility: String, receivingApplication: String = "", receivingFacility: String = "",
                reportsMinimumAndMaximum: Bool = false) {
        self.link = link
        self.facility = facility
        self.receivingApplication = receivingApplication
        self.receivingFacility = receivingFacility
        self.reportsMinimumAndMaximum = reportsMinimumAndMaximum
    }
}

/// `alarms.forward.hl7:` (and the beds' `location:`).
extension ConfigDecoder {
    /// `forward:` under `alarms:`; its queue lives next to the disk queue's directory
    /// (/var/lib/bedside-gateway/hl7-alarms with the default queue) unless `queue_directory` says.
    func decodeAlarmForward(_ field: Field, queueDirectory: String?) -> HL7ForwardSettings?? {
        guard !field.node.isNull else { return .some(nil) }
        guard let forward = mapping(field, expected: "a mapping with where alarm events are forwarded (hl7)", allowedKeys: ["hl7"])
        else { return nil }
        guard let hl7Field = forward.optional("hl7"), !hl7Field.node.isNull else { return .some(nil) }
        guard let settings = decodeHL7Link(hl7Field, queueDirectory: queueDirectory, queueName: "hl7-alarms") else { return nil }
        return .some(settings)
    }

    /// `charting`: the chart link, which also takes `min_max`.
    func decodeHL7Link(_ field: Field, queueDirectory: String?, queueName: String, charting: Bool = false) -> HL7ForwardSettings? {
        guard let hl7 = mapping(field, expected: "a mapping with the MLLP receiver (host, port, ack_timeout_ms, ...)",
                                allowedKeys: ["host", "port", "ack_timeout_ms", "connect_timeout_ms", "reconnect_max_ms",
                                              "error_retry_ms", "error_attempts", "queue_directory", "queue_max_mb",
                                              "facility", "receiving_application", "receiving_facility"] + (charting ? ["min_max"] : []))
        else { return nil }
        var minMax: Bool? = false
        if let minMaxField = hl7.optional("min_max") { minMax = boolean(minMaxField, defaultHint: "false") }
        let host = required(hl7, "host").flatMap { self.host($0) }
        let port = required(hl7, "port").flatMap { integer($0, in: 1...65535) }
        let ackTimeout = optionalInteger(hl7, "ack_timeout_ms", in: 100...600_000, default: 10_000)
        let connectTimeout = optionalInteger(hl7, "connect_timeout_ms", in: 100...60_000, default: 5_000)
        let reconnectMax = optionalInteger(hl7, "reconnect_max_ms", in: 1_000...3_600_000, default: 30_000)
        let errorRetry = optionalInteger(hl7, "error_retry_ms", in: 100...3_600_000, default: 10_000)
        let errorAttempts = optionalInteger(hl7, "error_attempts", in: 1...100, default: 3)
        let megabytes = optionalInteger(hl7, "queue_max_mb", in: 1...100_000, default: 16)
        var directory: String? = queueDirectory.map { Self.siblingPath(of: $0, named: queueName) } ?? "/var/lib/bedside-gateway/\(queueName)"
        if let directoryField = hl7.optional("queue_directory") { directory = pathSetting(directoryField, what: "HL7 queue directory") }
        let text = Self.controlCharacterProblem
        let facility = optionalString(hl7, "facility", default: "", text)
        let receivingApplication = optionalString(hl7, "receiving_application", default: "", text)
        let receivingFacility = optionalString(hl7, "receiving_facility", default: "", text)
        guard let host, let port, let ackTimeout, let connectTimeout, let reconnectMax, let errorRetry, let errorAttempts,
              let megabytes, let directory, let facility, let receivingApplication, let receivingFacility, let minMax
        else { return nil }
        if let queueDirectory, directory == queueDirectory, let at = hl7.optional("queue_directory") {
            report(at, "the HL7 queue needs a directory of its own, not the MQTT queue's (\(quote(queueDirectory)))")
            return nil
        }
        let queue = QueueSettings(directory: directory, maximumBytes: megabytes << 20, segmentBytes: min(1 << 20, (megabytes << 20) / 4))
        let link = MLLPSettings(host: host, port: port, ackTimeoutMilliseconds: ackTimeout, connectTimeoutMilliseconds: connectTimeout,
                                reconnectFirstMilliseconds: min(1_000, reconnectMax), reconnectLongestMilliseconds: reconnectMax,
                                errorRetryMilliseconds: errorRetry, errorAttempts: errorAttempts, queue: queue)
        return HL7ForwardSettings(link: link, facility: facility, receivingApplication: receivingApplication,
                                  receivingFacility: receivingFacility, reportsMinimumAndMaximum: minMax)
    }

    /// Text that goes into an HL7 field: anything printable (the encoder escapes delimiters).
    static func controlCharacterProblem(_ text: String) -> String? {
        for scalar in text.unicodeScalars where scalar.value < 0x20 || scalar.value == 0x7F {
            return "contains a control character (\(describeCharacter(scalar)))"
        }
        return nil
    }

    /// A bed's `location:` as PV1-3 carries it; without one, the bed's id is the bed.
    func decodeBedLocation(_ field: Field?, bedID: String) -> BedLocation? {
        guard let field, !field.node.isNull else { return BedLocation(pointOfCare: "", room: "", bed: bedID, facility: "") }
        guard let location = mapping(field, expected: "a mapping with the bed's location (point_of_care, room, bed, facility)",
                                     allowedKeys: ["point_of_care", "room", "bed", "facility"])
        else { return nil }
        let text = Self.controlCharacterProblem
        let pointOfCare = optionalString(location, "point_of_care", default: "", text)
        let room = optionalString(location, "room", default: "", text)
        let bed = optionalString(location, "bed", default: bedID, text)
        let facility = optionalString(location, "facility", default: "", text)
        guard let pointOfCare, let room, let bed, let facility else { return nil }
        return BedLocation(pointOfCare: pointOfCare, room: room, bed: bed, facility: facility)
    }
}
