import Platform

/// One message as the queue keeps it.
public struct QueueRecord: Equatable, Sendable {
    /// Position in the queue: strictly increasing across the whole queue and across restarts.
    public var queueSequence: UInt64
    /// The caller's per-topic (per-bed) message sequence number.
    public var streamSequence: Int64
    public var topic: String
    public var payload: [UInt8]

    public init(queueSequence: UInt64, streamSequence: Int64, topic: String, payload: [UInt8]) {
        self.queueSequence = queueSequence
        self.streamSequence = streamSequence
        self.topic = topic
        self.payload = payload
    }
}

/// The on-disk layout of a record, all integers little-endian:
///
///     offset  size  field
///          0     4  magic "BQR" and format version 1
///          4     4  total length: header + topic + payload
///          8     4  CRC-32 (IEEE) of bytes 12..<total
///         12     8  queue sequence (UInt64)
///         20     8  stream sequence (Int64)
///         28     2  topic length (UInt16)
///         30     4  payload length (UInt32)
///         34        topic (UTF-8), then payload
///
/// The total length is outside the CRC but must equal 34 + topic + payload, which are inside,
/// so a flipped bit anywhere in a record is caught.
public enum RecordFormat {
    public static let magic: [UInt8] = [0x42, 0x51, 0x52, 0x01]
    public static let headerSize = 34
    public static let maximumTopicBytes = Int(UInt16.max)
    static let checksummedFrom = 12

    /// Size on disk, or nil when the topic or payload is too long for the format.
    public static func encodedSize(topicBytes: Int, payloadBytes: Int) -> Int? {
        if topicBytes > maximumTopicBytes { return nil }
        let total = headerSize + topicBytes + payloadBytes
        if payloadBytes > Int(UInt32.max) || total > Int(UInt32.max) { return nil }
        return total
    }

    /// The record's bytes, or nil when the topic or payload is too long for the format.
    public static func encode(queueSequence: UInt64, streamSequence: Int64, topic: [UInt8],
                              payload: [UInt8]) -> [UInt8]? {
        var bytes: [UInt8] = []
        guard encode(queueSequence: queueSequence, streamSequence: streamSequence, topic: topic,
                     payload: payload, into: &bytes) else { return nil }
        return bytes
    }

    /// Replaces `bytes` with the record, keeping its storage: appending through one reused
    /// buffer allocates nothing per record. false (and `bytes` unspecified) when the topic or
    /// payload is too long for the format.
    public static func encode<Topic: Collection<UInt8>>(queueSequence: UInt64, streamSequence: Int64, topic: Topic,
                                                        payload: [UInt8], into bytes: inout [UInt8]) -> Bool {
        guard let total = encodedSize(topicBytes: topic.count, payloadBytes: payload.count) else { return false }
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(total)
        bytes.append(contentsOf: magic)
        bytes.appendLittleEndian(UInt32(total))
        bytes.appendLittleEndian(UInt32(0)) // CRC, stored below
        bytes.appendLittleEndian(queueSequence)
        bytes.appendLittleEndian(streamSequence)
        bytes.appendLittleEndian(UInt16(topic.count))
        bytes.appendLittleEndian(UInt32(payload.count))
        bytes.append(contentsOf: topic)
        bytes.append(contentsOf: payload)
        bytes.storeLittleEndian(CRC32.checksum(bytes, from: checksummedFrom, to: total), at: 8)
        return true
    }

    public static func encode(_ record: QueueRecord) -> [UInt8]? {
        encode(queueSequence: record.queueSequence, streamSequence: record.streamSequence,
               topic: Array(record.topic.utf8), payload: record.payload)
    }

    /// The length of the intact record starting at `offset`, or nil when the bytes there are
    /// not one (wrong magic, inconsistent lengths, cut short, checksum mismatch).
    public static func validRecordLength(in bytes: [UInt8], at offset: Int) -> Int? {
        guard offset >= 0, bytes.count - offset >= headerSize else { return nil }
        for index in 0..<magic.count where bytes[offset + index] != magic[index] { return nil }
        let total = Int(bytes.loadUInt32(at: offset + 4))
        let topicLength = Int(bytes.loadUInt16(at: offset + 28))
        let payloadLength = Int(bytes.loadUInt32(at: offset + 30))
        guard total == headerSize + topicLength + payloadLength, total <= bytes.count - offset else { return nil }
        let stored = bytes.loadUInt32(at: offset + 8)
        guard CRC32.checksum(bytes, from: offset + checksummedFrom, to: offset + total) == stored else { return nil }
        return total
    }

    /// The intact record at `offset`, or nil.
    public static func decode(_ bytes: [UInt8], at offset: Int = 0) -> QueueRecord? {
        guard let total = validRecordLength(in: bytes, at: offset) else { return nil }
        let topicStart = offset + headerSize
        let topicEnd = topicStart + Int(bytes.loadUInt16(at: offset + 28))
        return QueueRecord(queueSequence: bytes.loadUInt64(at: offset + 12),
                           streamSequence: bytes.loadInt64(at: offset + 20),
                           topic: String(decoding: bytes[topicStart..<topicEnd], as: UTF8.self),
                           payload: Array(bytes[topicEnd..<(offset + total)]))
    }
}

/// Where an intact record sits in a segment, with what recovery needs (no payload).
public struct ScannedRecord: Equatable, Sendable {
    public var queueSequence: UInt64
    public var streamSequence: Int64
    public var topic: String
    public var offset: Int
    public var length: Int
}

/// A run of bytes that holds no intact record.
public struct ByteStretch: Equatable, Sendable {
    public var start: Int
    public var end: Int
    public var count: Int { end - start }
}

public struct SegmentScan: Equatable, Sendable {
    /// Intact records in file order, queue sequences strictly increasing.
    public var records: [ScannedRecord] = []
    /// End of the last intact record: what follows is a torn or corrupt tail.
    public var validEnd = 0
    /// Damaged stretches between intact records.
    public var skipped: [ByteStretch] = []
    /// Intact records whose queue sequence is above `DiskQueue.sequenceLimit` or whose stream
    /// sequence is above `DiskQueue.streamSequenceLimit`: no queue writes them, so the segment
    /// was tampered with or corrupted in a way the CRC cannot catch. Left out of `records`.
    public var recordsBeyondRange = 0
}

/// Finds the intact records in a segment's bytes. After damage the scan looks for the next
/// intact record rather than giving up, so one bad sector costs only the records in it.
/// A record must carry a higher queue sequence than the one before it (and than
/// `previousSequence`, the highest in earlier segments); one that does not is damage too.
public func scanSegment(_ bytes: [UInt8], after previousSequence: UInt64 = 0) -> SegmentScan {
    var scan = SegmentScan()
    var lastSequence = previousSequence
    var offset = 0
    var damageStart: Int? = nil
    while offset < bytes.count {
        if let length = RecordFormat.validRecordLength(in: bytes, at: offset) {
            let sequence = bytes.loadUInt64(at: offset + 12)
            let streamSequence = bytes.loadInt64(at: offset + 20)
            if sequence > DiskQueue.sequenceLimit || streamSequence > DiskQueue.streamSequenceLimit {
                scan.recordsBeyondRange += 1
            } else if sequence > lastSequence {
                if let start = damageStart {
                    scan.skipped.append(ByteStretch(start: start, end: offset))
                    damageStart = nil
                }
                let topicStart = offset + RecordFormat.headerSize
                let topicEnd = topicStart + Int(bytes.loadUInt16(at: offset + 28))
                scan.records.append(ScannedRecord(
                    queueSequence: sequence, streamSequence: streamSequence,
                    topic: String(decoding: bytes[topicStart..<topicEnd], as: UTF8.self),
                    offset: offset, length: length))
                lastSequence = sequence
                offset += length
                scan.validEnd = offset
                continue
            }
        }
        if damageStart == nil { damageStart = offset }
        offset = nextMagic(in: bytes, after: offset)
    }
    return scan
}

/// The next offset after `offset` where the record magic starts, or the end of the bytes.
private func nextMagic(in bytes: [UInt8], after offset: Int) -> Int {
    let first = RecordFormat.magic[0]
    var candidate = offset + 1
    while candidate < bytes.count {
        if bytes[candidate] == first && bytes.count - candidate >= RecordFormat.magic.count {
            var matches = true
            for index in 1..<RecordFormat.magic.count where bytes[candidate + index] != RecordFormat.magic[index] {
                matches = false
            }
            if matches { return candidate }
        }
        candidate += 1
    }
    return bytes.count
}
