import JSON
import Platform
import RegisterMaps

/// The JSON message published once per bed per sampling cycle:
/// {"bed":"chair-1","seq":42,"time":"2026-11-24T08:40:01.002Z","vitals":[{"name":"spo2",
///  "value":97,"unit":"%","mdc":"MDC_PULS_OXIM_SAT_O2","mdc_code":150456,"quality":"ok",
///  "device":"monitor-1","time":"2026-11-24T08:40:01.001Z"}, ...]}
public func encodeVitalsMessage(bedID: String, sequence: Int64, wallClockMilliseconds: Int64,
                                samples: [Sample]) -> String {
    var json = JSONWriter()
    json.beginObject()
    json.member("bed", bedID)
    json.member("seq", sequence)
    json.member("time", formatUTCTimestamp(millisecondsSinceEpoch: wallClockMilliseconds))
    json.key("vitals")
    json.beginArray()
    // Samples of one read share a timestamp: format each distinct one once.
    var formattedMilliseconds: Int64 = .min
    var formattedTime = ""
    for sample in samples {
        json.beginObject()
        json.member("name", sample.point.name)
        json.key("value")
        if let value = sample.value {
            json.rawNumber(formatDecimal(value, decimals: sample.point.decimals))
        } else {
            json.null()
        }
        json.member("unit", sample.point.unit)
        json.key("mdc")
        if sample.point.mdcName.isEmpty { json.null() } else { json.string(sample.point.mdcName) }
        json.key("mdc_code")
        if let code = sample.point.mdcCode { json.integer(code) } else { json.null() }
        json.member("quality", sample.quality.rawValue)
        json.member("device", sample.deviceID)
        if sample.wallClockMilliseconds != formattedMilliseconds {
            formattedMilliseconds = sample.wallClockMilliseconds
            formattedTime = formatUTCTimestamp(millisecondsSinceEpoch: formattedMilliseconds)
        }
        json.member("time", formattedTime)
        json.endObject()
    }
    json.endArray()
    json.endObject()
    return json.text
}

/// What a subscriber reads back from a vitals message.
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
    public var values: [Value]
    /// Sent again from the disk queue after an outage; its times are those of the first sending.
    public var replayed: Bool = false

    public func value(named name: String) -> Value? {
        for value in values where value.name == name { return value }
        return nil
    }
}

public struct VitalsMessageError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "not a vitals message: \(reason)" }
}

public func decodeVitalsMessage(_ payload: [UInt8]) throws(VitalsMessageError) -> ReceivedVitals {
    let document: JSONValue
    do {
        document = try JSONParser.parse(payload)
    } catch {
        throw VitalsMessageError(reason: error.description)
    }
    guard let bed = document["bed"]?.stringValue else { throw VitalsMessageError(reason: "no \"bed\" string") }
    guard let sequence = document["seq"]?.integerValue else { throw VitalsMessageError(reason: "no \"seq\" integer") }
    guard let time = document["time"]?.stringValue else { throw VitalsMessageError(reason: "no \"time\" string") }
    guard case let .array(entries)? = document["vitals"] else { throw VitalsMessageError(reason: "no \"vitals\" array") }
    var values: [ReceivedVitals.Value] = []
    for entry in entries {
        guard let name = entry["name"]?.stringValue else { throw VitalsMessageError(reason: "a vital without \"name\"") }
        values.append(ReceivedVitals.Value(name: name, value: entry["value"]?.doubleValue,
                                           unit: entry["unit"]?.stringValue ?? "",
                                           quality: entry["quality"]?.stringValue ?? "",
                                           device: entry["device"]?.stringValue ?? ""))
    }
    var received = ReceivedVitals(bedID: bed, sequence: sequence, time: time, values: values)
    if case .bool(true)? = document["replayed"] { received.replayed = true }
    return received
}
