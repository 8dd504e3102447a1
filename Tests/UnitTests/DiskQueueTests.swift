import Foundation
import Platform
import Testing
@testable import StoreAndForward

struct DiskQueueTests {
    typealias Fixture = DiskQueueFixture

    @Test func recordsSurviveReopenAndSequencesKeepRising() throws {
        let base = Fixture.makeBase("reopen")
        defer { Fixture.removeBase(base) }
        let directory = base + "/var/queue"
        var expected = ExpectedRecords()
        let queue = try DiskQueue(settings: Fixture.settings(directory))
        #expect(queue.recovery == RecoveryReport())
        for n in 1...20 { try expected.append(queue, Fixture.message(n)) }
        #expect(expected.sequences == Array(1...20))
        #expect(queue.pendingCount == 20)
        #expect(queue.appendedCount == 20)
        #expect(queue.fileBytes == Fixture.size(directory + "/00000000000000000001.seg"))
        #expect(queue.pendingBytes == queue.fileBytes)
        #expect(expected.mismatches(in: queue, expected.sequences).isEmpty)
        try queue.close()

        let reopened = try DiskQueue(settings: Fixture.settings(directory))
        #expect(reopened.recovery.recordsPending == 20)
        #expect(reopened.recovery.checkpointFound)
        #expect(reopened.pendingSequences() == expected.sequences)
        #expect(expected.mismatches(in: reopened, expected.sequences).isEmpty)
        #expect(reopened.lastStreamSequence(topic: Fixture.message(20).topic) == 1020)
        try expected.append(reopened, Fixture.message(21))
        #expect(expected.sequences.last == 21)
        #expect(reopened.read(999) == nil)
    }

    @Test func nextUpkeepSaysWhenMaintenanceHasWorkAndNothingWhileIdle() throws {
        let base = Fixture.makeBase("upkeep")
        defer { Fixture.removeBase(base) }
        var settings = Fixture.settings(base, fsync: .interval(milliseconds: 200))
        settings.checkpointIntervalMilliseconds = 5_000
        let queue = try DiskQueue(settings: settings)
        #expect(queue.nextUpkeep == nil, "a fresh queue has nothing to sync or checkpoint")
        let sequence = try queue.append(topic: "t", payload: [1], streamSequence: 1)
        #expect(queue.nextUpkeep == MonotonicInstant(nanoseconds: 0), "never synced: due at once")
        let now = MonotonicInstant.now()
        try queue.maintenance(now: now)
        #expect(queue.nextUpkeep == nil, "synced and checkpointed: nothing left")
        #expect(queue.markAcknowledged(sequence))
        #expect(queue.nextUpkeep == now.adding(milliseconds: 5_000), "the checkpoint's interval counts from the last one")
        try queue.close()
    }

    @Test func directoryIsCreatedWithMode0750() throws {
        let base = Fixture.makeBase("mode")
        defer { Fixture.removeBase(base) }
        _ = try DiskQueue(settings: Fixture.settings(base + "/a/b/queue/"))
        var status = stat()
        #expect(stat(base + "/a/b/queue", &status) == 0)
        #expect(status.st_mode & 0o777 == 0o750)
    }

    /// A crash or power loss in the middle of an append, at every possible byte.
    @Test func tornLastRecordIsCutAtEveryOffset() throws {
        let base = Fixture.makeBase("torn")
        defer { Fixture.removeBase(base) }
        let original = base + "/original"
        var expected = ExpectedRecords()
        let queue = try DiskQueue(settings: Fixture.settings(original))
        let messages = (1...5).map { Fixture.message($0) }
        for message in messages { try expected.append(queue, message) }
        try queue.close()
        let segment = Fixture.read(original + "/00000000000000000001.seg")
        let lastStart = messages.dropLast().reduce(0) { $0 + Fixture.encodedSize($1) }
        #expect(segment.count == lastStart + Fixture.encodedSize(messages[4]))

        for cut in lastStart..<segment.count {
            let directory = base + "/cut-\(cut)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            let segmentPath = directory + "/00000000000000000001.seg"
            Fixture.write(Array(segment[0..<cut]), to: segmentPath)

            let recovered = try DiskQueue(settings: Fixture.settings(directory))
            #expect(recovered.recovery.recordsPending == 4, "cut \(cut)")
            #expect(recovered.recovery.bytesTruncated == cut - lastStart, "cut \(cut)")
            #expect(Fixture.size(segmentPath) == lastStart, "cut \(cut)")
            #expect(recovered.pendingSequences() == [1, 2, 3, 4], "cut \(cut)")
            #expect(expected.mismatches(in: recovered, [1, 2, 3, 4]).isEmpty, "cut \(cut)")
            #expect(recovered.read(5) == nil)
            #expect(recovered.lastStreamSequence(topic: messages[3].topic) == messages[3].stream)

            var after = expected
            try after.append(recovered, Fixture.message(99))
            #expect(after.sequences == [1, 2, 3, 4, 5], "cut \(cut)")
            try recovered.close()
            let again = try DiskQueue(settings: Fixture.settings(directory))
            #expect(again.recovery.bytesTruncated == 0)
            #expect(again.pendingSequences() == [1, 2, 3, 4, 5], "cut \(cut)")
            #expect(after.mismatches(in: again, after.sequences).isEmpty, "cut \(cut)")
            try again.close()
            Fixture.removeBase(directory)
        }
    }

    @Test func garbageAfterTheLastRecordIsCutOff() throws {
        let base = Fixture.makeBase("garbage")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        let queue = try DiskQueue(settings: Fixture.settings(base))
        for n in 1...3 { try expected.append(queue, Fixture.message(n)) }
        try queue.close()
        let segmentPath = base + "/00000000000000000001.seg"
        let valid = Fixture.read(segmentPath)
        // Zeros (a file extended but never written), then bytes that start like a record.
        let garbage = [UInt8](repeating: 0, count: 700) + RecordFormat.magic + [UInt8](repeating: 0x77, count: 90)
        Fixture.write(valid + garbage, to: segmentPath)

        let recovered = try DiskQueue(settings: Fixture.settings(base))
        #expect(recovered.recovery.bytesTruncated == garbage.count)
        #expect(recovered.recovery.notes.contains { $0.contains(segmentPath) && $0.contains("\(garbage.count) bytes") })
        #expect(Fixture.size(segmentPath) == valid.count)
        #expect(recovered.pendingSequences() == [1, 2, 3])
        #expect(expected.mismatches(in: recovered, [1, 2, 3]).isEmpty)
        try expected.append(recovered, Fixture.message(4))
        try recovered.close()
        let again = try DiskQueue(settings: Fixture.settings(base))
        #expect(expected.mismatches(in: again, [1, 2, 3, 4]).isEmpty)
        #expect(again.pendingCount == 4)
    }

    @Test func damageInAnEarlierSegmentIsSkippedAndNothingElseIsLost() throws {
        let base = Fixture.makeBase("midsegment")
        defer { Fixture.removeBase(base) }
        let size = Fixture.encodedSize(Fixture.fixedMessage(1))
        let settings = Fixture.settings(base, segmentBytes: 3 * size)
        var expected = ExpectedRecords()
        let queue = try DiskQueue(settings: settings)
        for n in 1...8 { try expected.append(queue, Fixture.fixedMessage(n)) }
        try queue.close()
        #expect(Fixture.segmentNames(base) == ["00000000000000000001.seg", "00000000000000000004.seg",
                                               "00000000000000000007.seg"])
        // Damage record 5, the middle one of the second segment, and append junk to the first.
        let second = base + "/00000000000000000004.seg"
        var bytes = Fixture.read(second)
        bytes[size + 50] ^= 0x01
        Fixture.write(bytes, to: second)
        let first = base + "/00000000000000000001.seg"
        Fixture.write(Fixture.read(first) + [1, 2, 3], to: first)

        let recovered = try DiskQueue(settings: settings)
        #expect(recovered.pendingSequences() == [1, 2, 3, 4, 6, 7, 8])
        #expect(expected.mismatches(in: recovered, [1, 2, 3, 4, 6, 7, 8]).isEmpty)
        #expect(recovered.recovery.bytesSkipped == size + 3)
        #expect(recovered.recovery.bytesTruncated == 0)
        #expect(recovered.recovery.notes.contains { $0.contains(second) && $0.contains("skipped \(size) damaged bytes") })
        #expect(Fixture.size(second) == 3 * size, "an earlier segment is left as it is")
        try expected.append(recovered, Fixture.fixedMessage(9))
        #expect(expected.sequences.last == 9)
    }

    @Test func oldestSegmentIsDroppedWhenTheQueueIsFull() throws {
        let base = Fixture.makeBase("drop")
        defer { Fixture.removeBase(base) }
        let size = Fixture.encodedSize(Fixture.fixedMessage(1))
        let settings = Fixture.settings(base, segmentBytes: 4 * size, maximumBytes: 12 * size)
        var expected = ExpectedRecords()
        let queue = try DiskQueue(settings: settings)
        for n in 1...12 { try expected.append(queue, Fixture.fixedMessage(n)) }
        #expect(queue.fileBytes == 12 * size)
        #expect(queue.droppedCount == 0)
        #expect(queue.markAcknowledged(2))
        try expected.append(queue, Fixture.fixedMessage(13))

        #expect(Fixture.segmentNames(base) == ["00000000000000000005.seg", "00000000000000000009.seg",
                                               "00000000000000000013.seg"])
        #expect(queue.droppedCount == 3, "records 1, 3 and 4: 2 was acknowledged")
        #expect(queue.pendingSequences() == Array(5...13))
        #expect(queue.oldestRetainedSequence == 5)
        #expect(queue.fileBytes == 9 * size)
        #expect(queue.read(1) == nil)
        #expect(expected.mismatches(in: queue, Array(5...13)).isEmpty)
        try queue.close()

        let reopened = try DiskQueue(settings: settings)
        #expect(reopened.pendingSequences() == Array(5...13))
        #expect(expected.mismatches(in: reopened, Array(5...13)).isEmpty)
        #expect(reopened.droppedCount == 0, "counted since start")
        try expected.append(reopened, Fixture.fixedMessage(14))
        #expect(expected.sequences.last == 14)
    }

    @Test func droppingTheOnlySegmentStartsAFreshOne() throws {
        let base = Fixture.makeBase("droponly")
        defer { Fixture.removeBase(base) }
        let size = Fixture.encodedSize(Fixture.fixedMessage(1))
        let queue = try DiskQueue(settings: Fixture.settings(base, segmentBytes: 10 * size, maximumBytes: 10 * size))
        var expected = ExpectedRecords()
        for n in 1...11 { try expected.append(queue, Fixture.fixedMessage(n)) }
        #expect(queue.droppedCount == 10)
        #expect(Fixture.segmentNames(base) == ["00000000000000000011.seg"])
        #expect(expected.mismatches(in: queue, [11]).isEmpty)
    }

    @Test func segmentIsDeletedOnlyOnceEveryRecordInItIsAcknowledged() throws {
        let base = Fixture.makeBase("ack")
        defer { Fixture.removeBase(base) }
        let size = Fixture.encodedSize(Fixture.fixedMessage(1))
        let settings = Fixture.settings(base, segmentBytes: 3 * size)
        let queue = try DiskQueue(settings: settings)
        var expected = ExpectedRecords()
        for n in 1...9 { try expected.append(queue, Fixture.fixedMessage(n)) }
        let first = base + "/00000000000000000001.seg"
        let second = base + "/00000000000000000004.seg"
        let now = MonotonicInstant(nanoseconds: 1_000_000_000)

        for sequence: UInt64 in [3, 1, 6] { #expect(queue.markAcknowledged(sequence)) }
        #expect(!queue.markAcknowledged(3), "already acknowledged")
        #expect(!queue.markAcknowledged(77), "unknown")
        try queue.maintenance(now: now)
        #expect(Fixture.exists(first) && Fixture.exists(second))
        #expect(queue.pendingSequences() == [2, 4, 5, 7, 8, 9])

        #expect(queue.markAcknowledged(2))
        try queue.maintenance(now: now.adding(milliseconds: 10))
        #expect(!Fixture.exists(first))
        #expect(Fixture.exists(second))
        #expect(queue.fileBytes == 6 * size)

        for sequence: UInt64 in [9, 7, 8, 5, 4] { queue.markAcknowledged(sequence) }
        try queue.maintenance(now: now.adding(milliseconds: 20))
        #expect(!Fixture.exists(second))
        #expect(Fixture.segmentNames(base) == ["00000000000000000007.seg"], "the newest stays while in use")
        #expect(queue.pendingCount == 0)
        #expect(queue.pendingBytes == 0)
        try expected.append(queue, Fixture.fixedMessage(10))
        #expect(expected.mismatches(in: queue, [10]).isEmpty)
    }

    @Test func checkpointDecidesWhatIsReplayedAfterReopen() throws {
        let base = Fixture.makeBase("checkpoint")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        let queue = try DiskQueue(settings: Fixture.settings(base))
        for n in 1...6 { try expected.append(queue, Fixture.message(n)) }
        for sequence: UInt64 in [4, 1, 2] { queue.markAcknowledged(sequence) }
        #expect(queue.lowestUnacknowledged == 3)
        try queue.close()

        let reopened = try DiskQueue(settings: Fixture.settings(base))
        // 1 and 2 are below the checkpoint; 4 was acknowledged above it and comes again
        // (a documented duplicate); 3, 5 and 6 were never acknowledged.
        #expect(reopened.pendingSequences() == [3, 4, 5, 6])
        #expect(reopened.recovery.recordsAcknowledged == 2)
        #expect(reopened.recovery.recordsPending == 4)
        #expect(reopened.read(1) == nil)
        #expect(expected.mismatches(in: reopened, [3, 4, 5, 6]).isEmpty)
        for sequence: UInt64 in 3...6 { reopened.markAcknowledged(sequence) }
        try reopened.close()

        let third = try DiskQueue(settings: Fixture.settings(base))
        #expect(third.pendingCount == 0)
        #expect(third.nextSequence == 7)
    }

    @Test func streamSequencesSurviveFullAcknowledgementAndDeletion() throws {
        let base = Fixture.makeBase("stream")
        defer { Fixture.removeBase(base) }
        let size = Fixture.encodedSize(Fixture.fixedMessage(1))
        let settings = Fixture.settings(base, segmentBytes: 2 * size)
        let queue = try DiskQueue(settings: settings)
        for n in 1...7 {
            let topic = n <= 3 ? "beds/a" : "beds/b"
            try queue.append(topic: topic, payload: Fixture.fixedMessage(n).payload, streamSequence: Int64(n * 10))
        }
        for sequence: UInt64 in (1...7).reversed() { queue.markAcknowledged(sequence) }
        try queue.close()
        #expect(Fixture.segmentNames(base).isEmpty, "all acknowledged: every segment deleted on close")

        let reopened = try DiskQueue(settings: settings)
        #expect(reopened.pendingCount == 0)
        #expect(reopened.lastStreamSequence(topic: "beds/a") == 30)
        #expect(reopened.lastStreamSequence(topic: "beds/b") == 70)
        #expect(reopened.lastStreamSequence(topic: "beds/c") == nil)
        #expect(try reopened.append(topic: "beds/a", payload: [1], streamSequence: 31) == 8, "queue sequences keep rising")
        try reopened.close()
        let third = try DiskQueue(settings: settings)
        #expect(third.pendingSequences() == [8])
        #expect(third.lastStreamSequence(topic: "beds/a") == 31)
    }

    @Test(arguments: ["flip", "truncate", "empty", "junk"])
    func damagedCheckpointReplaysMoreAndLosesNothing(damage: String) throws {
        let base = Fixture.makeBase("badcheckpoint")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        let queue = try DiskQueue(settings: Fixture.settings(base))
        for n in 1...5 { try expected.append(queue, Fixture.message(n)) }
        for sequence: UInt64 in 1...3 { queue.markAcknowledged(sequence) }
        try queue.close()
        let checkpointPath = base + "/checkpoint"
        var bytes = Fixture.read(checkpointPath)
        #expect(QueueCheckpoint.decode(bytes)?.lowestUnacknowledged == 4)
        switch damage {
        case "flip": bytes[bytes.count / 2] ^= 0x04
        case "truncate": bytes.removeLast(3)
        case "empty": bytes = []
        default: bytes = Array("not a checkpoint".utf8)
        }
        Fixture.write(bytes, to: checkpointPath)

        let reopened = try DiskQueue(settings: Fixture.settings(base))
        #expect(reopened.pendingSequences() == [1, 2, 3, 4, 5])
        #expect(expected.mismatches(in: reopened, expected.sequences).isEmpty)
        #expect(!reopened.recovery.checkpointFound)
        #expect(reopened.recovery.notes.contains { $0.contains(checkpointPath) && $0.contains("damaged") })
        #expect(reopened.lastStreamSequence(topic: Fixture.message(5).topic) == Fixture.message(5).stream)
        #expect(try reopened.append(topic: "x", payload: [], streamSequence: 0) == 6)
    }

    @Test func strayFilesAreIgnored() throws {
        let base = Fixture.makeBase("stray")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        let queue = try DiskQueue(settings: Fixture.settings(base))
        for n in 1...3 { try expected.append(queue, Fixture.message(n)) }
        try queue.close()
        // Names ending in .seg that are not a segment's are moved aside (DiskQueueDamageTests).
        for name in ["README", "00000000000000000002.seg.bak", "checkpoint.tmp"] {
            Fixture.write([0xDE, 0xAD], to: base + "/" + name)
        }
        try FileManager.default.createDirectory(atPath: base + "/lost+found", withIntermediateDirectories: false)

        let reopened = try DiskQueue(settings: Fixture.settings(base))
        #expect(reopened.recovery.segmentsFound == 1)
        #expect(reopened.recovery.notes.isEmpty)
        #expect(expected.mismatches(in: reopened, [1, 2, 3]).isEmpty)
        #expect(Fixture.read(base + "/README") == [0xDE, 0xAD])
    }

    @Test func checkpointIsWrittenAtMostOncePerInterval() throws {
        let base = Fixture.makeBase("interval")
        defer { Fixture.removeBase(base) }
        let queue = try DiskQueue(settings: Fixture.settings(base))
        let start = MonotonicInstant(nanoseconds: 10_000_000_000)
        try queue.maintenance(now: start)
        #expect(queue.checkpointWrites == 0, "nothing changed")
        try queue.append(topic: "t", payload: [1], streamSequence: 1)
        try queue.maintenance(now: start)
        #expect(queue.checkpointWrites == 1)
        try queue.append(topic: "t", payload: [2], streamSequence: 2)
        try queue.maintenance(now: start.adding(milliseconds: 500))
        #expect(queue.checkpointWrites == 1)
        try queue.maintenance(now: start.adding(milliseconds: 1000))
        #expect(queue.checkpointWrites == 2)
        try queue.maintenance(now: start.adding(milliseconds: 3000))
        #expect(queue.checkpointWrites == 2, "nothing changed since")
        queue.markAcknowledged(1)
        try queue.maintenance(now: start.adding(milliseconds: 3100))
        #expect(queue.checkpointWrites == 3)
        #expect(QueueCheckpoint.decode(Fixture.read(base + "/checkpoint"))
                == QueueCheckpoint(lowestUnacknowledged: 2, lastStreamSequences: ["t": 2]))
        #expect(!Fixture.exists(base + "/checkpoint.tmp"))
    }

    @Test func fsyncFollowsThePolicy() throws {
        let base = Fixture.makeBase("fsync")
        defer { Fixture.removeBase(base) }
        let start = MonotonicInstant(nanoseconds: 10_000_000_000)

        let always = try DiskQueue(settings: Fixture.settings(base + "/always", fsync: .always))
        for n in 1...3 { try always.append(topic: "t", payload: [UInt8(n)], streamSequence: Int64(n)) }
        #expect(always.syncCount == 3)

        let interval = try DiskQueue(settings: Fixture.settings(base + "/interval", fsync: .interval(milliseconds: 200)))
        try interval.append(topic: "t", payload: [1], streamSequence: 1)
        #expect(interval.syncCount == 0)
        try interval.maintenance(now: start)
        #expect(interval.syncCount == 1)
        try interval.append(topic: "t", payload: [2], streamSequence: 2)
        try interval.maintenance(now: start.adding(milliseconds: 100))
        #expect(interval.syncCount == 1, "interval not over")
        try interval.maintenance(now: start.adding(milliseconds: 200))
        #expect(interval.syncCount == 2)
        try interval.maintenance(now: start.adding(milliseconds: 900))
        #expect(interval.syncCount == 2, "nothing new to sync")

        let never = try DiskQueue(settings: Fixture.settings(base + "/never", fsync: .never))
        for n in 1...3 { try never.append(topic: "t", payload: [UInt8(n)], streamSequence: Int64(n)) }
        try never.maintenance(now: start)
        try never.close()
        #expect(never.syncCount == 0)
    }

    @Test func readReportsARecordDamagedAfterRecovery() throws {
        let base = Fixture.makeBase("bitrot")
        defer { Fixture.removeBase(base) }
        var expected = ExpectedRecords()
        let queue = try DiskQueue(settings: Fixture.settings(base))
        for n in 1...3 { try expected.append(queue, Fixture.message(n)) }
        let segmentPath = base + "/00000000000000000001.seg"
        Fixture.flip(0x80, at: Fixture.encodedSize(Fixture.message(1)) + 40, in: segmentPath)

        #expect(expected.mismatches(in: queue, [1, 3]).isEmpty)
        #expect(queue.read(2) == nil)
        #expect(queue.readFailures == 1)
        let failure = try #require(queue.lastReadFailure)
        #expect(failure.errno == .ioError)
        #expect(failure.description.contains(segmentPath))
        #expect(failure.description.contains("checksum"))
        #expect(queue.droppedCount == 1, "a damaged record can never be delivered")
        #expect(queue.pendingSequences() == [1, 3])
        #expect(!queue.discard(2))
    }

    @Test func errorsNameTheFileAndTheCause() throws {
        let base = Fixture.makeBase("errors")
        defer { Fixture.removeBase(base) }
        Fixture.write([1], to: base + "/plainfile")
        do {
            _ = try DiskQueue(settings: Fixture.settings(base + "/plainfile/queue"))
            Issue.record("a queue below a plain file opened")
        } catch {
            #expect(error.errno == .notDirectory)
            #expect(error.description == "cannot create queue directory \(base)/plainfile/queue: Not a directory (errno 20)")
        }
        do {
            _ = try DiskQueue(settings: Fixture.settings(base + "/q", segmentBytes: 1000, maximumBytes: 999))
            Issue.record("inconsistent sizes accepted")
        } catch {
            #expect(error.errno == .invalidArgument)
            #expect(error.description.contains("maximum size (999 bytes) is below the segment size (1000 bytes)"))
        }
        let small = try DiskQueue(settings: Fixture.settings(base + "/small", segmentBytes: 100, maximumBytes: 200))
        do {
            try small.append(topic: "beds/1", payload: [UInt8](repeating: 0, count: 300), streamSequence: 1)
            Issue.record("a record larger than the queue was accepted")
        } catch {
            #expect(error.errno == .messageTooLong)
            #expect(error.description.contains("beds/1"))
        }
        #expect(small.writeFailures == 0)
        #expect(try small.append(topic: "beds/1", payload: [1], streamSequence: 1) == 1)
        let full = QueueError("write queue segment", "/var/lib/bedside-gateway/queue/00000000000000000012.seg", errno: .noSpace)
        #expect(full.description.hasPrefix("cannot write queue segment /var/lib/bedside-gateway/queue/00000000000000000012.seg: "
                                           + "No space left on device (errno 28); the disk is full"))
    }

    @Test func closedQueueRefusesAppends() throws {
        let base = Fixture.makeBase("closed")
        defer { Fixture.removeBase(base) }
        let queue = try DiskQueue(settings: Fixture.settings(base))
        try queue.close()
        #expect(throws: QueueError.self) { try queue.append(topic: "t", payload: [], streamSequence: 1) }
        try queue.close()
    }
}
