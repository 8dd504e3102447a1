import Platform

/// Where one record sits. 24 bytes per record in memory; payloads stay on disk.
struct IndexEntry {
    var sequence: UInt64
    var offset: UInt32
    var length: UInt32
    var acknowledged: Bool
}

/// One segment file as the index sees it.
public struct IndexedSegment {
    /// From the file name: the queue sequence the segment was started for.
    public let firstSequence: UInt64
    /// Bytes in the file, including damaged stretches recovery skipped.
    public internal(set) var fileBytes: Int
    public internal(set) var pendingCount = 0
    public internal(set) var pendingBytes = 0
    var entries: [IndexEntry] = []
    /// Every entry before this one is acknowledged: acks mostly come in order, so finding the
    /// lowest pending record stays cheap.
    var firstPendingHint = 0

    public var lowestSequence: UInt64? { entries.first?.sequence }
    public var highestSequence: UInt64? { entries.last?.sequence }
}

/// Where a pending record is: which segment, and the bytes to read.
public struct RecordLocation: Equatable {
    public var segmentFirstSequence: UInt64
    public var offset: Int
    public var length: Int
}

/// The in-memory index of the queue's segments and records, free of file access so its
/// bookkeeping is tested on its own. Segments are in sequence order, the newest last.
public struct PendingIndex {
    public private(set) var segments: [IndexedSegment] = []
    public private(set) var pendingCount = 0
    public private(set) var pendingBytes = 0
    public private(set) var fileBytes = 0

    public init() {}

    public mutating func appendSegment(firstSequence: UInt64, fileBytes: Int = 0) {
        segments.append(IndexedSegment(firstSequence: firstSequence, fileBytes: fileBytes))
        self.fileBytes += fileBytes
    }

    /// Adds a record to the newest segment, growing its size to cover it. Sequences must
    /// increase; the caller guarantees it (recovery drops any that do not).
    public mutating func addRecord(sequence: UInt64, offset: Int, length: Int, acknowledged: Bool) {
        let last = segments.count - 1
        guard last >= 0 else { return }
        segments[last].entries.append(IndexEntry(sequence: sequence, offset: UInt32(truncatingIfNeeded: offset),
                                                 length: UInt32(truncatingIfNeeded: length),
                                                 acknowledged: acknowledged))
        let end = offset + length
        if end > segments[last].fileBytes {
            fileBytes += end - segments[last].fileBytes
            segments[last].fileBytes = end
        }
        if acknowledged {
            if segments[last].firstPendingHint == segments[last].entries.count - 1 {
                segments[last].firstPendingHint += 1
            }
        } else {
            segments[last].pendingCount += 1
            segments[last].pendingBytes += length
            pendingCount += 1
            pendingBytes += length
        }
    }

    /// Marks a record acknowledged. false when it is unknown or was already acknowledged.
    @discardableResult
    public mutating func acknowledge(_ sequence: UInt64) -> Bool {
        guard let (segment, entry) = find(sequence), !segments[segment].entries[entry].acknowledged else { return false }
        segments[segment].entries[entry].acknowledged = true
        let length = Int(segments[segment].entries[entry].length)
        segments[segment].pendingCount -= 1
        segments[segment].pendingBytes -= length
        pendingCount -= 1
        pendingBytes -= length
        var hint = segments[segment].firstPendingHint
        while hint < segments[segment].entries.count && segments[segment].entries[hint].acknowledged { hint += 1 }
        segments[segment].firstPendingHint = hint
        return true
    }

    /// Where a pending record is; nil when unknown or acknowledged.
    public func location(of sequence: UInt64) -> RecordLocation? {
        guard let (segment, entry) = find(sequence) else { return nil }
        let found = segments[segment].entries[entry]
        if found.acknowledged { return nil }
        return RecordLocation(segmentFirstSequence: segments[segment].firstSequence,
                              offset: Int(found.offset), length: Int(found.length))
    }

    public func isPending(_ sequence: UInt64) -> Bool { location(of: sequence) != nil }

    /// The lowest pending sequence above `sequence`, for walking pending records in order.
    public func firstPending(after sequence: UInt64) -> UInt64? {
        for segment in segments where segment.pendingCount > 0 {
            guard let highest = segment.highestSequence, highest > sequence else { continue }
            var index = max(segment.firstPendingHint, firstIndex(in: segment.entries, above: sequence))
            while index < segment.entries.count {
                if !segment.entries[index].acknowledged { return segment.entries[index].sequence }
                index += 1
            }
        }
        return nil
    }

    public var lowestPending: UInt64? { firstPending(after: 0) }

    /// Every pending sequence, oldest first.
    public func pendingSequences() -> [UInt64] {
        var sequences: [UInt64] = []
        sequences.reserveCapacity(pendingCount)
        for segment in segments where segment.pendingCount > 0 {
            var index = segment.firstPendingHint
            while index < segment.entries.count {
                if !segment.entries[index].acknowledged { sequences.append(segment.entries[index].sequence) }
                index += 1
            }
        }
        return sequences
    }

    /// The lowest sequence of any record still held, acknowledged or not.
    public var lowestRetained: UInt64? {
        for segment in segments { if let lowest = segment.lowestSequence { return lowest } }
        return nil
    }

    /// Segments whose every record is acknowledged, oldest first. The newest is left out
    /// unless asked for: it is still being appended to, and deleting it each time the broker
    /// catches up would cost a file create and delete per message.
    public func fullyAcknowledgedSegments(includingNewest: Bool = false) -> [UInt64] {
        var found: [UInt64] = []
        for (position, segment) in segments.enumerated() where segment.pendingCount == 0 {
            if position == segments.count - 1 && !includingNewest { break }
            found.append(segment.firstSequence)
        }
        return found
    }

    /// Forgets a segment (its file was deleted). Returns how many pending records it held.
    @discardableResult
    public mutating func removeSegment(firstSequence: UInt64) -> Int {
        guard let index = segments.firstIndex(where: { $0.firstSequence == firstSequence }) else { return 0 }
        let segment = segments.remove(at: index)
        pendingCount -= segment.pendingCount
        pendingBytes -= segment.pendingBytes
        fileBytes -= segment.fileBytes
        return segment.pendingCount
    }

    private func find(_ sequence: UInt64) -> (Int, Int)? {
        if sequence == 0 { return nil } // sequences start at 1
        // Newest first: live acknowledgements concern recent records.
        var segment = segments.count - 1
        while segment >= 0 {
            let entries = segments[segment].entries
            if let lowest = entries.first?.sequence, let highest = entries.last?.sequence,
               lowest <= sequence && sequence <= highest {
                let index = firstIndex(in: entries, above: sequence - 1)
                if index < entries.count && entries[index].sequence == sequence { return (segment, index) }
                return nil
            }
            segment -= 1
        }
        return nil
    }

    /// Index of the first entry whose sequence is above `sequence` (binary search).
    private func firstIndex(in entries: [IndexEntry], above sequence: UInt64) -> Int {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].sequence > sequence { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// "Do this at most every N milliseconds, and only when something changed": the fsync
/// interval and the checkpoint both follow it.
public struct IntervalSchedule {
    public let intervalMilliseconds: Int
    public private(set) var hasChanges = false
    private var lastDone: MonotonicInstant? = nil

    public init(intervalMilliseconds: Int) { self.intervalMilliseconds = intervalMilliseconds }

    public mutating func noteChange() { hasChanges = true }

    /// Due when something changed and the interval passed since it was last done (or it
    /// never was).
    public func isDue(now: MonotonicInstant) -> Bool {
        guard hasChanges else { return false }
        guard let last = lastDone else { return true }
        return now.milliseconds(since: last) >= Int64(intervalMilliseconds)
    }

    /// When it next becomes due: nil while nothing changed; at once (the zero instant) when it
    /// never ran, so a thread can sleep until then instead of looking on a tick.
    public var nextDue: MonotonicInstant? {
        guard hasChanges else { return nil }
        guard let last = lastDone else { return MonotonicInstant(nanoseconds: 0) }
        return last.adding(milliseconds: intervalMilliseconds)
    }

    public mutating func noteDone(now: MonotonicInstant) {
        hasChanges = false
        lastDone = now
    }

    /// Done outside the schedule (a checkpoint before a deletion, with no clock reading at
    /// hand): the changes are covered; the interval keeps counting from the last scheduled run.
    public mutating func noteDoneUnscheduled() { hasChanges = false }
}
