import FuzzSupport
import RegisterMaps

// Register words as a device returns them, through every point of the built-in profiles:
// raw bits, value, range and status bits. Property: a value in range decodes from bits that
// give the same value again, and a point's value is a number or out of range (never a
// value the range check lets through that is not finite).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzRegisterWords(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzBytes(fuzzInput(data, size))
    var registers: [UInt16] = []
    while !input.isAtEnd && registers.count < 256 { registers.append(input.uint16()) }
    for profile in BuiltinProfiles.all {
        for block in planReads(profile) {
            for point in profile.points where block.contains(point) {
                let offset = point.address - block.start
                guard let bits = point.rawBits(registers, at: offset) else { continue }
                let value = point.value(ofRawBits: bits)
                fuzzRequire(value.isNaN || point.value(ofRawBits: bits) == value, "\(point.name): decoding is not repeatable")
                if point.isInRange(value) { fuzzRequire(value.isFinite, "\(point.name): \(value) passes the range check") }
                fuzzRequire(point.decode(registers, at: offset).bitPattern == value.bitPattern || value.isNaN,
                            "\(point.name): decode and rawBits disagree")
                for field in point.bitFields { _ = point.bit(field, ofRaw: bits) }
            }
        }
    }
    return 0
}

runFuzzTarget(fuzzRegisterWords, seeds: {
    var seeds: [[UInt8]] = []
    for profile in BuiltinProfiles.all {
        var registers = [UInt16](repeating: 0, count: 128)
        for point in profile.points where !point.function.isBitTable && point.address + point.type.width <= 128 {
            let middle = (point.validRange.lowerBound + point.validRange.upperBound) / 2
            point.encode(middle, into: &registers, at: point.address)
        }
        seeds.append(registers.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
    }
    return seeds
})
