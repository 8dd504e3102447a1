import JSON
import Platform
import RegisterMaps

/// One value of a bed's message, as the publisher gathers it: which entry of the bed's
/// description it is, and what was read.
public struct VitalValue: Sendable {
    /// Index into `BedDescription.entries`.
    public var entry: Int
    /// nil when the device did not answer.
    public var value: Double?
    public var quality: Quality
    public var wallClockMilliseconds: Int64

    public init(entry: Int, value: Double?, quality: Quality, wallClockMilliseconds: Int64) {
        self.entry = entry
        self.value = value
        self.quality = quality
        self.wallClockMilliseconds = wallClockMilliseconds
    }
}

/// Writes one bed's vitals messages into a buffer it keeps, so that once the buffer has
/// grown to a message's size, encoding allocates nothing:
/// {"bed":"chair-1","seq":42,"time":"2026-11-24T08:40:01.002Z","description":"5f0c6e2a9b1d4e77",
///  "reads":{"monitor-1":"2026-11-24T08:40:01.001Z"},"vitals":[{"name":"spo2","value":97,"quality":"ok"}, ...]}
/// Unit, IEEE 11073 term and device of each entry are in the description the message names.
public struct VitalsEncoder {
    /// The last message encoded.
    public var bytes: [UInt8] = []
    public let bedDescription: BedDescription
    /// `{"bed":"<bed>","seq":`
    private let head: [UInt8]
    /// `,"description":"<revision>","reads":{`
    private let descriptionMember: [UInt8]
    /// Per entry: `{"name":"<name>","value":`
    private let entryHeads: [[UInt8]]
    /// Per device: `"<device>":`
    private let deviceKeys: [[UInt8]]
    /// Per device, the read time of its first value in the message being encoded.
    private var deviceReadTimes: [Int64]

    public init(description: BedDescription) {
        bedDescription = description
        var head: [UInt8] = []
        JSONBytes.append("{\"bed\":", to: &head)
        JSONBytes.appendString(description.bedID, to: &head)
        JSONBytes.append(",\"seq\":", to: &head)
        self.head = head
        var member: [UInt8] = []
        JSONBytes.append(",\"description\":", to: &member)
        JSONBytes.appendString(description.revision, to: &member)
        JSONBytes.append(",\"reads\":{", to: &member)
        descriptionMember = member
        entryHeads = description.entries.map { entry in
            var bytes: [UInt8] = []
            JSONBytes.append("{\"name\":", to: &bytes)
            JSONBytes.appendString(entry.name, to: &bytes)
            JSONBytes.append(",\"value\":", to: &bytes)
            return bytes
        }
        deviceKeys = description.devices.map { device in
            var bytes: [UInt8] = []
            JSONBytes.appendString(device, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            return bytes
        }
        deviceReadTimes = [Int64](repeating: .min, count: description.devices.count)
    }

    /// Replaces `bytes` with the message for `values` (entries of this bed's description).
    public mutating func encode(sequence: Int64, wallClockMilliseconds: Int64, values: [VitalValue]) {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: head)
        JSONBytes.appendInteger(sequence, to: &bytes)
        JSONBytes.append(",\"time\":\"", to: &bytes)
        appendUTCTimestamp(millisecondsSinceEpoch: wallClockMilliseconds, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: descriptionMember)
        for device in deviceReadTimes.indices { deviceReadTimes[device] = .min }
        for value in values where value.entry < entryHeads.count {
            let device = bedDescription.entries[value.entry].deviceIndex
            if deviceReadTimes[device] == .min { deviceReadTimes[device] = value.wallClockMilliseconds }
        }
        var first = true
        for (device, time) in deviceReadTimes.enumerated() where time != .min {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            bytes.append(contentsOf: deviceKeys[device])
            bytes.append(UInt8(ascii: "\""))
            appendUTCTimestamp(millisecondsSinceEpoch: time, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        JSONBytes.append("},\"vitals\":[", to: &bytes)
        first = true
        for value in values where value.entry < entryHeads.count {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            bytes.append(contentsOf: entryHeads[value.entry])
            if let number = value.value {
                JSONBytes.appendDecimal(number, decimals: bedDescription.entries[value.entry].decimals, to: &bytes)
            } else {
                JSONBytes.append("null", to: &bytes)
            }
            switch value.quality {
            case .ok: JSONBytes.append(",\"quality\":\"ok\"}", to: &bytes)
            case .stale: JSONBytes.append(",\"quality\":\"stale\"}", to: &bytes)
            case .outOfRange: JSONBytes.append(",\"quality\":\"out-of-range\"}", to: &bytes)
            case .commLoss: JSONBytes.append(",\"quality\":\"comm-loss\"}", to: &bytes)
            case .sensorOff: JSONBytes.append(",\"quality\":\"sensor-off\"}", to: &bytes)
            }
        }
        JSONBytes.append("]}", to: &bytes)
    }
}

/// What a subscriber reads back from a vitals message, with each value's unit and device
/// taken from the description the message names.
public struct ReceivedVitals: Equatable {
    public struct Value: Equatable {
        public var name: String
        public var value: Double?
        public var unit: String
        public var quality: String
        public var device: String
    }

    public var bedID: String
    public var sequence: Int64
    public var time: String
    /// The revision of the bed description the entries follow.
    public var descriptionRevision: String
    /// Each device's read time in this message.
    public var reads: [(device: String, time: String)]
    public var values: [Value]
    /// Handed to the broker before (or, recovered from disk, may have been) and sent again: a
    /// subscriber may have it already. Its times and seq are those of the first sending.
    public var replayed: Bool = false

    public func value(named name: String) -> Value? {
        for value in values where value.name == name { return value }
        return nil
    }

    public static func == (a: ReceivedVitals, b: ReceivedVitals) -> Bool {
        a.bedID == b.bedID && a.sequence == b.sequence && a.time == b.time && a.descriptionRevision == b.descriptionRevision
            && a.reads.map { $0.device } == b.reads.map { $0.device } && a.reads.map { $0.time } == b.reads.map { $0.time }
            && a.values == b.values && a.replayed == b.replayed
    }
}

public struct VitalsMessageError: Error, CustomStringConvertible {
    public var reason: String
    /// What the payload should have been: "a vitals message" or "a bed description".
    public var expected = "a vitals message"
    public var description: String { "not \(expected): \(reason)" }
}

/// A vitals message read against the descriptions a subscriber holds.
public enum VitalsInterpretation {
    case interpreted(ReceivedVitals)
    /// The message follows a description revision the subscriber does not hold: it must
    /// wait for (or ask for) that description, never guess from another one.
    case unknownDescription(bed: String, revision: String)
}

/// What a vitals message says without its description: enough to de-duplicate (bed + seq)
/// and to tell which description applies, not to interpret a value.
public struct VitalsHeader: Equatable {
    public var bedID: String
    public var sequence: Int64
    public var time: String
    /// The revision of the bed description the entries follow.
    public var descriptionRevision: String
    /// Handed to the broker before (or, recovered from disk, may have been) and sent again: a
    /// subscriber may have it already. Its times and seq are those of the first sending.
    public var replayed: Bool
}

public func decodeVitalsHeader(_ payload: [UInt8]) throws(VitalsMessageError) -> VitalsHeader {
    try decodeVitalsDocument(payload).header
}

private func decodeVitalsDocument(_ payload: [UInt8]) throws(VitalsMessageError) -> (header: VitalsHeader, document: JSONValue) {
    let document: JSONValue
    do {
        document = try JSONParser.parse(payload)
    } catch {
        throw VitalsMessageError(reason: error.description)
    }
    guard let bed = document["bed"]?.stringValue else { throw VitalsMessageError(reason: "no \"bed\" string") }
    guard let sequence = document["seq"]?.integerValue else { throw VitalsMessageError(reason: "no \"seq\" integer") }
    guard let time = document["time"]?.stringValue else { throw VitalsMessageError(reason: "no \"time\" string") }
    guard let revision = document["description"]?.stringValue else {
        throw VitalsMessageError(reason: "no \"description\" revision")
    }
    var replayed = false
    if case .bool(true)? = document["replayed"] { replayed = true }
    return (VitalsHeader(bedID: bed, sequence: sequence, time: time, descriptionRevision: revision, replayed: replayed),
            document)
}

/// Decodes a vitals message and reads each entry's unit and device from the description of
/// the revision it names, as `descriptions` returns it (nil: not held).
public func decodeVitalsMessage(_ payload: [UInt8],
                                descriptions: (_ bed: String, _ revision: String) -> ReceivedDescription?)
    throws(VitalsMessageError) -> VitalsInterpretation {
    let (header, document) = try decodeVitalsDocument(payload)
    guard case let .array(entries)? = document["vitals"] else { throw VitalsMessageError(reason: "no \"vitals\" array") }
    var reads: [(device: String, time: String)] = []
    if case let .object(members)? = document["reads"] {
        for member in members {
            guard let readTime = member.value.stringValue else { throw VitalsMessageError(reason: "a read time that is not a string") }
            reads.append((member.key, readTime))
        }
    }
    let bed = header.bedID
    let revision = header.descriptionRevision
    guard let described = descriptions(bed, revision) else { return .unknownDescription(bed: bed, revision: revision) }
    var values: [ReceivedVitals.Value] = []
    for entry in entries {
        guard let name = entry["name"]?.stringValue else { throw VitalsMessageError(reason: "a vital without \"name\"") }
        guard let point = described.point(named: name) else {
            throw VitalsMessageError(reason: "\"\(name)\" is not in description \(revision) of bed \(bed)")
        }
        values.append(ReceivedVitals.Value(name: name, value: entry["value"]?.doubleValue, unit: point.unit,
                                           quality: entry["quality"]?.stringValue ?? "", device: point.device))
    }
    return .interpreted(ReceivedVitals(bedID: bed, sequence: header.sequence, time: header.time, descriptionRevision: revision,
                                       reads: reads, values: values, replayed: header.replayed))
}

/// The subscriber's side of the contract: descriptions as they arrive, every revision kept
/// (replayed messages may name an older one), and vitals interpreted against the one they name.
public final class DescriptionBook {
    private var known: [String: ReceivedDescription] = [:]

    public init() {}

    public func add(_ description: ReceivedDescription) {
        known[description.bedID + "\u{0}" + description.revision] = description
    }

    public func description(bed: String, revision: String) -> ReceivedDescription? {
        known[bed + "\u{0}" + revision]
    }

    public func interpret(_ payload: [UInt8]) throws(VitalsMessageError) -> VitalsInterpretation {
        try decodeVitalsMessage(payload) { bed, revision in self.description(bed: bed, revision: revision) }
    }
}
