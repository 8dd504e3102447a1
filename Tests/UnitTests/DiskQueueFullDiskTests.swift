import Foundation
import Testing
@testable import StoreAndForward

/// A real ENOSPC from a small tmpfs mounted by the test (needs root, as CI runs).
@Suite(.serialized)
struct DiskQueueFullDiskTests {
    typealias Fixture = DiskQueueFixture

    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func fullDiskRefusesAppendsCleanlyAndRecovers() throws {
        let base = Fixture.makeBase("fulldisk")
        defer { Fixture.removeBase(base) }
        let tmpfs = try MountedTmpfs(at: base + "/mnt", size: "64k")
        defer { tmpfs.unmount() }
        let mountPoint = tmpfs.path
        // Leave about 24 KiB: a few segments' worth.
        let filler = mountPoint + "/filler"
        Fixture.write([UInt8](repeating: 0xAB, count: 40 << 10), to: filler)

        let directory = mountPoint + "/queue"
        // One segment, 740-byte records: the refused one straddles a page, so tmpfs takes part of
        // it before failing, and the queue must cut that part off again.
        let settings = Fixture.settings(directory, segmentBytes: 1 << 20, maximumBytes: 2 << 20, fsync: .always)
        let queue = try DiskQueue(settings: settings)
        let recordSize = Fixture.encodedSize(Fixture.fixedMessage(1, payloadBytes: 700))
        var expected = ExpectedRecords()
        var failure: QueueError? = nil
        for n in 1...200 {
            do throws(QueueError) {
                try expected.append(queue, Fixture.fixedMessage(n, payloadBytes: 700))
            } catch {
                failure = error
                break
            }
        }
        let error = try #require(failure)
        #expect(error.errno == .noSpace)
        #expect(error.description.contains("No space left on device (errno 28)"))
        #expect(error.description.hasPrefix("cannot write queue segment \(directory)/")
                || error.description.hasPrefix("cannot create queue segment \(directory)/"), "\(error.description)")
        #expect(queue.writeFailures == 1)
        let accepted = expected.sequences
        #expect(accepted.count > 5)
        #expect(queue.appendedCount == UInt64(accepted.count))
        #expect(queue.pendingSequences() == accepted)
        // The partly written record was cut off: the segments hold exactly the accepted ones.
        let onDisk = Fixture.segmentNames(directory).map { Fixture.size(directory + "/" + $0) }.reduce(0, +)
        #expect(onDisk == accepted.count * recordSize)
        #expect(queue.fileBytes == onDisk)
        #expect(expected.mismatches(in: queue, accepted).isEmpty)

        // A restart now (as after a crash) finds every accepted record and nothing torn.
        do {
            let restarted = try DiskQueue(settings: settings)
            #expect(restarted.pendingSequences() == accepted)
            #expect(restarted.recovery.bytesTruncated == 0)
            #expect(expected.mismatches(in: restarted, accepted).isEmpty)
        }

        // Still full: refused again, counted again, nothing changes.
        let refused = Fixture.fixedMessage(999, payloadBytes: 700)
        #expect(throws: QueueError.self) {
            try queue.append(topic: refused.topic, payload: refused.payload, streamSequence: refused.stream)
        }
        #expect(queue.writeFailures == 2)
        #expect(queue.pendingSequences() == accepted)

        // Space comes back: appends work again and the sequence continues without a gap.
        try FileManager.default.removeItem(atPath: filler)
        for n in 1...3 { try expected.append(queue, Fixture.fixedMessage(1000 + n, payloadBytes: 700)) }
        #expect(expected.sequences.suffix(3) == Array((accepted.count + 1)...(accepted.count + 3)).map { UInt64($0) })
        try queue.close()

        let reopened = try DiskQueue(settings: settings)
        #expect(reopened.pendingSequences() == expected.sequences)
        #expect(expected.mismatches(in: reopened, expected.sequences).isEmpty)
        #expect(reopened.recovery.bytesTruncated == 0)
        #expect(reopened.recovery.notes.isEmpty)
    }
}
