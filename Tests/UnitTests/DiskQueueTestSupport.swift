import Foundation
@testable import StoreAndForward

/// Files and expectations shared by the disk queue tests.
enum DiskQueueFixture {
    /// A fresh directory under /tmp; the queue directory inside it does not exist yet, so
    /// every test also covers its creation.
    static func makeBase(_ label: String) -> String {
        let path = NSTemporaryDirectory() + "diskqueue-\(label)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func removeBase(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    static func settings(_ directory: String, segmentBytes: Int = 1 << 20, maximumBytes: Int = 64 << 20,
                         fsync: QueueFsync = .never) -> QueueSettings {
        QueueSettings(directory: directory, maximumBytes: maximumBytes, segmentBytes: segmentBytes, fsync: fsync)
    }

    /// A varied record for position `n`: topics, payload sizes and bytes differ from one to the next.
    static func message(_ n: Int) -> (topic: String, payload: [UInt8], stream: Int64) {
        let topic = "clinic/beds/\(n % 3)/vitals" + (n % 4 == 0 ? "/Süd" : "")
        let payload = (0..<(n * 13 % 50 + 1)).map { UInt8(truncatingIfNeeded: $0 * 31 + n) }
        return (topic, payload, Int64(1000 + n))
    }

    /// Same-size records, for tests that count bytes.
    static func fixedMessage(_ n: Int, payloadBytes: Int = 66) -> (topic: String, payload: [UInt8], stream: Int64) {
        ("beds/\(n % 2)", [UInt8](repeating: UInt8(truncatingIfNeeded: n), count: payloadBytes), Int64(n))
    }

    static func encodedSize(_ message: (topic: String, payload: [UInt8], stream: Int64)) -> Int {
        RecordFormat.encodedSize(topicBytes: message.topic.utf8.count, payloadBytes: message.payload.count)!
    }

    static func segmentNames(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
    }

    static func read(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }

    static func write(_ bytes: [UInt8], to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    /// Flips bits of one byte in place (same inode, as a failing disk would).
    static func flip(_ mask: UInt8, at offset: Int, in path: String) {
        let handle = FileHandle(forUpdatingAtPath: path)!
        defer { try? handle.close() }
        try! handle.seek(toOffset: UInt64(offset))
        let old = handle.readData(ofLength: 1)[0]
        try! handle.seek(toOffset: UInt64(offset))
        handle.write(Data([old ^ mask]))
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}

/// What a test appended, to compare with what the queue gives back.
struct ExpectedRecords {
    var records: [UInt64: QueueRecord] = [:]

    mutating func append(_ queue: DiskQueue, _ message: (topic: String, payload: [UInt8], stream: Int64)) throws(QueueError) {
        let sequence = try queue.append(topic: message.topic, payload: message.payload, streamSequence: message.stream)
        records[sequence] = QueueRecord(queueSequence: sequence, streamSequence: message.stream,
                                        topic: message.topic, payload: message.payload)
    }

    /// Sequences in order.
    var sequences: [UInt64] { records.keys.sorted() }

    /// Every record in `sequences` reads back exactly; returns the ones that do not.
    func mismatches(in queue: DiskQueue, _ sequences: [UInt64]) -> [UInt64] {
        sequences.filter { sequence in queue.read(sequence) != records[sequence] }
    }
}
