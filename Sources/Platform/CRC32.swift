/// CRC-32 as in IEEE 802.3, zlib and PNG (reflected, polynomial 0xEDB88320), so a record's
/// checksum can be cross-checked with any standard tool.
public struct CRC32 {
    static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        for index in 0..<256 {
            var value = UInt32(index)
            for _ in 0..<8 {
                value = (value & 1) != 0 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
            }
            table[index] = value
        }
        return table
    }()

    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    public mutating func update(_ bytes: [UInt8], from start: Int, to end: Int) {
        var crc = state
        CRC32.table.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { buffer in
                var index = start
                while index < end {
                    crc = table[Int((crc ^ UInt32(buffer[index])) & 0xFF)] ^ (crc >> 8)
                    index += 1
                }
            }
        }
        state = crc
    }

    public mutating func update(_ bytes: [UInt8]) { update(bytes, from: 0, to: bytes.count) }

    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        checksum(bytes, from: 0, to: bytes.count)
    }

    public static func checksum(_ bytes: [UInt8], from start: Int, to end: Int) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes, from: start, to: end)
        return crc.value
    }
}
