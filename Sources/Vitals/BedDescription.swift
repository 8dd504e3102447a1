import JSON
import Platform
import RegisterMaps

/// What a bed's vitals entries are: for each entry name, the device it comes from and what
/// the value means (UCUM unit, IEEE 11073 name and code, decimals). Published retained on
/// `<prefix>/beds/<bed>/description`; every vitals message names the `revision` it follows,
/// so its entries carry only name, value and quality.
public struct BedDescription: Sendable {
    public struct Entry: Sendable, Equatable {
        /// The key of this value in vitals messages: the point's name, or
        /// "<device>.<point>" when another device of the bed has a point of the same name.
        public var name: String
        public var device: String
        /// The point's name in its device profile.
        public var point: String
        public var unit: String
        /// Empty when the point has no IEEE 11073 term (status words, for instance).
        public var mdcName: String
        public var mdcCode: Int?
        public var decimals: Int
        /// Position of `device` in `devices`.
        public var deviceIndex: Int
    }

    public let bedID: String
    /// The bed's devices in configuration order.
    public let devices: [String]
    /// Device by device in configuration order, each device's points in profile order.
    public let entries: [Entry]
    /// A stable hash of the canonical content (16 hex digits): equal descriptions have equal
    /// revisions across restarts and boxes, and any change of a name, unit, code, decimals
    /// or device gives a new one.
    public let revision: String
    /// The retained message.
    public let payload: String

    /// `devices`: each of the bed's devices with its points, in configuration order.
    public init(bedID: String, devices: [(id: String, points: [Point])]) {
        self.bedID = bedID
        self.devices = devices.map { $0.id }
        var nameCounts: [String: Int] = [:]
        for device in devices {
            for point in device.points { nameCounts[point.name, default: 0] += 1 }
        }
        var entries: [Entry] = []
        for (deviceIndex, device) in devices.enumerated() {
            for point in device.points {
                let shared = (nameCounts[point.name] ?? 0) > 1
                entries.append(Entry(name: shared ? "\(device.id).\(point.name)" : point.name, device: device.id,
                                     point: point.name, unit: point.unit, mdcName: point.mdcName,
                                     mdcCode: point.mdcCode, decimals: point.decimals, deviceIndex: deviceIndex))
            }
        }
        self.entries = entries
        let content = BedDescription.canonicalPoints(entries)
        revision = StableHash.hexadecimal(StableHash.fnv1a64(bedID) ^ StableHash.fnv1a64(content))
        var json = JSONWriter()
        json.beginObject()
        json.member("bed", bedID)
        json.member("revision", revision)
        json.key("points")
        json.rawValue(content)
        json.endObject()
        payload = json.text
    }

    /// The points array as published, which is also what the revision hashes.
    private static func canonicalPoints(_ entries: [Entry]) -> String {
        var json = JSONWriter()
        json.beginArray()
        for entry in entries {
            json.beginObject()
            json.member("name", entry.name)
            json.member("device", entry.device)
            json.member("point", entry.point)
            json.member("unit", entry.unit)
            json.key("mdc")
            if entry.mdcName.isEmpty { json.null() } else { json.string(entry.mdcName) }
            json.key("mdc_code")
            if let code = entry.mdcCode { json.integer(code) } else { json.null() }
            json.member("decimals", entry.decimals)
            json.endObject()
        }
        json.endArray()
        return json.text
    }
}

/// A description as a subscriber reads it back.
public struct ReceivedDescription: Equatable {
    public struct Point: Equatable {
        public var name: String
        public var device: String
        public var unit: String
        public var mdc: String?
        public var mdcCode: Int?
    }

    public var bedID: String
    public var revision: String
    public var points: [Point]

    public func point(named name: String) -> Point? {
        for point in points where point.name == name { return point }
        return nil
    }
}

public func decodeBedDescription(_ payload: [UInt8]) throws(VitalsMessageError) -> ReceivedDescription {
    let document: JSONValue
    do {
        document = try JSONParser.parse(payload)
    } catch {
        throw VitalsMessageError(reason: error.description, expected: "a bed description")
    }
    guard let bed = document["bed"]?.stringValue else { throw VitalsMessageError(reason: "no \"bed\" string", expected: "a bed description") }
    guard let revision = document["revision"]?.stringValue else { throw VitalsMessageError(reason: "no \"revision\" string", expected: "a bed description") }
    guard case let .array(entries)? = document["points"] else { throw VitalsMessageError(reason: "no \"points\" array", expected: "a bed description") }
    var points: [ReceivedDescription.Point] = []
    for entry in entries {
        guard let name = entry["name"]?.stringValue, let device = entry["device"]?.stringValue,
              let unit = entry["unit"]?.stringValue else {
            throw VitalsMessageError(reason: "a point without \"name\", \"device\" or \"unit\"", expected: "a bed description")
        }
        let code = entry["mdc_code"]?.integerValue.map { Int($0) }
        points.append(ReceivedDescription.Point(name: name, device: device, unit: unit,
                                                mdc: entry["mdc"]?.stringValue, mdcCode: code))
    }
    return ReceivedDescription(bedID: bed, revision: revision, points: points)
}
