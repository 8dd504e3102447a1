/// The publisher's bookkeeping of which pending queue records are with the broker.
///
/// Every message is appended to the queue first. Published at once while connected, it is
/// *live*; every other pending record is *waiting* (appended while disconnected, recovered
/// after a restart, or in flight when the connection dropped) and is replayed oldest first,
/// at most `replayWindow` at a time, while live messages keep going out immediately.
///
/// The usual loop:
///
///     let sequence = try queue.append(...)
///     if connected, let mid = publish(...) { tracker.published(sequence, messageID: mid, replay: false) }
///     else { tracker.recordAppended(sequence, publishNow: false) }   // or publishRefused
///     while let next = tracker.nextToReplay(), let record = try queue.read(next), let mid = publish(record) {
///         tracker.published(next, messageID: mid, replay: true)
///     }
///     on PUBACK(mid): if let sequence = tracker.acknowledged(messageID: mid) { queue.markAcknowledged(sequence) }
///
/// A waiting record is marked `"replayed":true` on the wire only when it was handed to the MQTT
/// client before (in flight when the connection dropped, or its message id reused before a
/// PUBACK) or may have been (recovered from disk after a restart: the queue does not record
/// which records it handed over). One that waited from the start, e.g. produced before the
/// first connection or during an outage, goes out as a first delivery: see `wasHandedBefore`.
///
/// Pure: no clock, no files, no MQTT.
public struct DeliveryTracker {
    public struct InFlight: Equatable {
        public var queueSequence: UInt64
        public var replay: Bool
    }

    public let replayWindow: Int
    public private(set) var waiting = SequenceSet()
    /// By libmosquitto message id. Ids wrap and are reused: the latest publish with an id wins.
    public private(set) var inFlight: [Int32: InFlight] = [:]
    /// Records handed to the client before, or recovered from disk, and not yet acknowledged.
    public private(set) var handedBefore = SequenceSet()
    public private(set) var inFlightReplayCount = 0
    public private(set) var publishedLive: UInt64 = 0
    public private(set) var publishedReplay: UInt64 = 0
    public private(set) var acknowledgedCount: UInt64 = 0

    public init(replayWindow: Int = 64) { self.replayWindow = max(1, replayWindow) }

    public var waitingCount: Int { waiting.count }
    public var inFlightCount: Int { inFlight.count }

    /// A record just appended. With `publishNow` the caller publishes it at once and reports
    /// `published` or `publishRefused`; without, it waits for replay.
    public mutating func recordAppended(_ queueSequence: UInt64, publishNow: Bool) {
        if !publishNow { waiting.insert(queueSequence) }
    }

    /// A pending record found by queue recovery: waits for replay.
    public mutating func recordRecovered(_ queueSequence: UInt64) {
        waiting.insert(queueSequence)
        handedBefore.insert(queueSequence)
    }

    /// Whether publishing `queueSequence` now sends it again: it was handed to the client
    /// before without a PUBACK, or was recovered from disk after a restart.
    public func wasHandedBefore(_ queueSequence: UInt64) -> Bool { handedBefore.contains(queueSequence) }

    public mutating func published(_ queueSequence: UInt64, messageID: Int32, replay: Bool) {
        waiting.remove(queueSequence)
        if let previous = inFlight[messageID] {
            // libmosquitto reused the id, so it no longer tracks the earlier message: without an
            // ack it was not delivered for all we know, and waits again.
            if previous.replay { inFlightReplayCount -= 1 }
            if previous.queueSequence != queueSequence {
                waiting.insert(previous.queueSequence)
                handedBefore.insert(previous.queueSequence)
            }
        }
        inFlight[messageID] = InFlight(queueSequence: queueSequence, replay: replay)
        if replay {
            inFlightReplayCount += 1
            publishedReplay += 1
        } else {
            publishedLive += 1
        }
    }

    /// The client did not take the message (disconnected, queue full): it waits for replay.
    public mutating func publishRefused(_ queueSequence: UInt64) { waiting.insert(queueSequence) }

    /// The queue sequence a PUBACK confirms, for `DiskQueue.markAcknowledged`; nil for an id
    /// not in flight (a late ack after a reconnect: that record is replayed instead).
    public mutating func acknowledged(messageID: Int32) -> UInt64? {
        guard let entry = inFlight.removeValue(forKey: messageID) else { return nil }
        if entry.replay { inFlightReplayCount -= 1 }
        handedBefore.remove(entry.queueSequence)
        acknowledgedCount += 1
        return entry.queueSequence
    }

    /// Everything in flight may not have reached the broker: all of it waits for replay.
    public mutating func connectionLost() {
        for entry in inFlight.values {
            waiting.insert(entry.queueSequence)
            handedBefore.insert(entry.queueSequence)
        }
        inFlight.removeAll()
        inFlightReplayCount = 0
    }

    /// The oldest waiting record, or nil when none waits or the replay window is full. It
    /// stays waiting until `published(_:messageID:replay: true)`.
    public func nextToReplay() -> UInt64? {
        if inFlightReplayCount >= replayWindow { return nil }
        return waiting.first
    }

    /// Forgets records the queue no longer holds below `bound` (dropped by its size bound):
    /// pass `DiskQueue.oldestRetainedSequence`. Their late acks then come back nil.
    public mutating func forget(below bound: UInt64) {
        waiting.removeAll(below: bound)
        handedBefore.removeAll(below: bound)
        removeInFlight { $0 < bound }
    }

    /// Forgets one record (discarded as unreadable).
    public mutating func forget(_ queueSequence: UInt64) {
        waiting.remove(queueSequence)
        handedBefore.remove(queueSequence)
        removeInFlight { $0 == queueSequence }
    }

    private mutating func removeInFlight(where matches: (UInt64) -> Bool) {
        var gone: [Int32] = []
        for (messageID, entry) in inFlight where matches(entry.queueSequence) { gone.append(messageID) }
        for messageID in gone {
            if let entry = inFlight.removeValue(forKey: messageID), entry.replay { inFlightReplayCount -= 1 }
        }
    }
}
