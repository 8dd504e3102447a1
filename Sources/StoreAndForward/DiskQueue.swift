import CShims
import Platform

/// What opening the queue found on disk.
public struct RecoveryReport: Equatable {
    public var segmentsFound = 0
    /// Records to be delivered again (at or above the checkpoint).
    public var recordsPending = 0
    /// Records below the checkpoint: delivered before the restart, not replayed.
    public var recordsAcknowledged = 0
    /// Torn or corrupt tail cut off the newest segment.
    public var bytesTruncated = 0
    /// Damaged stretches passed over in the segments (left in place).
    public var bytesSkipped = 0
    public var checkpointFound = false
    /// Parts of the queue directory that could not be used, moved aside.
    public var quarantined: [QuarantinedPart] = []
    /// One line per finding, for the log.
    public var notes: [String] = []
}

/// A part of the queue directory recovery could not use (a damaged checkpoint, a segment with an
/// impossible name or sequence, a directory where a file should be, a file it cannot read),
/// moved aside and never deleted, so IT can look at it and the queue starts without it.
public struct QuarantinedPart: Equatable, Sendable {
    /// Where it was.
    public var path: String
    /// Where it is now, next to `<movedTo>.reason`; nil when it could not be moved (it is then
    /// left where it is and ignored).
    public var movedTo: String?
    /// What is wrong with it, for a person.
    public var reason: String
}

/// Every message on disk until the broker acknowledged it.
///
/// Segment files `<20-digit first queue sequence>.seg` in one directory, appended to in order,
/// each deleted once all its records are acknowledged; a `checkpoint` file records how far
/// delivery got. After a crash, records acknowledged after the last checkpoint are delivered
/// again: a few duplicates, never a loss. Not thread-safe: one thread (the publisher) owns it.
///
/// The rule of recovery: the queue opens whatever state its directory is in, because the alarm
/// system runs in the same process and must start. Any content, name, size or kind of entry is
/// taken as it comes; a part that cannot be used is moved aside with a reason
/// (`<directory>/quarantine/<time>-<name>` and `<...>.reason`, or `<directory>.damaged-<time>`
/// for the directory itself), reported in `recovery.quarantined`, and never deleted. Sequences
/// read from disk are bounded by `sequenceLimit`, so no arithmetic on them can trap. Only a
/// directory that can neither be used nor moved aside makes `init` throw; the caller then runs
/// `withoutPersistence`.
public final class DiskQueue {
    /// Queue and stream sequences stay at or below this: a name, checkpoint or record beyond it
    /// comes from corruption or tampering and is quarantined, so no `+ 1` on a sequence read from
    /// disk can overflow. At 1000 messages a second the queue reaches it in 146 million years.
    public static let sequenceLimit: UInt64 = 1 << 62
    public static let streamSequenceLimit = Int64(1) << 62

    public let settings: QueueSettings
    /// Why this queue keeps nothing on disk (made by `withoutPersistence`); nil for a working queue.
    public let unavailability: QueueError?
    public private(set) var recovery = RecoveryReport()
    /// Unacknowledged records deleted by the size bound (or discarded as unreadable) since start.
    public private(set) var droppedCount: UInt64 = 0
    public private(set) var writeFailures: UInt64 = 0
    public private(set) var appendedCount: UInt64 = 0
    public private(set) var syncCount: UInt64 = 0
    public private(set) var checkpointWrites: UInt64 = 0
    /// Replay reads that failed; the latest reason is in `lastReadFailure`.
    public private(set) var readFailures: UInt64 = 0
    public private(set) var lastReadFailure: QueueError? = nil
    /// The queue sequence the next append gets.
    public private(set) var nextSequence: UInt64 = 1

    private var index = PendingIndex()
    private var lastStreamSequences: [String: Int64] = [:]
    private let directory: String
    private var directoryFD: Int32 = -1
    /// Open on the newest segment in `index` while it is being appended to.
    private var activeFD: Int32 = -1
    /// A damaged segment could be neither used nor moved aside, so its name still orders the
    /// directory: numbering never starts again below it.
    private var segmentsLeftInPlace = false
    /// One cached descriptor for replay reads from older segments, which go in order.
    private var readFD: Int32 = -1
    private var readSegment: UInt64 = 0
    private var unsyncedData = false
    private var unsyncedDirectory = false
    private var syncSchedule: IntervalSchedule
    private var checkpointSchedule: IntervalSchedule
    private var closed = false
    /// The record being appended, its storage kept from one append to the next.
    private var recordBuffer: [UInt8] = []
    /// The path of the segment being appended to, built once per segment rather than per record.
    private var appendPath: (firstSequence: UInt64, path: String) = (0, "")

    public init(settings: QueueSettings) throws(QueueError) {
        self.settings = settings
        unavailability = nil
        directory = DiskQueue.trimmed(settings.directory)
        var interval = 0
        if case .interval(let milliseconds) = settings.fsync { interval = milliseconds }
        syncSchedule = IntervalSchedule(intervalMilliseconds: interval)
        checkpointSchedule = IntervalSchedule(intervalMilliseconds: settings.checkpointIntervalMilliseconds)
        try DiskQueue.validate(settings)
        try recover(names: try openDirectory())
    }

    private init(settings: QueueSettings, unavailability: QueueError) {
        self.settings = settings
        self.unavailability = unavailability
        directory = DiskQueue.trimmed(settings.directory)
        syncSchedule = IntervalSchedule(intervalMilliseconds: 0)
        checkpointSchedule = IntervalSchedule(intervalMilliseconds: 0)
        closed = true
    }

    /// A queue that keeps nothing: every append throws `reason`, so the caller sends each message
    /// straight to the broker instead. For a queue directory that cannot be used at all; the
    /// agent keeps sampling, sounding alarms and publishing.
    public static func withoutPersistence(settings: QueueSettings, reason: QueueError) -> DiskQueue {
        DiskQueue(settings: settings, unavailability: reason)
    }

    private static func trimmed(_ path: String) -> String {
        var directory = path
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        return directory
    }

    deinit {
        QueueFiles.closeFile(activeFD)
        QueueFiles.closeFile(readFD)
        QueueFiles.closeFile(directoryFD)
    }

    // MARK: Figures

    public var pendingCount: Int { index.pendingCount }
    /// Bytes of the unacknowledged records as stored (headers included).
    public var pendingBytes: Int { index.pendingBytes }
    public var fileBytes: Int { index.fileBytes }
    /// What the checkpoint would record now: every sequence below it is acknowledged.
    public var lowestUnacknowledged: UInt64 {
        index.lowestPending ?? nextSequence
    }
    /// The lowest sequence still on disk: everything below was acknowledged or dropped, so a
    /// delivery tracker can forget it (`DeliveryTracker.forget(below:)`) after a drop.
    public var oldestRetainedSequence: UInt64 { index.lowestRetained ?? nextSequence }

    /// The largest stream sequence ever appended for `topic`, across restarts.
    public func lastStreamSequence(topic: String) -> Int64? { lastStreamSequences[topic] }

    public func isPending(_ queueSequence: UInt64) -> Bool { index.isPending(queueSequence) }

    /// The oldest unacknowledged record above `queueSequence`; 0 gives the oldest of all.
    public func firstPending(after queueSequence: UInt64 = 0) -> UInt64? { index.firstPending(after: queueSequence) }

    /// Every unacknowledged sequence, oldest first: what a delivery tracker replays after a restart.
    public func pendingSequences() -> [UInt64] { index.pendingSequences() }

    // MARK: Appending

    /// Stores a message and returns its queue sequence. On failure nothing of it remains
    /// (a partial write is cut off) and a later append may succeed (space freed meanwhile).
    @discardableResult
    public func append(topic: String, payload: [UInt8], streamSequence: Int64) throws(QueueError) -> UInt64 {
        if let unavailability { throw unavailability }
        if closed { throw QueueError("append to queue", directory, errno: .badFileDescriptor, detail: "the queue was closed") }
        if nextSequence >= DiskQueue.sequenceLimit {
            guard try restartNumbering() else {
                throw QueueError("append to queue", directory, errno: .invalidArgument,
                                 detail: "the queue's sequence numbers are used up and records at their end are not yet delivered; "
                                     + "numbering starts again at 1 once they are")
            }
        }
        let sequence = nextSequence
        guard RecordFormat.encode(queueSequence: sequence, streamSequence: streamSequence, topic: topic.utf8,
                                  payload: payload, into: &recordBuffer),
              recordBuffer.count <= settings.maximumBytes else {
            throw QueueError("append to queue", directory, errno: .messageTooLong,
                             detail: "the message for \(topic) (\(payload.count) bytes) is larger than the queue allows")
        }
        do throws(QueueError) {
            try makeRoom(for: recordBuffer.count)
            try prepareSegment(for: recordBuffer.count, firstSequence: sequence)
            try write(recordBuffer, sequence: sequence)
        } catch {
            writeFailures += 1
            throw error
        }
        nextSequence += 1
        appendedCount += 1
        if let known = lastStreamSequences[topic], known >= streamSequence {} else {
            lastStreamSequences[topic] = streamSequence
        }
        checkpointSchedule.noteChange()
        return sequence
    }

    /// At the end of the sequence space with every record delivered, numbering starts again at 1:
    /// nothing kept on disk then carries a sequence a new record could come before. The checkpoint
    /// is written first, so a crash after the first new record cannot count it as acknowledged.
    private func restartNumbering() throws(QueueError) -> Bool {
        guard index.pendingCount == 0, !segmentsLeftInPlace else { return false }
        _ = try deleteAcknowledgedSegments(includingNewest: true)
        guard index.segments.isEmpty else { return false }
        nextSequence = 1
        try writeCheckpoint()
        return true
    }

    /// Drops whole segments, oldest first, until `length` more bytes fit the size bound.
    private func makeRoom(for length: Int) throws(QueueError) {
        guard index.fileBytes + length > settings.maximumBytes else { return }
        // First, so the stream sequences and delivery position of what goes survive it.
        try writeCheckpoint()
        while index.fileBytes + length > settings.maximumBytes, let oldest = index.segments.first {
            droppedCount += UInt64(try deleteSegment(oldest.firstSequence))
        }
        checkpointSchedule.noteChange()
    }

    /// Makes sure the newest segment can take `length` more bytes, starting a new one if not.
    private func prepareSegment(for length: Int, firstSequence: UInt64) throws(QueueError) {
        if activeFD >= 0, let newest = index.segments.last {
            if newest.fileBytes == 0 || newest.fileBytes + length <= settings.segmentBytes { return }
            // The full segment will not be synced by `maintenance` any more: do it now.
            if settings.fsync != .never && unsyncedData {
                try QueueFiles.syncData(activeFD, path: segmentPath(newest.firstSequence))
                unsyncedData = false
                syncCount += 1
            }
        }
        let fd = try QueueFiles.openFile(segmentPath(firstSequence), flags: O_RDWR | O_CREAT | O_EXCL,
                                         operation: "create queue segment")
        QueueFiles.closeFile(activeFD)
        activeFD = fd
        unsyncedData = false
        index.appendSegment(firstSequence: firstSequence)
        unsyncedDirectory = true
        syncSchedule.noteChange()
    }

    private func write(_ record: [UInt8], sequence: UInt64) throws(QueueError) {
        guard let newest = index.segments.last, activeFD >= 0 else { // prepareSegment made one
            throw QueueError("write queue segment", directory, errno: .badFileDescriptor, detail: "no segment is open for appending")
        }
        if appendPath.firstSequence != newest.firstSequence || appendPath.path.isEmpty {
            appendPath = (newest.firstSequence, segmentPath(newest.firstSequence))
        }
        let path = appendPath.path
        let offset = newest.fileBytes
        do throws(QueueError) {
            try QueueFiles.writeBytes(activeFD, record, offset: offset, path: path, operation: "write queue segment")
            if settings.fsync == .always {
                try QueueFiles.syncData(activeFD, path: path)
                if unsyncedDirectory { try QueueFiles.syncDirectory(directoryFD, path: directory) }
                unsyncedDirectory = false
                syncCount += 1
            }
        } catch {
            // Leave the segment ending at its last complete record. Should this fail too, the
            // next append overwrites from the same offset, and recovery cuts any torn tail.
            do throws(QueueError) { try QueueFiles.truncateFile(activeFD, length: offset, path: path) } catch {}
            throw error
        }
        index.addRecord(sequence: sequence, offset: offset, length: record.count, acknowledged: false)
        if settings.fsync != .always {
            unsyncedData = true
            syncSchedule.noteChange()
        }
    }

    // MARK: Delivery

    /// Records the broker's acknowledgement (PUBACK); order does not matter. false when the
    /// record is unknown (dropped, or acknowledged before). Files are deleted by `maintenance`.
    @discardableResult
    public func markAcknowledged(_ queueSequence: UInt64) -> Bool {
        guard index.acknowledge(queueSequence) else { return false }
        checkpointSchedule.noteChange()
        return true
    }

    /// Gives up on a record that will never be delivered: it counts as dropped.
    @discardableResult
    public func discard(_ queueSequence: UInt64) -> Bool {
        guard markAcknowledged(queueSequence) else { return false }
        droppedCount += 1
        return true
    }

    /// A pending record read back from its segment for replay; nil when it is not pending or
    /// cannot be read (then `lastReadFailure` says why). A record that no longer matches its
    /// checksum can never be delivered: it is discarded and counted in `droppedCount`.
    public func read(_ queueSequence: UInt64) -> QueueRecord? {
        guard !closed, let location = index.location(of: queueSequence) else { return nil }
        let path = segmentPath(location.segmentFirstSequence)
        do throws(QueueError) {
            let fd = try descriptorForReading(location.segmentFirstSequence)
            let bytes = try QueueFiles.readBytes(fd, count: location.length, offset: location.offset, path: path)
            if let record = RecordFormat.decode(bytes), record.queueSequence == queueSequence { return record }
            discard(queueSequence)
            throw QueueError("read queue record \(queueSequence) from", path, errno: .ioError,
                             detail: "the record no longer matches its checksum and was dropped")
        } catch {
            readFailures += 1
            lastReadFailure = error
            return nil
        }
    }

    private func descriptorForReading(_ segment: UInt64) throws(QueueError) -> Int32 {
        if activeFD >= 0 && index.segments.last?.firstSequence == segment { return activeFD }
        if readFD >= 0 && readSegment == segment { return readFD }
        QueueFiles.closeFile(readFD)
        readFD = -1
        readFD = try QueueFiles.openFile(segmentPath(segment), flags: O_RDONLY, operation: "open queue segment")
        readSegment = segment
        return readFD
    }

    // MARK: Upkeep

    /// Call about every second: fsyncs on the interval policy, deletes fully acknowledged
    /// segments (after a checkpoint), and writes the checkpoint at most once per interval.
    public func maintenance(now: MonotonicInstant) throws(QueueError) {
        if closed { return }
        var firstError: QueueError? = nil
        if case .interval = settings.fsync, syncSchedule.isDue(now: now) {
            do throws(QueueError) {
                try syncNow()
                syncSchedule.noteDone(now: now)
            } catch { firstError = error }
        }
        do throws(QueueError) {
            if try deleteAcknowledgedSegments() {
                checkpointSchedule.noteDone(now: now)
            } else if checkpointSchedule.isDue(now: now) {
                try writeCheckpoint()
                checkpointSchedule.noteDone(now: now)
            }
        } catch {
            if firstError == nil { firstError = error }
        }
        if let error = firstError { throw error }
    }

    /// When `maintenance` next has work: the earlier of the fsync interval's and the
    /// checkpoint's next due time, nil while neither has anything to do.
    public var nextUpkeep: MonotonicInstant? {
        var due = checkpointSchedule.nextDue
        if case .interval = settings.fsync, let sync = syncSchedule.nextDue, due.map({ sync < $0 }) ?? true { due = sync }
        return due
    }

    /// Syncs (unless the policy is `never`), deletes acknowledged segments (the newest too),
    /// writes the checkpoint and closes the files. The queue takes no appends afterwards.
    public func close() throws(QueueError) {
        if closed { return }
        var firstError: QueueError? = nil
        if settings.fsync != .never {
            do throws(QueueError) { try syncNow() } catch { firstError = error }
        }
        do throws(QueueError) {
            if !(try deleteAcknowledgedSegments(includingNewest: true)) { try writeCheckpoint() }
        } catch {
            if firstError == nil { firstError = error }
        }
        closed = true
        QueueFiles.closeFile(activeFD)
        QueueFiles.closeFile(readFD)
        activeFD = -1
        readFD = -1
        if let error = firstError { throw error }
    }

    private func syncNow() throws(QueueError) {
        if activeFD >= 0 && unsyncedData, let newest = index.segments.last {
            try QueueFiles.syncData(activeFD, path: segmentPath(newest.firstSequence))
            unsyncedData = false
            syncCount += 1
        }
        if unsyncedDirectory {
            try QueueFiles.syncDirectory(directoryFD, path: directory)
            unsyncedDirectory = false
        }
    }

    /// Deletes segments whose records are all acknowledged, checkpoint first. true when any.
    private func deleteAcknowledgedSegments(includingNewest: Bool = false) throws(QueueError) -> Bool {
        let done = index.fullyAcknowledgedSegments(includingNewest: includingNewest)
        if done.isEmpty { return false }
        try writeCheckpoint()
        for first in done { _ = try deleteSegment(first) }
        return true
    }

    /// Deletes one segment file and forgets it; returns how many pending records it held.
    private func deleteSegment(_ first: UInt64) throws(QueueError) -> Int {
        try QueueFiles.removeFile(segmentPath(first))
        if readFD >= 0 && readSegment == first {
            QueueFiles.closeFile(readFD)
            readFD = -1
        }
        if activeFD >= 0 && index.segments.last?.firstSequence == first {
            QueueFiles.closeFile(activeFD)
            activeFD = -1
            unsyncedData = false
        }
        return index.removeSegment(firstSequence: first)
    }

    /// Written to a temporary file and renamed over the old one, so a crash leaves either
    /// the old checkpoint or the new one, never half of one.
    private func writeCheckpoint() throws(QueueError) {
        let checkpoint = QueueCheckpoint(lowestUnacknowledged: lowestUnacknowledged,
                                         lastStreamSequences: lastStreamSequences)
        let temporary = path("checkpoint.tmp")
        var fd: Int32 = -1
        do throws(QueueError) {
            fd = try QueueFiles.openFile(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC,
                                         operation: "create queue checkpoint")
            try QueueFiles.writeBytes(fd, checkpoint.encoded(), offset: 0, path: temporary,
                                      operation: "write queue checkpoint")
            if settings.fsync != .never { try QueueFiles.syncData(fd, path: temporary) }
            QueueFiles.closeFile(fd)
            fd = -1
            try QueueFiles.renameFile(temporary, to: path("checkpoint"))
            if settings.fsync != .never {
                try QueueFiles.syncDirectory(directoryFD, path: directory)
                unsyncedDirectory = false
            }
        } catch {
            QueueFiles.closeFile(fd)
            do throws(QueueError) { try QueueFiles.removeFile(temporary) } catch {}
            throw error
        }
        checkpointWrites += 1
        checkpointSchedule.noteDoneUnscheduled()
    }

    // MARK: Recovery

    /// Makes and opens the directory and lists it. Something in its place (a file, a link to
    /// nowhere) or a directory that cannot be opened or listed is moved aside whole and made
    /// afresh; only when that fails too does this throw.
    private func openDirectory() throws(QueueError) -> [String] {
        do throws(QueueError) {
            return try openDirectoryAsFound()
        } catch {
            // Nothing there: the fault is above it (a parent that is a file, no permission).
            guard FileKind(atPath: directory) != .missing else { throw error }
            let stamp = moveAsideStamp()
            guard let aside = moveAside(directory, to: "\(directory).damaged-\(stamp)",
                                                   reason: error.description) else { throw error }
            QueueFiles.closeFile(directoryFD)
            directoryFD = -1
            recovery.quarantined.append(QuarantinedPart(path: directory, movedTo: aside, reason: error.description))
            recovery.notes.append("\(error.description); moved the whole queue directory to \(aside) and started an empty one")
            return try openDirectoryAsFound()
        }
    }

    private func openDirectoryAsFound() throws(QueueError) -> [String] {
        try QueueFiles.makeDirectories(directory, mode: 0o750)
        directoryFD = try QueueFiles.openFile(directory, flags: O_RDONLY | O_DIRECTORY, operation: "open queue directory")
        return try QueueFiles.listDirectory(directory)
    }

    /// Moves `name` (in the queue directory) into `quarantine/`, or beside itself as
    /// `<name>.damaged-<time>` when that folder cannot be had. true when it was moved.
    @discardableResult
    private func quarantine(_ name: String, reason: String) -> Bool {
        let source = path(name)
        let stamp = moveAsideStamp()
        let folder = path(DiskQueue.quarantineFolder)
        if FileKind(atPath: folder) == .missing { _ = mkdir(folder, 0o750) }
        let stem = FileKind(atPath: folder) == .directory ? "\(folder)/\(stamp)-\(name)" : "\(source).damaged-\(stamp)"
        let movedTo = moveAside(source, to: stem, reason: reason)
        recovery.quarantined.append(QuarantinedPart(path: source, movedTo: movedTo, reason: reason))
        if let movedTo {
            recovery.notes.append("\(source): \(reason); moved to \(movedTo)")
            unsyncedDirectory = true
        } else {
            recovery.notes.append("\(source): \(reason); it could not be moved aside (\(Errno.current.descriptionWithNumber)), "
                                  + "so it is left in place and ignored")
        }
        return movedTo != nil
    }

    /// The queue's own folder for damaged parts; recovery never reads it.
    public static let quarantineFolder = "quarantine"

    /// Sequences the checkpoint carries that no working queue writes.
    private static func outOfRange(_ checkpoint: QueueCheckpoint) -> String? {
        // One past the limit is what a queue writes once its last possible sequence is delivered.
        if checkpoint.lowestUnacknowledged > sequenceLimit + 1 {
            return "its lowest unacknowledged sequence \(checkpoint.lowestUnacknowledged) is beyond the queue's range (1...\(sequenceLimit + 1))"
        }
        for (topic, sequence) in checkpoint.lastStreamSequences where sequence > streamSequenceLimit {
            return "its stream sequence \(sequence) for \(topic) is beyond the queue's range (at most \(streamSequenceLimit))"
        }
        return nil
    }

    private func recoverCheckpoint() -> UInt64 {
        let checkpointPath = path("checkpoint")
        var problem: String? = nil
        switch FileKind(atPath: checkpointPath) {
        case .missing:
            return 0
        case .regularFile:
            do throws(SystemError) {
                let bytes = try readFile(checkpointPath, limit: 16 << 20)
                if let checkpoint = QueueCheckpoint.decode(bytes) {
                    problem = DiskQueue.outOfRange(checkpoint)
                    if problem == nil {
                        lastStreamSequences = checkpoint.lastStreamSequences
                        recovery.checkpointFound = true
                        return checkpoint.lowestUnacknowledged
                    }
                } else {
                    problem = "the checkpoint is damaged (its length or checksum does not match)"
                }
            } catch {
                problem = QueueError(error).description
            }
        case let kind:
            problem = "\(kind.description) stands where the checkpoint file should be"
        }
        quarantine("checkpoint", reason: problem ?? "unusable")
        recovery.notes.append("without a usable checkpoint every record on disk is treated as not yet delivered, "
                              + "so some may be delivered twice; stream sequences come from the records")
        checkpointSchedule.noteChange()
        return 0
    }

    /// The first sequence of each usable segment, oldest first; every other `.seg` name is quarantined.
    private func usableSegments(among names: [String]) -> [UInt64] {
        var segments: [UInt64] = []
        for name in names where name.hasSuffix(".seg") {
            guard let first = DiskQueue.segmentSequence(fromName: name) else {
                quarantine(name, reason: "the name is not a queue segment's (20 digits, then .seg)")
                continue
            }
            guard first >= 1 && first <= DiskQueue.sequenceLimit else {
                quarantine(name, reason: "the name carries sequence \(first), outside the queue's range (1...\(DiskQueue.sequenceLimit))")
                continue
            }
            let kind = FileKind(atPath: path(name))
            guard kind == .regularFile else {
                quarantine(name, reason: "\(kind.description) stands where a segment file should be")
                continue
            }
            segments.append(first)
        }
        segments.sort()
        return segments
    }

    private func recover(names: [String]) throws(QueueError) {
        let tmpKind = FileKind(atPath: path("checkpoint.tmp"))
        if tmpKind != .missing && tmpKind != .regularFile {
            quarantine("checkpoint.tmp", reason: "\(tmpKind.description) stands where the checkpoint is written")
        }
        let checkpointMissing = FileKind(atPath: path("checkpoint")) == .missing
        let lowestUnacknowledged = recoverCheckpoint() // 0 without one: everything on disk is pending
        let segments = usableSegments(among: names)
        recovery.segmentsFound = segments.count
        if !segments.isEmpty && checkpointMissing {
            recovery.notes.append("no checkpoint in \(directory): every record on disk is treated as not yet delivered")
        }

        // A record's offset and length are kept in 32 bits, and a segment is read whole.
        let largestSegment = min(settings.maximumBytes, Int(UInt32.max))
        var highest: UInt64 = 0
        var sequenceFloor: UInt64 = 1
        for (position, first) in segments.enumerated() {
            let path = segmentPath(first)
            let isNewest = position == segments.count - 1
            if first > sequenceFloor { sequenceFloor = first }
            var fd: Int32 = -1
            var size = 0
            var problem: String? = nil
            do throws(QueueError) {
                // Only the newest is written to (and maybe truncated); older ones are only read.
                fd = try QueueFiles.openFile(path, flags: isNewest ? O_RDWR : O_RDONLY, operation: "open queue segment")
                size = try QueueFiles.fileSize(fd, path: path)
                if size > largestSegment {
                    problem = "the segment is \(size) bytes, more than the queue's maximum of \(largestSegment) bytes"
                } else {
                    let scan = scanSegment(try QueueFiles.readBytes(fd, count: size, offset: 0, path: path), after: highest)
                    if scan.recordsBeyondRange > 0 {
                        problem = "\(scan.recordsBeyondRange) intact record(s) carry a sequence beyond the queue's range "
                            + "(queue sequence above \(DiskQueue.sequenceLimit) or stream sequence above \(DiskQueue.streamSequenceLimit))"
                    } else {
                        try adopt(scan, of: first, size: size, fd: fd, isNewest: isNewest, below: lowestUnacknowledged)
                        if let last = scan.records.last { highest = last.queueSequence }
                        if isNewest {
                            activeFD = fd
                            fd = -1
                        }
                    }
                }
            } catch {
                problem = error.description
            }
            QueueFiles.closeFile(fd)
            if let problem, !quarantine(DiskQueue.segmentName(first), reason: problem) {
                segmentsLeftInPlace = true
                // Left in place: new sequences stay above any record it can hold (at least a
                // header each), so a later segment never takes its name and order is kept.
                let room = UInt64(size > 0 ? min(size, largestSegment) / RecordFormat.headerSize + 1 : 1 << 24)
                if first + room > sequenceFloor { sequenceFloor = first + room }
            }
        }
        // Each term is at most sequenceLimit plus 2^32: no overflow.
        nextSequence = max(sequenceFloor, lowestUnacknowledged, highest + 1)
        recovery.recordsPending = index.pendingCount

        // Segments acknowledged before the restart (the crash came between checkpoint and delete).
        do throws(QueueError) {
            _ = try deleteAcknowledgedSegments()
        } catch {
            recovery.notes.append("\(error.description); acknowledged segments stay until the next attempt")
        }
    }

    /// Puts a scanned segment's records into the index, cutting a torn tail off the newest.
    private func adopt(_ scan: SegmentScan, of first: UInt64, size: Int, fd: Int32, isNewest: Bool,
                       below lowestUnacknowledged: UInt64) throws(QueueError) {
        let path = segmentPath(first)
        var keptBytes = size
        if scan.validEnd < size {
            let tail = size - scan.validEnd
            if isNewest {
                try QueueFiles.truncateFile(fd, length: scan.validEnd, path: path)
                keptBytes = scan.validEnd
                recovery.bytesTruncated += tail
                recovery.notes.append("\(path): cut off \(tail) bytes after the last complete record "
                                      + "(a write interrupted by a crash or power loss)")
            } else {
                recovery.bytesSkipped += tail
                recovery.notes.append("\(path): skipped \(tail) damaged bytes from offset \(scan.validEnd) to the end")
            }
        }
        for stretch in scan.skipped {
            recovery.bytesSkipped += stretch.count
            recovery.notes.append("\(path): skipped \(stretch.count) damaged bytes at offset \(stretch.start)")
        }
        index.appendSegment(firstSequence: first, fileBytes: keptBytes)
        for record in scan.records {
            let acknowledged = record.queueSequence < lowestUnacknowledged
            index.addRecord(sequence: record.queueSequence, offset: record.offset, length: record.length,
                            acknowledged: acknowledged)
            if acknowledged { recovery.recordsAcknowledged += 1 }
            if let known = lastStreamSequences[record.topic], known >= record.streamSequence {} else {
                lastStreamSequences[record.topic] = record.streamSequence
            }
        }
    }

    // MARK: Names

    private func path(_ name: String) -> String { directory == "/" ? "/" + name : directory + "/" + name }

    private func segmentPath(_ first: UInt64) -> String { path(DiskQueue.segmentName(first)) }

    /// 20 digits, so names sort like the sequences they carry.
    public static func segmentName(_ first: UInt64) -> String {
        var digits = [UInt8](repeating: 0x30, count: 20)
        var value = first
        var position = 19
        while value > 0 {
            digits[position] = 0x30 + UInt8(value % 10)
            value /= 10
            position -= 1
        }
        return String(decoding: digits, as: UTF8.self) + ".seg"
    }

    /// The first sequence a segment name carries, or nil for any other file.
    public static func segmentSequence(fromName name: String) -> UInt64? {
        let bytes = Array(name.utf8)
        guard bytes.count == 24, Array(bytes[20...]) == Array(".seg".utf8) else { return nil }
        var value: UInt64 = 0
        for byte in bytes[0..<20] {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - 0x30))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }

    private static func validate(_ settings: QueueSettings) throws(QueueError) {
        var problem = ""
        if settings.directory.isEmpty {
            problem = "no queue directory is configured"
        } else if settings.segmentBytes < 1 || settings.segmentBytes > 1 << 30 {
            problem = "the segment size (\(settings.segmentBytes) bytes) must be between 1 byte and 1 GiB"
        } else if settings.maximumBytes < settings.segmentBytes {
            problem = "the maximum size (\(settings.maximumBytes) bytes) is below the segment size (\(settings.segmentBytes) bytes)"
        } else if case .interval(let milliseconds) = settings.fsync, milliseconds < 0 {
            problem = "the fsync interval (\(milliseconds) ms) is negative"
        }
        if !problem.isEmpty { throw QueueError("open queue", settings.directory, errno: .invalidArgument, detail: problem) }
    }
}
