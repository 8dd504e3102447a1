import Platform

// The agent's files carry CRC-32s, which random mutation almost never gets right: without
// these repairs a fuzzer would test the checksum comparison and little behind it. A target
// lets one bit of its input decide whether the bytes are repaired first, so both the
// mismatches and what lies behind a matching checksum are explored.

private func loadUInt32(_ bytes: [UInt8], at offset: Int) -> Int {
    Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
}

private func store(_ value: UInt32, in bytes: inout [UInt8], at offset: Int) {
    for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index))) }
}

/// Queue records (magic "BQR\x01", total length at 4, CRC at 8 over bytes 12..<total, topic
/// length at 28, payload length at 30): wherever the magic starts a record whose lengths fit,
/// the total length and the CRC are made to match.
public func repairRecordChecksums(_ bytes: inout [UInt8]) {
    let magic: [UInt8] = [0x42, 0x51, 0x52, 0x01]
    let headerSize = 34
    var offset = 0
    while bytes.count - offset >= headerSize {
        if Array(bytes[offset..<(offset + 4)]) == magic {
            let topic = Int(bytes[offset + 28]) | Int(bytes[offset + 29]) << 8
            let payload = loadUInt32(bytes, at: offset + 30)
            let total = headerSize + topic + payload
            if total <= bytes.count - offset {
                store(UInt32(total), in: &bytes, at: offset + 4)
                store(CRC32.checksum(bytes, from: offset + 12, to: offset + total), in: &bytes, at: offset + 8)
                offset += total
                continue
            }
        }
        offset += 1
    }
}

/// The queue checkpoint (magic "BQC\x01", total length at 4, CRC at 8 over bytes 12...).
public func repairCheckpointChecksum(_ bytes: inout [UInt8]) {
    guard bytes.count >= 24 else { return }
    store(UInt32(bytes.count), in: &bytes, at: 4)
    store(CRC32.checksum(bytes, from: 12, to: bytes.count), in: &bytes, at: 8)
}

/// The alarm log: every line becomes "<crc32 of its text as 8 hex digits> <text>".
public func addAlarmLogChecksums(_ bytes: [UInt8]) -> [UInt8] {
    var result: [UInt8] = []
    var start = 0
    func line(_ end: Int) {
        let body = Array(bytes[start..<end])
        let checksum = CRC32.checksum(body)
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        for shift in stride(from: 28, through: 0, by: -4) { result.append(digits[Int((checksum >> UInt32(shift)) & 0xF)]) }
        result.append(0x20)
        result.append(contentsOf: body)
    }
    for index in bytes.indices where bytes[index] == 0x0A {
        line(index)
        result.append(0x0A)
        start = index + 1
    }
    if start < bytes.count { line(bytes.count) }
    return result
}
