import Platform

/// What must survive the deletion of acknowledged segments: where delivery stands and each
/// topic's latest stream sequence. Layout, little-endian:
///
///     magic "BQC" and version 1 (4), total length (4), CRC-32 of bytes 12..<total (4),
///     lowest unacknowledged queue sequence (8), topic count (4),
///     then per topic: topic length (2), topic (UTF-8), last stream sequence (8)
public struct QueueCheckpoint: Equatable {
    /// Every record below this queue sequence is acknowledged; when nothing is pending it is
    /// the next sequence to be appended, so sequences keep rising after a restart.
    public var lowestUnacknowledged: UInt64
    /// Per topic, the largest stream sequence ever appended.
    public var lastStreamSequences: [String: Int64]

    public static let magic: [UInt8] = [0x42, 0x51, 0x43, 0x01]
    static let fixedSize = 24

    public init(lowestUnacknowledged: UInt64, lastStreamSequences: [String: Int64]) {
        self.lowestUnacknowledged = lowestUnacknowledged
        self.lastStreamSequences = lastStreamSequences
    }

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = QueueCheckpoint.magic
        bytes.appendLittleEndian(UInt32(0)) // total length, stored below
        bytes.appendLittleEndian(UInt32(0)) // CRC, stored below
        bytes.appendLittleEndian(lowestUnacknowledged)
        var count: UInt32 = 0
        var entries: [UInt8] = []
        for (topic, sequence) in lastStreamSequences {
            let topicBytes = Array(topic.utf8)
            if topicBytes.count > Int(UInt16.max) { continue } // never appended: the queue refuses such topics
            entries.appendLittleEndian(UInt16(topicBytes.count))
            entries.append(contentsOf: topicBytes)
            entries.appendLittleEndian(sequence)
            count += 1
        }
        bytes.appendLittleEndian(count)
        bytes.append(contentsOf: entries)
        bytes.storeLittleEndian(UInt32(bytes.count), at: 4)
        bytes.storeLittleEndian(CRC32.checksum(bytes, from: 12, to: bytes.count), at: 8)
        return bytes
    }

    /// nil when the bytes are not an intact checkpoint.
    public static func decode(_ bytes: [UInt8]) -> QueueCheckpoint? {
        guard bytes.count >= fixedSize, Array(bytes[0..<4]) == magic else { return nil }
        guard Int(bytes.loadUInt32(at: 4)) == bytes.count,
              CRC32.checksum(bytes, from: 12, to: bytes.count) == bytes.loadUInt32(at: 8) else { return nil }
        let lowest = bytes.loadUInt64(at: 12)
        let count = Int(bytes.loadUInt32(at: 20))
        var sequences: [String: Int64] = [:]
        var offset = fixedSize
        for _ in 0..<count {
            guard bytes.count - offset >= 2 else { return nil }
            let topicLength = Int(bytes.loadUInt16(at: offset))
            offset += 2
            guard bytes.count - offset >= topicLength + 8 else { return nil }
            let topic = String(decoding: bytes[offset..<(offset + topicLength)], as: UTF8.self)
            offset += topicLength
            sequences[topic] = bytes.loadInt64(at: offset)
            offset += 8
        }
        guard offset == bytes.count else { return nil }
        return QueueCheckpoint(lowestUnacknowledged: lowest, lastStreamSequences: sequences)
    }
}
