import FHIR
import MQTT
import Platform
import StoreAndForward

/// Store-and-forward: every vitals message (and, with the alarm engine, every alarm event) is
/// written to the disk queue first and deleted only after the broker's PUBACK. Messages
/// written while the broker is reachable go out at once ("live"); the rest (written during an
/// outage, recovered after a restart, or in flight when a connection dropped) are replayed
/// oldest first, a window at a time, while live ones keep flowing. Only a replayed message that
/// was handed to the MQTT client before (or, recovered from disk, may have been) is marked
/// `"replayed":true`: one that merely waited, e.g. produced before the first connection or
/// during an outage, reaches subscribers for the first time and is not. Bed descriptions go
/// through the queue too (retained), so that a replayed vitals message arrives after the
/// description it names.
/// Runs on the publisher thread only.
final class Outbox<Sink: MessageSink> {
    let queue: DiskQueue
    private var tracker: DeliveryTracker
    private let sink: Sink
    private let clock: AgentClock
    /// Live publishes beyond this many unacknowledged wait for replay instead: a connection
    /// that died silently (no RST) holds at most this many in libmosquitto until keepalive
    /// notices, and those are the only ones a subscriber may see twice.
    private let maximumInFlight = 256
    /// Replays handed to MQTT per publisher step, so live messages and acks are not starved.
    private let replayBudgetPerStep = 128
    /// The client refused a message of the last `replay()`.
    private var replayRefused = false

    /// Whether the publisher has seen CONNACK and done its birth: only then are messages sent.
    var brokerReady = false
    private(set) var writeFailureMessage: String?
    /// Messages that could not be written to disk (the queue counts them as write failures)
    /// and found no broker either: counted and published, never silent.
    private(set) var lost: UInt64 = 0
    private(set) var refusedByBroker: UInt64 = 0
    private var lastWriteFailureLog: MonotonicInstant?
    private var lastDropLog: MonotonicInstant?

    init(queue: DiskQueue, sink: Sink, clock: AgentClock) {
        self.queue = queue
        self.sink = sink
        self.clock = clock
        tracker = DeliveryTracker(replayWindow: 64)
        for sequence in queue.pendingSequences() { tracker.recordRecovered(sequence) }
    }

    var publishedLive: UInt64 { tracker.publishedLive }
    var publishedReplayed: UInt64 { tracker.publishedReplay }
    var acknowledged: UInt64 { tracker.acknowledgedCount }

    func lastStreamSequence(topic: String) -> Int64? { queue.lastStreamSequence(topic: topic) }

    /// Writes a message to the queue and sends it now if the broker is there.
    func send(topic: String, payload: String, streamSequence: Int64) {
        var bytes = Array(payload.utf8)
        send(topic: topic, payload: &bytes, streamSequence: streamSequence)
    }

    /// The same for a payload in a buffer the caller reuses: the queue and the client copy
    /// it, so nothing is allocated for it here. `bytes` is left as it was. Description
    /// topics are published retained, live and replayed.
    func send(topic: String, payload bytes: inout [UInt8], streamSequence: Int64) {
        let retain = Topics.isDescription(topic)
        let sequence: UInt64
        do throws(QueueError) {
            let dropped = queue.droppedCount
            sequence = try queue.append(topic: topic, payload: bytes, streamSequence: streamSequence)
            writeFailureMessage = nil
            if queue.droppedCount != dropped {
                tracker.forget(below: queue.oldestRetainedSequence)
                reportDrop(queue.droppedCount - dropped)
            }
        } catch {
            // A queue without persistence was reported once at start, and shows in /readyz.
            if queue.unavailability == nil { reportWriteFailure(error) }
            // Not on disk: the broker is its only chance.
            if !brokerReady || (try? sink.publish(topic: topic, bytes: &bytes, qos: .atLeastOnce, retain: retain)) == nil { lost += 1 }
            return
        }
        let publishNow = brokerReady && sink.isConnected && tracker.inFlightCount < maximumInFlight
        tracker.recordAppended(sequence, publishNow: publishNow)
        if publishNow { publish(sequence, topic: topic, bytes: &bytes, replay: false, retain: retain) }
    }

    private func publish(_ sequence: UInt64, topic: String, bytes: inout [UInt8], replay: Bool, retain: Bool) {
        do throws(MQTTError) {
            let messageID = try sink.publish(topic: topic, bytes: &bytes, qos: .atLeastOnce, retain: retain)
            tracker.published(sequence, messageID: messageID, replay: replay)
        } catch {
            tracker.publishRefused(sequence)
            if replay { replayRefused = true }
        }
    }

    /// Whether `replay()` would send something now: a backlog larger than one step's budget
    /// goes on without waiting for a wake-up. Not after the client refused a replayed message:
    /// retrying at once would spin, so the next try waits for a wake-up or the timer.
    var canReplayNow: Bool { brokerReady && !replayRefused && tracker.nextToReplay() != nil }

    /// How long the queue's upkeep may wait at most: its fsync interval, when it has one.
    var upkeepIntervalMilliseconds: Int? {
        if case .interval(let milliseconds) = queue.settings.fsync, milliseconds > 0 { return milliseconds }
        return nil
    }

    /// Replays a window of waiting messages; call once per publisher step.
    func replay() {
        replayRefused = false
        guard brokerReady else { return }
        var budget = replayBudgetPerStep
        while budget > 0, let sequence = tracker.nextToReplay() {
            budget -= 1
            guard let record = queue.read(sequence) else {
                // Dropped by the size bound, or unreadable (the queue discarded and counted
                // it): nothing left to send.
                tracker.forget(sequence)
                continue
            }
            // A description is the same document whenever it is sent: it goes out as stored,
            // retained, so it is in place again before the replayed vitals that name it.
            let isDescription = Topics.isDescription(record.topic)
            let marked = !isDescription && tracker.wasHandedBefore(sequence)
            var bytes = !marked ? record.payload
                : Topics.isFHIR(record.topic) ? FHIREncoder.markedReplayed(record.payload) : StatusMessages.markedReplayed(record.payload)
            publish(sequence, topic: record.topic, bytes: &bytes, replay: true, retain: isDescription)
        }
    }

    /// A PUBACK from the broker: the message may now leave the disk.
    func acknowledged(messageID: Int32, reasonCode: Int32) {
        guard let sequence = tracker.acknowledged(messageID: messageID) else { return }
        _ = queue.markAcknowledged(sequence)
        if reasonCode >= 128 {
            // The broker will never take this message (e.g. 135: not authorised by its ACL);
            // keeping it would block nothing but grow the queue, so it is counted and logged.
            refusedByBroker += 1
            log(.warning, "the broker refused a message (reason \(reasonCode)); check its ACL allows this box's topics")
        }
    }

    func connectionLost() {
        brokerReady = false
        tracker.connectionLost()
    }

    var waiting: Int { queue.pendingCount }

    func maintenance(now: MonotonicInstant) {
        do throws(QueueError) {
            try queue.maintenance(now: now)
        } catch {
            reportWriteFailure(error)
        }
    }

    func close() {
        do throws(QueueError) {
            try queue.close()
        } catch {
            log(.error, "closing the disk queue: \(error.description); the next start replays a little more")
        }
    }

    /// The size bound reached: the oldest messages go, and that is said out loud.
    private func reportDrop(_ count: UInt64) {
        let now = clock.monotonic()
        if let last = lastDropLog, now.milliseconds(since: last) < 60_000 { return }
        lastDropLog = now
        log(.error, "disk queue full (\(queue.settings.maximumBytes >> 20) MiB): dropped the \(count) oldest unacknowledged "
            + "message(s), \(queue.droppedCount) since start; the broker has been away too long for the configured queue.max_mb")
    }

    private func reportWriteFailure(_ error: QueueError) {
        let now = clock.monotonic()
        writeFailureMessage = error.description
        // Once a minute at most: a full disk would otherwise log once a message.
        if let last = lastWriteFailureLog, now.milliseconds(since: last) < 60_000 { return }
        lastWriteFailureLog = now
        log(.error, "\(error.description); messages go straight to the broker while it is reachable "
            + "and are lost while it is not, until the disk has room again")
    }
}
