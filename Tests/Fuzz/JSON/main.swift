import FuzzSupport
import JSON
import RegisterMaps
import Vitals

// The JSON parser (commands, descriptions and vitals read back by `watch`), the writer and
// the subscriber's vitals decoding. Properties: what parses, written again, parses to the
// same document; a string written by JSONBytes parses back to itself.
func written(_ value: JSONValue, into writer: inout JSONWriter) {
    switch value {
    case .null: writer.null()
    case let .bool(flag): writer.bool(flag)
    case let .number(text): writer.rawNumber(text)
    case let .string(text): writer.string(text)
    case let .array(items):
        writer.beginArray()
        for item in items { written(item, into: &writer) }
        writer.endArray()
    case let .object(members):
        writer.beginObject()
        for member in members {
            writer.key(member.key)
            written(member.value, into: &writer)
        }
        writer.endObject()
    }
}

// Descriptions of the built-in profiles, so vitals naming their revisions are interpreted.
let book: DescriptionBook = {
    let book = DescriptionBook()
    let description = BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                                 ("pump-1", BuiltinProfiles.infusionPump.points)])
    if let received = try? decodeBedDescription(Array(description.payload.utf8)) { book.add(received) }
    return book
}()

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    if let document = try? JSONParser.parse(bytes) {
        var writer = JSONWriter()
        written(document, into: &writer)
        let again = try? JSONParser.parse(writer.text)
        fuzzRequire(again == document, "\(writer.text) does not parse back to the document it was written from")
    }
    let text = String(decoding: bytes, as: UTF8.self)
    var quoted: [UInt8] = []
    JSONBytes.appendString(text, to: &quoted)
    let reread = try? JSONParser.parse(quoted)
    fuzzRequire(reread == .string(text), "a string written by JSONBytes does not parse back to itself")
    _ = try? decodeVitalsHeader(bytes)
    _ = try? book.interpret(bytes)
    return 0
}

runFuzzTarget(fuzzJSON, seeds: {
    let description = BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                                 ("pump-1", BuiltinProfiles.infusionPump.points)])
    var encoder = VitalsEncoder(description: description)
    let values = description.entries.indices.map { VitalValue(entry: $0, value: Double($0) * 1.5, quality: .ok,
                                                              wallClockMilliseconds: 1_764_000_000_000) }
    encoder.encode(sequence: 42, wallClockMilliseconds: 1_764_000_000_002, values: values)
    return [Array(description.payload.utf8), encoder.bytes,
            Array(#"{"a":[1,-2.5e3,true,false,null,"\u00e9\n"],"b":{}}"#.utf8)]
})
