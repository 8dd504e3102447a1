import Foundation
import Platform
import Testing
@testable import StoreAndForward

/// The queue opens whatever state its directory is in: each damaged part is moved aside with a
/// reason, never deleted, and the queue goes on taking and handing back records in order.
struct DiskQueueDamageTests {
    typealias Fixture = DiskQueueFixture

    /// A queue holding records 1...3 (closed, checkpoint written), for damage to be added to.
    private static func queueWithThreeRecords(_ base: String, expected: inout ExpectedRecords,
                                              settings: QueueSettings? = nil) throws {
        let queue = try DiskQueue(settings: settings ?? Fixture.settings(base))
        for n in 1...3 { try expected.append(queue, Fixture.message(n)) }
        try queue.close()
    }

    /// The reopened queue moved exactly the named parts aside, each with its reason file, still
    /// holds records 1...3, and appends after them in order.
    private static func expectRecovered(_ base: String, expected: inout ExpectedRecords, quarantinedNames: [String],
                                        reason: String, settings: QueueSettings? = nil,
                                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let queue = try DiskQueue(settings: settings ?? Fixture.settings(base))
        let parts = queue.recovery.quarantined
        #expect(parts.map { ($0.path as NSString).lastPathComponent }.sorted() == quarantinedNames.sorted(),
                sourceLocation: sourceLocation)
        for part in parts {
            #expect(part.reason.contains(reason), "\(part.reason)", sourceLocation: sourceLocation)
            let movedTo = try #require(part.movedTo, sourceLocation: sourceLocation)
            #expect(movedTo.hasPrefix(base + "/quarantine/"), sourceLocation: sourceLocation)
            #expect(!Fixture.exists(part.path) || part.path.hasSuffix("/checkpoint"), "moved, not copied",
                    sourceLocation: sourceLocation)
            let reasonText = String(decoding: Fixture.read(movedTo + ".reason"), as: UTF8.self)
            #expect(reasonText.contains(part.reason) && reasonText.contains(part.path), sourceLocation: sourceLocation)
            #expect(queue.recovery.notes.contains { $0.contains(part.path) && $0.contains(movedTo) },
                    sourceLocation: sourceLocation)
        }
        #expect(queue.pendingSequences() == [1, 2, 3], sourceLocation: sourceLocation)
        #expect(expected.mismatches(in: queue, [1, 2, 3]).isEmpty, sourceLocation: sourceLocation)
        for n in 4...6 { try expected.append(queue, Fixture.message(n)) }
        #expect(expected.sequences == [1, 2, 3, 4, 5, 6], "new records follow the old ones", sourceLocation: sourceLocation)
        #expect(queue.pendingSequences() == [1, 2, 3, 4, 5, 6], sourceLocation: sourceLocation)
        #expect(expected.mismatches(in: queue, expected.sequences).isEmpty, sourceLocation: sourceLocation)
        for sequence: UInt64 in 1...4 { queue.markAcknowledged(sequence) }
        try queue.close()

        // The next start finds a clean directory: nothing more to move aside, delivery goes on.
        let again = try DiskQueue(settings: settings ?? Fixture.settings(base))
        #expect(again.recovery.quarantined.isEmpty, sourceLocation: sourceLocation)
        #expect(again.recovery.checkpointFound, sourceLocation: sourceLocation)
        #expect(again.pendingSequences() == [5, 6], sourceLocation: sourceLocation)
        #expect(try again.append(topic: "beds/x", payload: [7], streamSequence: 7) == 7, sourceLocation: sourceLocation)
    }

    @Test func emptySegmentNamedWithTheLargestSequence() throws {
        let base = Fixture.makeBase("maxname")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        try Self.queueWithThreeRecords(base, expected: &expected)
        Fixture.write([], to: base + "/18446744073709551615.seg")
        try Self.expectRecovered(base, expected: &expected, quarantinedNames: ["18446744073709551615.seg"],
                                 reason: "outside the queue's range")
    }

    @Test func emptyQueueWithOnlyTheLargestSegmentName() throws {
        let base = Fixture.makeBase("maxnameonly")
        defer { Fixture.removeBase(base) }
        Fixture.write([], to: base + "/18446744073709551615.seg")
        let queue = try DiskQueue(settings: Fixture.settings(base))
        #expect(queue.recovery.quarantined.count == 1)
        #expect(try queue.append(topic: "t", payload: [1], streamSequence: 1) == 1)
        #expect(try queue.append(topic: "t", payload: [2], streamSequence: 2) == 2)
    }

    @Test func checkpointWhoseLowestUnacknowledgedIsTheLargestSequence() throws {
        let base = Fixture.makeBase("maxcheckpoint")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        try Self.queueWithThreeRecords(base, expected: &expected)
        let forged = QueueCheckpoint(lowestUnacknowledged: .max, lastStreamSequences: [:]).encoded()
        #expect(QueueCheckpoint.decode(forged) != nil, "a valid CRC: only the value is impossible")
        Fixture.write(forged, to: base + "/checkpoint")
        try Self.expectRecovered(base, expected: &expected, quarantinedNames: ["checkpoint"], reason: "beyond the queue's range")
    }

    @Test func checkpointWithAStreamSequenceAtTheEndOfItsSpace() throws {
        let base = Fixture.makeBase("maxstream")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        try Self.queueWithThreeRecords(base, expected: &expected)
        Fixture.write(QueueCheckpoint(lowestUnacknowledged: 1, lastStreamSequences: ["beds/1/vitals": .max]).encoded(),
                      to: base + "/checkpoint")
        try Self.expectRecovered(base, expected: &expected, quarantinedNames: ["checkpoint"], reason: "stream sequence")
    }

    @Test(arguments: [UInt64.max, DiskQueue.sequenceLimit + 1])
    func segmentHoldingARecordWithAnImpossibleSequence(sequence: UInt64) throws {
        let base = Fixture.makeBase("maxrecord")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        try Self.queueWithThreeRecords(base, expected: &expected, settings: Fixture.settings(base, segmentBytes: 100))
        let forged = try #require(RecordFormat.encode(queueSequence: sequence, streamSequence: 1,
                                                      topic: Array("beds/1/vitals".utf8), payload: [1, 2, 3]))
        #expect(RecordFormat.decode(forged)?.queueSequence == sequence, "CRC-valid")
        let name = DiskQueue.segmentName(4)
        Fixture.write(forged, to: base + "/" + name)
        try Self.expectRecovered(base, expected: &expected, quarantinedNames: [name], reason: "beyond the queue's range",
                                 settings: Fixture.settings(base, segmentBytes: 100))
    }

    @Test func onlySegmentHoldsARecordWithTheLargestSequence() throws {
        let base = Fixture.makeBase("maxrecordonly")
        defer { Fixture.removeBase(base) }
        let forged = try #require(RecordFormat.encode(queueSequence: .max, streamSequence: .max,
                                                      topic: Array("t".utf8), payload: []))
        Fixture.write(forged, to: base + "/" + DiskQueue.segmentName(1))
        let queue = try DiskQueue(settings: Fixture.settings(base))
        #expect(queue.recovery.quarantined.count == 1)
        #expect(queue.pendingSequences().isEmpty)
        #expect(queue.lastStreamSequence(topic: "t") == nil)
        #expect(try queue.append(topic: "t", payload: [1], streamSequence: 1) == 1)
        #expect(queue.read(1)?.payload == [1])
    }

    @Test func directoryInPlaceOfASegment() throws {
        let base = Fixture.makeBase("dirsegment")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        try Self.queueWithThreeRecords(base, expected: &expected)
        let name = DiskQueue.segmentName(4)
        try FileManager.default.createDirectory(atPath: base + "/" + name, withIntermediateDirectories: false)
        try Self.expectRecovered(base, expected: &expected, quarantinedNames: [name], reason: "a directory stands where")
    }

    @Test(arguments: ["checkpoint", "checkpoint.tmp"])
    func directoryInPlaceOfTheCheckpoint(name: String) throws {
        let base = Fixture.makeBase("dircheckpoint")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        try Self.queueWithThreeRecords(base, expected: &expected)
        try FileManager.default.removeItem(atPath: base + "/checkpoint")
        try FileManager.default.createDirectory(atPath: base + "/" + name, withIntermediateDirectories: false)
        // Ends with close(), which must write the checkpoint: neither directory may block it.
        try Self.expectRecovered(base, expected: &expected, quarantinedNames: [name], reason: "a directory stands where")
    }

    /// A pipe blocks a reader forever and refuses positioned writes: a file the queue cannot use.
    @Test func pipeInPlaceOfTheNewestSegment() throws {
        let base = Fixture.makeBase("fifo")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        try Self.queueWithThreeRecords(base, expected: &expected)
        let name = DiskQueue.segmentName(4)
        #expect(mkfifo(base + "/" + name, 0o640) == 0)
        try Self.expectRecovered(base, expected: &expected, quarantinedNames: [name], reason: "a link, pipe, socket or device")
    }

    @Test func linkToNowhereInPlaceOfTheCheckpoint() throws {
        let base = Fixture.makeBase("link")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        try Self.queueWithThreeRecords(base, expected: &expected)
        try FileManager.default.removeItem(atPath: base + "/checkpoint")
        try FileManager.default.createSymbolicLink(atPath: base + "/checkpoint", withDestinationPath: base + "/nowhere")
        try Self.expectRecovered(base, expected: &expected, quarantinedNames: ["checkpoint"], reason: "a link, pipe")
    }

    @Test func garbageAndTruncatedSegmentNames() throws {
        let base = Fixture.makeBase("names")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        try Self.queueWithThreeRecords(base, expected: &expected)
        let names = ["1.seg", ".seg", "0000000000000000000x.seg", "99999999999999999999.seg", "000000000000000000001.seg",
                     DiskQueue.segmentName(0)]
        for name in names { Fixture.write([0xDE, 0xAD], to: base + "/" + name) }
        try Self.expectRecovered(base, expected: &expected, quarantinedNames: names, reason: "the name")
    }

    @Test func segmentLargerThanTheQueueMayBeIsMovedAsideUnread() throws {
        let base = Fixture.makeBase("huge")
        defer { Fixture.removeBase(base) }
        let settings = Fixture.settings(base, segmentBytes: 1000, maximumBytes: 2000)
        var expected = ExpectedRecords()
        try Self.queueWithThreeRecords(base, expected: &expected, settings: settings)
        let name = DiskQueue.segmentName(4)
        Fixture.write([UInt8](repeating: 0x42, count: 2001), to: base + "/" + name)
        try Self.expectRecovered(base, expected: &expected, quarantinedNames: [name], reason: "more than the queue's maximum",
                                 settings: settings)
    }

    @Test func plainFileInPlaceOfTheQueueDirectory() throws {
        let base = Fixture.makeBase("filedir")
        defer { Fixture.removeBase(base) }
        let directory = base + "/queue"
        Fixture.write([1, 2, 3], to: directory)
        let queue = try DiskQueue(settings: Fixture.settings(directory))
        let part = try #require(queue.recovery.quarantined.first)
        #expect(part.path == directory)
        let movedTo = try #require(part.movedTo)
        #expect(movedTo.hasPrefix(directory + ".damaged-"))
        #expect(Fixture.read(movedTo) == [1, 2, 3], "kept, not deleted")
        #expect(String(decoding: Fixture.read(movedTo + ".reason"), as: UTF8.self).contains("Not a directory"))
        #expect(try queue.append(topic: "t", payload: [1], streamSequence: 1) == 1)
        #expect(queue.read(1)?.payload == [1])
    }

    @Test func plainFileInPlaceOfTheQuarantineFolderMovesPartsBesideThemselves() throws {
        let base = Fixture.makeBase("noquarantine")
        defer { Fixture.removeBase(base) }
        Fixture.write([9], to: base + "/" + DiskQueue.quarantineFolder)
        Fixture.write([], to: base + "/18446744073709551615.seg")
        let queue = try DiskQueue(settings: Fixture.settings(base))
        let movedTo = try #require(queue.recovery.quarantined.first?.movedTo)
        #expect(movedTo.hasPrefix(base + "/18446744073709551615.seg.damaged-"))
        #expect(Fixture.exists(movedTo))
        #expect(Fixture.read(base + "/" + DiskQueue.quarantineFolder) == [9])
        #expect(try queue.append(topic: "t", payload: [], streamSequence: 1) == 1)
    }

    @Test func sequenceSpaceEndsInAnErrorNotATrap() throws {
        let base = Fixture.makeBase("limit")
        defer { Fixture.removeBase(base) }
        Fixture.write([], to: base + "/" + DiskQueue.segmentName(DiskQueue.sequenceLimit - 1))
        let queue = try DiskQueue(settings: Fixture.settings(base))
        #expect(queue.recovery.quarantined.isEmpty, "within the range: a queue that got far, not damage")
        #expect(try queue.append(topic: "t", payload: [], streamSequence: 1) == DiskQueue.sequenceLimit - 1)
        do {
            try queue.append(topic: "t", payload: [], streamSequence: 2)
            Issue.record("an append beyond the sequence limit was accepted while the last record is pending")
        } catch {
            #expect(error.description.contains("sequence numbers are used up"))
        }
        #expect(queue.markAcknowledged(DiskQueue.sequenceLimit - 1))
        #expect(try queue.append(topic: "t", payload: [7], streamSequence: 3) == 1, "everything delivered: numbering starts again")
        try queue.close()
        let reopened = try DiskQueue(settings: Fixture.settings(base))
        #expect(reopened.recovery.quarantined.isEmpty)
        #expect(reopened.pendingSequences() == [1], "the first record of the new numbering survives a restart as pending")
        #expect(reopened.read(1)?.payload == [7])
        #expect(try reopened.append(topic: "t", payload: [], streamSequence: 4) == 2)
    }

    @Test func checkpointOnePastTheLimitIsAQueueThatDeliveredItsLastSequence() throws {
        let base = Fixture.makeBase("pastlimit")
        defer { Fixture.removeBase(base) }
        Fixture.write(QueueCheckpoint(lowestUnacknowledged: DiskQueue.sequenceLimit + 1, lastStreamSequences: ["t": 9]).encoded(),
                      to: base + "/checkpoint")
        let queue = try DiskQueue(settings: Fixture.settings(base))
        #expect(queue.recovery.quarantined.isEmpty, "what the queue itself writes is not damage")
        #expect(queue.lastStreamSequence(topic: "t") == 9)
        #expect(try queue.append(topic: "t", payload: [1], streamSequence: 10) == 1)
        try queue.close()
        let reopened = try DiskQueue(settings: Fixture.settings(base))
        #expect(reopened.pendingSequences() == [1])
    }

    @Test func queueWithoutPersistenceRefusesEveryAppendWithItsReason() throws {
        let reason = QueueError("create queue directory", "/ro/queue", errno: .readOnlyFileSystem)
        let queue = DiskQueue.withoutPersistence(settings: QueueSettings(directory: "/ro/queue"), reason: reason)
        #expect(queue.unavailability == reason)
        #expect(throws: reason) { try queue.append(topic: "t", payload: [1], streamSequence: 1) }
        #expect(queue.pendingSequences().isEmpty)
        try queue.maintenance(now: MonotonicInstant.now())
        try queue.close()
    }
}
