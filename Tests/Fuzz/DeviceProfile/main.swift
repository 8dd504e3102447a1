import Alarms
import FuzzSupport
import Profiles
import RegisterMaps
import Vitals

// A device profile file, then what the agent does with its points: decode registers, build
// the bed's description and vitals message, and feed the alarm engine. Property: the vitals
// message the agent writes decodes, against the description it publishes, to the same
// names and qualities.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzDeviceProfile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    guard let profile = try? ProfileLoader.parseProfile(text: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml") else {
        return 0
    }
    // Register contents from the input's own bytes, so each run decodes something different.
    var registers = [UInt16](repeating: 0, count: 128)
    for (index, byte) in bytes.enumerated() { registers[index % 128] = registers[index % 128] &* 31 &+ UInt16(byte) }
    let description = BedDescription(bedID: "chair-1", devices: [("monitor-1", profile.points)])
    var values: [VitalValue] = []
    var observations: [AlarmObservation] = []
    for (index, point) in profile.points.enumerated() {
        let value = point.decode(registers, at: index % 120)
        let inRange = point.isInRange(value)
        values.append(VitalValue(entry: index, value: inRange ? value : nil, quality: inRange ? .ok : .outOfRange,
                                 wallClockMilliseconds: 1_764_000_000_000))
        observations.append(AlarmObservation(point: point.name, device: "monitor-1", value: inRange ? value : nil,
                                             quality: inRange ? .ok : .outOfRange))
    }
    _ = planReads(profile)
    var encoder = VitalsEncoder(description: description)
    encoder.encode(sequence: 1, wallClockMilliseconds: 1_764_000_000_001, values: values)
    let received: ReceivedDescription
    do {
        received = try decodeBedDescription(Array(description.payload.utf8))
    } catch {
        fuzzRequire(false, "the published description does not decode: \(error)")
        return 0
    }
    let book = DescriptionBook()
    book.add(received)
    do {
        guard case let .interpreted(vitals) = try book.interpret(encoder.bytes) else {
            fuzzRequire(false, "the vitals message names a description the book does not hold")
            return 0
        }
        fuzzRequire(vitals.values.count == values.count, "\(values.count) values written, \(vitals.values.count) read")
        for (index, value) in vitals.values.enumerated() {
            fuzzRequire(value.name == description.entries[index].name, "entry \(index) reads back as \(value.name)")
            fuzzRequire(value.quality == values[index].quality.rawValue, "entry \(index) quality \(value.quality)")
        }
    } catch {
        fuzzRequire(false, "the vitals message does not decode: \(error)")
    }
    var engine = AlarmEngine()
    _ = engine.observe(bed: "chair-1", observations, monotonicMilliseconds: 0, wallClockMilliseconds: 1_764_000_000_000)
    _ = engine.tick(monotonicMilliseconds: 60_000, wallClockMilliseconds: 1_764_000_060_000)
    _ = engine.observe(bed: "chair-1", observations, monotonicMilliseconds: 61_000, wallClockMilliseconds: 1_764_000_061_000)
    return 0
}

runFuzzTarget(fuzzDeviceProfile)
