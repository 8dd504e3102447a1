// Little-endian field access on byte arrays. Callers check bounds first: these trap on a
// short buffer, which would be a bug in the caller, never a property of the data.

extension Array where Element == UInt8 {
    mutating func appendLittleEndian(_ value: UInt64, bytes count: Int) {
        for shift in 0..<count { append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(shift)))) }
    }

    mutating func appendLittleEndian(_ value: UInt16) { appendLittleEndian(UInt64(value), bytes: 2) }
    mutating func appendLittleEndian(_ value: UInt32) { appendLittleEndian(UInt64(value), bytes: 4) }
    mutating func appendLittleEndian(_ value: UInt64) { appendLittleEndian(value, bytes: 8) }
    mutating func appendLittleEndian(_ value: Int64) { appendLittleEndian(UInt64(bitPattern: value), bytes: 8) }

    mutating func storeLittleEndian(_ value: UInt32, at offset: Int) {
        for shift in 0..<4 { self[offset + shift] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(shift))) }
    }

    func loadLittleEndian(at offset: Int, bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        var index = count - 1
        while index >= 0 {
            value = (value << 8) | UInt64(self[offset + index])
            index -= 1
        }
        return value
    }

    func loadUInt16(at offset: Int) -> UInt16 { UInt16(truncatingIfNeeded: loadLittleEndian(at: offset, bytes: 2)) }
    func loadUInt32(at offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: loadLittleEndian(at: offset, bytes: 4)) }
    func loadUInt64(at offset: Int) -> UInt64 { loadLittleEndian(at: offset, bytes: 8) }
    func loadInt64(at offset: Int) -> Int64 { Int64(bitPattern: loadLittleEndian(at: offset, bytes: 8)) }
}
