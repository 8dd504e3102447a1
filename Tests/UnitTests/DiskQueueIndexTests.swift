import Platform
import Testing
@testable import StoreAndForward

/// The queue's bookkeeping without files: index, schedules, names, sequence sets.
struct DiskQueueIndexTests {
    /// Three segments of three records each, sequences 1...9, 10 bytes per record.
    static func threeSegments() -> PendingIndex {
        var index = PendingIndex()
        for first in [1, 4, 7] {
            index.appendSegment(firstSequence: UInt64(first))
            for sequence in first..<(first + 3) {
                index.addRecord(sequence: UInt64(sequence), offset: (sequence - first) * 10, length: 10, acknowledged: false)
            }
        }
        return index
    }

    @Test func figuresFollowAppendsAndAcknowledgements() {
        var index = Self.threeSegments()
        #expect(index.pendingCount == 9)
        #expect(index.pendingBytes == 90)
        #expect(index.fileBytes == 90)
        let results = [index.acknowledge(5), index.acknowledge(5), index.acknowledge(10), index.acknowledge(0)]
        #expect(results == [true, false, false, false], "first, twice, unknown, zero")
        #expect(index.pendingCount == 8)
        #expect(index.pendingBytes == 80)
        #expect(index.fileBytes == 90)
        #expect(index.location(of: 5) == nil)
        #expect(index.location(of: 6) == RecordLocation(segmentFirstSequence: 4, offset: 20, length: 10))
    }

    @Test func outOfOrderAcknowledgementsKeepThePendingOrder() {
        var index = Self.threeSegments()
        for sequence: UInt64 in [3, 1, 8, 4] { index.acknowledge(sequence) }
        #expect(index.pendingSequences() == [2, 5, 6, 7, 9])
        #expect(index.lowestPending == 2)
        #expect(index.firstPending(after: 2) == 5)
        #expect(index.firstPending(after: 7) == 9)
        #expect(index.firstPending(after: 9) == nil)
        index.acknowledge(2)
        #expect(index.lowestPending == 5)
        #expect(index.lowestRetained == 1)
    }

    @Test func onlyFullyAcknowledgedOlderSegmentsAreDeletable() {
        var index = Self.threeSegments()
        for sequence: UInt64 in [1, 3, 5, 6, 4, 7, 8, 9] { index.acknowledge(sequence) }
        // Segment 1 still has 2 pending; the newest (7) is excluded unless asked for.
        #expect(index.fullyAcknowledgedSegments() == [4])
        #expect(index.fullyAcknowledgedSegments(includingNewest: true) == [4, 7])
        index.acknowledge(2)
        #expect(index.fullyAcknowledgedSegments() == [1, 4])
        let pendingInRemoved = index.removeSegment(firstSequence: 4)
        #expect(pendingInRemoved == 0)
        #expect(index.fileBytes == 60)
        #expect(index.segments.map { $0.firstSequence } == [1, 7])
    }

    @Test func removingASegmentReportsItsPendingRecords() {
        var index = Self.threeSegments()
        index.acknowledge(2)
        let pendingInRemoved = index.removeSegment(firstSequence: 1)
        #expect(pendingInRemoved == 2)
        #expect(index.pendingCount == 6)
        #expect(index.pendingBytes == 60)
        #expect(index.lowestRetained == 4)
        let pendingInUnknown = index.removeSegment(firstSequence: 99)
        #expect(pendingInUnknown == 0)
    }

    @Test func recoveredAcknowledgedRecordsAreNotPending() {
        var index = PendingIndex()
        index.appendSegment(firstSequence: 1, fileBytes: 50)
        index.addRecord(sequence: 1, offset: 0, length: 10, acknowledged: true)
        index.addRecord(sequence: 2, offset: 10, length: 10, acknowledged: true)
        index.addRecord(sequence: 3, offset: 20, length: 10, acknowledged: false)
        #expect(index.pendingSequences() == [3])
        #expect(index.fileBytes == 50, "damaged bytes recovery skipped still count as file bytes")
        #expect(index.lowestPending == 3)
    }

    @Test func intervalScheduleRunsOnlyAfterChangesAndTheInterval() {
        var schedule = IntervalSchedule(intervalMilliseconds: 1000)
        let start = MonotonicInstant(nanoseconds: 5_000_000_000)
        #expect(!schedule.isDue(now: start), "nothing changed")
        schedule.noteChange()
        #expect(schedule.isDue(now: start), "never done before")
        schedule.noteDone(now: start)
        schedule.noteChange()
        #expect(!schedule.isDue(now: start.adding(milliseconds: 999)))
        #expect(schedule.isDue(now: start.adding(milliseconds: 1000)))
        schedule.noteDoneUnscheduled()
        #expect(!schedule.isDue(now: start.adding(milliseconds: 5000)))
    }

    @Test func segmentNamesSortLikeTheirSequences() {
        #expect(DiskQueue.segmentName(12) == "00000000000000000012.seg")
        #expect(DiskQueue.segmentName(UInt64.max) == "18446744073709551615.seg")
        #expect(DiskQueue.segmentSequence(fromName: "00000000000000000012.seg") == 12)
        #expect(DiskQueue.segmentSequence(fromName: DiskQueue.segmentName(UInt64.max)) == UInt64.max)
        for stray in ["checkpoint", "checkpoint.tmp", "0000000000000000012.seg", "00000000000000000012.seg~",
                      "0000000000000000001a.seg", "99999999999999999999.seg", "00000000000000000012.SEG"] {
            #expect(DiskQueue.segmentSequence(fromName: stray) == nil, "\(stray)")
        }
        let sequences: [UInt64] = [9, 10, 100, 1_000_000, 2]
        #expect(sequences.map { DiskQueue.segmentName($0) }.sorted() == sequences.sorted().map { DiskQueue.segmentName($0) })
    }

    @Test func sequenceSetAgreesWithASetUnderRandomOperations() {
        var generator = SplitMix64(seed: 0x5EED)
        var set = SequenceSet()
        var model = Set<UInt64>()
        for step in 0..<20_000 {
            let value = generator.next() % 200
            switch generator.next() % 10 {
            case 0...4:
                let inserted = set.insert(value)
                #expect(inserted == model.insert(value).inserted, "step \(step)")
            case 5...8:
                let removed = set.remove(value)
                #expect(removed == (model.remove(value) != nil), "step \(step)")
            default:
                let below = model.filter { $0 < value / 4 }
                model.subtract(below)
                let removedCount = set.removeAll(below: value / 4)
                #expect(removedCount == below.count, "step \(step)")
            }
            #expect(set.count == model.count)
            #expect(set.first == model.min())
        }
        for value: UInt64 in 0..<200 { #expect(set.contains(value) == model.contains(value)) }
        // Runs stay sorted, disjoint and non-adjacent.
        for (earlier, later) in zip(set.runs, set.runs.dropFirst()) { #expect(earlier.last + 1 < later.first) }
    }

    @Test func sequenceSetKeepsConsecutiveValuesAsOneRun() {
        var set = SequenceSet()
        for value: UInt64 in 1...100_000 { set.insert(value) }
        #expect(set.runs.count == 1)
        set.remove(50)
        #expect(set.runs == [SequenceSet.Run(first: 1, last: 49), SequenceSet.Run(first: 51, last: 100_000)])
        set.insert(50)
        #expect(set.runs.count == 1)
        #expect(set.count == 100_000)
    }
}
