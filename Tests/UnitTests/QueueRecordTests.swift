import Platform
import Testing
@testable import StoreAndForward

struct QueueRecordTests {
    @Test func crc32MatchesPublishedVectors() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        #expect(CRC32.checksum(Array("a".utf8)) == 0xE8B7_BE43)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        #expect(CRC32.checksum((0...255).map { UInt8($0) }) == 0x2905_8C73)
    }

    @Test func crc32InPiecesEqualsInOneGo() {
        let bytes = Array("123456789".utf8)
        var crc = CRC32()
        crc.update(bytes, from: 0, to: 4)
        crc.update(bytes, from: 4, to: 9)
        #expect(crc.value == 0xCBF4_3926)
        #expect(CRC32.checksum([0, 0x31, 0x32, 0x33, 0], from: 1, to: 4) == CRC32.checksum(Array("123".utf8)))
    }

    static let samples: [QueueRecord] = [
        QueueRecord(queueSequence: 1, streamSequence: 0, topic: "clinic/beds/1/vitals", payload: []),
        QueueRecord(queueSequence: 2, streamSequence: -7, topic: "", payload: Array("{\"hr\":72}".utf8)),
        QueueRecord(queueSequence: 3, streamSequence: Int64.max, topic: "Station Süd/Bett 3/心拍/vitals",
                    payload: (0...255).map { UInt8($0) }),
        QueueRecord(queueSequence: UInt64.max, streamSequence: Int64.min,
                    topic: String(repeating: "t", count: RecordFormat.maximumTopicBytes),
                    payload: [UInt8](repeating: 0xFF, count: 100_000)),
    ]

    @Test(arguments: samples)
    func encodeDecodeRoundTrip(record: QueueRecord) throws {
        let bytes = try #require(RecordFormat.encode(record))
        #expect(bytes.count == RecordFormat.headerSize + record.topic.utf8.count + record.payload.count)
        #expect(RecordFormat.validRecordLength(in: bytes, at: 0) == bytes.count)
        #expect(RecordFormat.decode(bytes) == record)
        // At an offset inside a larger buffer, with bytes after it.
        let embedded = [0xAA, 0xBB] + bytes + [0x01]
        #expect(RecordFormat.decode(embedded, at: 2) == record)
    }

    @Test func headerLayoutIsLittleEndianAsDocumented() throws {
        let record = QueueRecord(queueSequence: 0x0102_0304_0506_0708, streamSequence: -2, topic: "ab", payload: [9])
        let bytes = try #require(RecordFormat.encode(record))
        #expect(Array(bytes[0..<4]) == [0x42, 0x51, 0x52, 0x01])
        #expect(Array(bytes[4..<8]) == [37, 0, 0, 0])
        let crc = CRC32.checksum(bytes, from: 12, to: bytes.count)
        #expect(Array(bytes[8..<12]) == [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)])
        #expect(Array(bytes[12..<20]) == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(Array(bytes[20..<28]) == [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(Array(bytes[28..<30]) == [2, 0])
        #expect(Array(bytes[30..<34]) == [1, 0, 0, 0])
        #expect(Array(bytes[34...]) == [0x61, 0x62, 9])
    }

    @Test func topicLongerThanTheFormatAllowsIsRefused() {
        let topic = [UInt8](repeating: 0x74, count: RecordFormat.maximumTopicBytes + 1)
        #expect(RecordFormat.encode(queueSequence: 1, streamSequence: 1, topic: topic, payload: []) == nil)
    }

    @Test func everyFlippedBitIsRejected() throws {
        let record = QueueRecord(queueSequence: 42, streamSequence: 7, topic: "beds/3", payload: Array("{\"spo2\":97}".utf8))
        let bytes = try #require(RecordFormat.encode(record))
        var accepted: [Int] = []
        for bit in 0..<(bytes.count * 8) {
            var damaged = bytes
            damaged[bit / 8] ^= UInt8(1 << (bit % 8))
            if RecordFormat.decode(damaged) != nil || RecordFormat.validRecordLength(in: damaged, at: 0) != nil {
                accepted.append(bit)
            }
        }
        #expect(accepted.isEmpty, "flipped bits accepted: \(accepted)")
    }

    @Test func everyCutShortRecordIsRejected() throws {
        let bytes = try #require(RecordFormat.encode(Self.samples[2]))
        for length in 0..<bytes.count {
            #expect(RecordFormat.decode(Array(bytes[0..<length])) == nil, "accepted at length \(length)")
        }
    }

    // MARK: Scanning a segment

    static func segmentBytes(_ records: [QueueRecord]) -> [UInt8] {
        var bytes: [UInt8] = []
        for record in records { bytes += RecordFormat.encode(record)! }
        return bytes
    }

    static let run: [QueueRecord] = (1...5).map {
        QueueRecord(queueSequence: UInt64($0 + 10), streamSequence: Int64($0), topic: "beds/\($0 % 2)",
                    payload: [UInt8](repeating: UInt8($0), count: $0 * 7))
    }

    @Test func scanFindsEveryRecordWithItsPlace() {
        let bytes = Self.segmentBytes(Self.run)
        let scan = scanSegment(bytes)
        #expect(scan.validEnd == bytes.count)
        #expect(scan.skipped.isEmpty)
        #expect(scan.records.map { $0.queueSequence } == Self.run.map { $0.queueSequence })
        var offset = 0
        for (scanned, record) in zip(scan.records, Self.run) {
            let length = RecordFormat.headerSize + record.topic.utf8.count + record.payload.count
            #expect(scanned == ScannedRecord(queueSequence: record.queueSequence, streamSequence: record.streamSequence,
                                             topic: record.topic, offset: offset, length: length))
            offset += length
        }
        #expect(scanSegment([]) == SegmentScan())
    }

    @Test func scanStopsAtATornTailAtEveryLength() {
        let complete = Self.segmentBytes(Array(Self.run.dropLast()))
        let bytes = Self.segmentBytes(Self.run)
        for length in complete.count..<bytes.count {
            let scan = scanSegment(Array(bytes[0..<length]))
            #expect(scan.validEnd == complete.count, "length \(length)")
            #expect(scan.records.count == Self.run.count - 1, "length \(length)")
            #expect(scan.skipped.isEmpty)
        }
    }

    @Test func scanStopsBeforeGarbageEvenGarbageThatStartsLikeARecord() {
        let valid = Self.segmentBytes(Self.run)
        let garbage: [UInt8] = RecordFormat.magic + [0xFF, 0, 0, 0] + [UInt8](repeating: 0x5A, count: 300)
        let scan = scanSegment(valid + garbage)
        #expect(scan.validEnd == valid.count)
        #expect(scan.records.count == Self.run.count)
        let zeros = scanSegment(valid + [UInt8](repeating: 0, count: 4096))
        #expect(zeros.validEnd == valid.count)
    }

    @Test func scanSkipsADamagedRecordAndFindsTheOnesAfterIt() {
        var bytes = Self.segmentBytes(Self.run)
        let secondStart = RecordFormat.encode(Self.run[0])!.count
        let thirdStart = secondStart + RecordFormat.encode(Self.run[1])!.count
        bytes[secondStart + 40] ^= 0x10
        let scan = scanSegment(bytes)
        #expect(scan.records.map { $0.queueSequence } == [11, 13, 14, 15])
        #expect(scan.skipped == [ByteStretch(start: secondStart, end: thirdStart)])
        #expect(scan.validEnd == bytes.count)
    }

    @Test func scanRejectsSequencesThatDoNotIncrease() {
        let repeated = Self.segmentBytes([Self.run[0], Self.run[1], Self.run[1], Self.run[2]])
        #expect(scanSegment(repeated).records.map { $0.queueSequence } == [11, 12, 13])
        #expect(scanSegment(Self.segmentBytes(Self.run), after: 12).records.map { $0.queueSequence } == [13, 14, 15])
    }

    // MARK: Checkpoint

    @Test func checkpointRoundTripAndDamageDetection() {
        let checkpoint = QueueCheckpoint(lowestUnacknowledged: 123_456,
                                         lastStreamSequences: ["beds/1/vitals": 99, "Bett Süd": -1, "": Int64.max])
        let bytes = checkpoint.encoded()
        #expect(QueueCheckpoint.decode(bytes) == checkpoint)
        let empty = QueueCheckpoint(lowestUnacknowledged: 1, lastStreamSequences: [:])
        #expect(QueueCheckpoint.decode(empty.encoded()) == empty)
        for bit in 0..<(bytes.count * 8) {
            var damaged = bytes
            damaged[bit / 8] ^= UInt8(1 << (bit % 8))
            #expect(QueueCheckpoint.decode(damaged) == nil, "bit \(bit) accepted")
        }
        for length in 0..<bytes.count {
            #expect(QueueCheckpoint.decode(Array(bytes[0..<length])) == nil, "length \(length) accepted")
        }
    }
}
