import CShims
import HL7
import Platform
import StoreAndForward

/// A link to one MLLP receiver, on its own thread: messages are handed over (stored in the
/// link's own disk queue first), sent one at a time in order, and each waits for its ACK.
///
/// - AA / CA: delivered; deleted from the queue.
/// - AE / CE: logged with the reason and counted; sent again after `errorRetryMilliseconds`,
///   at most `errorAttempts` times, then set aside as rejected.
/// - AR / CR: logged with the reason and counted; set aside (dropped from the queue, its control
///   id in the log): the receiver refuses the message itself, so sending it again cannot help.
/// - No ACK within `ackTimeoutMilliseconds`, or the connection lost: reconnect (with backoff)
///   and send the same message again. An ACK naming another control id is not its ACK.
///
/// The link stays connected while it has nothing to send, so that a receiver that is gone shows
/// before the next alarm needs it: an idle link that cannot connect, or whose connection fails
/// (TCP keepalive finds a peer that vanished silently), reports a problem. A receiver closing an
/// idle connection by its own policy is no problem: the link reconnects after
/// `reconnectFirstMilliseconds` and reports one only if that fails.
///
/// The thread blocks in poll(2) on the socket, the hand-over eventfd and the next deadline
/// (ACK timeout, reconnect, retry): it never polls. The queue belongs to the link thread alone.
public final class MLLPLink: @unchecked Sendable {
    public let settings: MLLPSettings
    /// Names the link in log lines ("alarms", "charting").
    public let name: String

    private let wake: WakeUp
    private let handOver = Locked(HandOver())
    private let figuresShared = Locked(MLLPFigures())
    private var thread: OSThread?

    // Owned by the link thread.
    private var queue: DiskQueue
    private var socket: Int32 = -1
    private var decoder = MLLPFrameDecoder(maximumFrameBytes: 64 << 10)
    private var inFlight: (sequence: UInt64, controlID: String, deadline: MonotonicInstant)? = nil
    private var nextConnect = MonotonicInstant(nanoseconds: 0)
    private var backoff: Int
    private var retryAt: MonotonicInstant? = nil
    /// Set when the queue's upkeep failed: the next attempt, instead of its own schedule.
    private var upkeepRetryAt: MonotonicInstant? = nil
    private var errorAttemptsOfHead = 0
    private var figures = MLLPFigures()
    private var streamSequence: Int64 = 0
    /// Messages kept in memory while the queue could not be opened (a damaged or read-only
    /// state directory): still sent, in order, but lost by a restart. Oldest dropped beyond the bound.
    private var unsaved: [[UInt8]] = []
    static let unsavedLimit = 10_000
    /// `inFlight.sequence` of a message from `unsaved` (queue sequences start at 1).
    private static let unsavedSequence: UInt64 = 0

    private var pendingCount: Int { queue.pendingCount + unsaved.count }

    private struct HandOver {
        var messages: [[UInt8]] = []
        var stopping = false
    }

    /// Opens the queue (recovering what a previous run left) and the hand-over. A queue that
    /// cannot be opened leaves the link working without persistence, as the MQTT queue does.
    public init(settings: MLLPSettings, name: String) throws(SystemError) {
        self.settings = settings
        self.name = name
        wake = try WakeUp(purpose: "the \(name) MLLP link")
        backoff = settings.reconnectFirstMilliseconds
        do throws(QueueError) {
            queue = try DiskQueue(settings: settings.queue)
        } catch {
            log(.error, "\(name) MLLP queue: \(error.description); messages are kept in memory only")
            queue = DiskQueue.withoutPersistence(settings: settings.queue, reason: error)
        }
        for note in queue.recovery.notes { log(.warning, "\(name) MLLP queue: \(note)") }
        streamSequence = queue.lastStreamSequence(topic: MLLPLink.queueTopic) ?? 0
        figures.pending = queue.pendingCount
        figures.queueUnavailable = queue.unavailability?.description
        figuresShared.withLock { $0 = figures }
    }

    public func start() throws(SystemError) {
        if queue.pendingCount > 0 {
            log(.info, "\(name) MLLP link: \(queue.pendingCount) message(s) from before the restart to send to \(settings.address)")
        }
        thread = try OSThread(name: "mllp-\(name)") { [self] in run() }
    }

    /// Every record of the link's queue has this topic (the queue keeps the last stream
    /// sequence per topic); the ACK is matched by the MSH-10 read back from the message.
    static let queueTopic = "hl7"

    /// Hands one encoded message over to the link thread (never blocks on the network or the disk).
    public func send(_ message: [UInt8]) {
        handOver.withLock { $0.messages.append(message) }
        wake.signal()
    }

    public var currentFigures: MLLPFigures { figuresShared.withLock { $0 } }

    /// Stops the thread after the exchange under way; what was not acknowledged stays on disk.
    public func stop() {
        handOver.withLock { $0.stopping = true }
        wake.signal()
        thread?.join()
        thread = nil
    }

    // MARK: - The link thread

    private func run() {
        while true {
            wake.drain()
            let (messages, stopping) = handOver.withLock { state -> ([[UInt8]], Bool) in
                let taken = state.messages
                state.messages.removeAll(keepingCapacity: true)
                return (taken, state.stopping)
            }
            store(messages)
            if stopping { break }
            let now = MonotonicInstant.now()
            do throws(QueueError) {
                try queue.maintenance(now: now)
                upkeepRetryAt = nil
            } catch {
                log(.warning, "\(name) MLLP queue: \(error.description)")
                upkeepRetryAt = now.adding(milliseconds: MLLPLink.upkeepRetryMilliseconds)
            }
            if let flight = inFlight, now >= flight.deadline {
                figures.ackTimeouts += 1
                disconnect(because: "no ACK for \(flight.controlID) within \(settings.ackTimeoutMilliseconds) ms")
            }
            if socket < 0 && now >= nextConnect { connect(now: now) }
            if socket >= 0 && inFlight == nil && (retryAt.map { now >= $0 } ?? true) {
                retryAt = nil
                sendHead(now: MonotonicInstant.now())
            }
            publishFigures()
            let ready = waitUntilReadable(wake.descriptor, socket >= 0 ? socket : nil,
                                          timeoutMilliseconds: waitMilliseconds(now: MonotonicInstant.now()))
            if ready.second { receive() }
        }
        if socket >= 0 { close(socket) }
        socket = -1
        do throws(QueueError) { try queue.maintenance(now: MonotonicInstant.now()) } catch {}
        publishFigures()
    }

    private func store(_ messages: [[UInt8]]) {
        for message in messages {
            if queue.unavailability != nil {
                if unsaved.count >= MLLPLink.unsavedLimit {
                    unsaved.removeFirst()
                    figures.dropped += 1
                }
                unsaved.append(message)
                figures.handedOver += 1
                continue
            }
            streamSequence += 1
            do throws(QueueError) {
                _ = try queue.append(topic: MLLPLink.queueTopic, payload: message, streamSequence: streamSequence)
                figures.handedOver += 1
            } catch {
                figures.dropped += 1
                log(.error, "\(name) MLLP queue could not keep \(hl7ControlID(message) ?? "a message without MSH-10"): "
                    + error.description)
            }
        }
    }

    private static let upkeepRetryMilliseconds = 1_000

    /// Until the nearest deadline: the ACK timeout, the next connection attempt, a retry, the
    /// queue's fsync or checkpoint.
    private func waitMilliseconds(now: MonotonicInstant) -> Int {
        var nearest: MonotonicInstant? = nil
        func consider(_ instant: MonotonicInstant) { if nearest == nil || instant < nearest! { nearest = instant } }
        if let flight = inFlight { consider(flight.deadline) }
        if socket < 0 { consider(nextConnect) }
        if socket >= 0 && inFlight == nil, let retryAt { consider(retryAt) }
        if let upkeep = upkeepRetryAt ?? queue.nextUpkeep { consider(upkeep) }
        guard let nearest else { return -1 }
        return Int(max(0, min(Int64(Int32.max), (nearest.nanoseconds - now.nanoseconds + 999_999) / 1_000_000)))
    }

    private func connect(now: MonotonicInstant) {
        let fd = bedside_tcp_connect(settings.host, Int32(settings.port), Int32(settings.connectTimeoutMilliseconds),
                                     Int32(settings.ackTimeoutMilliseconds))
        guard fd >= 0 else {
            figures.connectFailures += 1
            let reason = -fd == BEDSIDE_TCP_UNRESOLVED ? "the host name does not resolve" : Errno(-fd).description
            problem("cannot connect to \(settings.address): \(reason); next attempt in \(backoff) ms")
            nextConnect = MonotonicInstant.now().adding(milliseconds: backoff)
            backoff = min(backoff * 2, settings.reconnectLongestMilliseconds)
            return
        }
        socket = fd
        decoder = MLLPFrameDecoder(maximumFrameBytes: 64 << 10)
        figures.connects += 1
        figures.connected = true
        // Reaching the receiver is all an idle link can prove; with messages waiting, only an ACK clears the problem.
        if pendingCount == 0 { figures.problem = "" }
        log(.info, "\(name) MLLP link connected to \(settings.address)"
            + (pendingCount > 0 ? "; \(pendingCount) message(s) to send" : ""))
    }

    private func disconnect(because reason: String) {
        if socket >= 0 { close(socket) }
        socket = -1
        inFlight = nil
        figures.connected = false
        problem("\(reason); reconnecting to \(settings.address) in \(backoff) ms")
        nextConnect = MonotonicInstant.now().adding(milliseconds: backoff)
        backoff = min(backoff * 2, settings.reconnectLongestMilliseconds)
    }

    /// The receiver closed a connection with nothing outstanding, as interface engines with an
    /// idle timeout do: reconnect soon, without reporting a problem or growing the backoff.
    private func closeIdleConnection() {
        close(socket)
        socket = -1
        figures.connected = false
        figures.idleCloses += 1
        nextConnect = MonotonicInstant.now().adding(milliseconds: settings.reconnectFirstMilliseconds)
    }

    /// Sends the oldest message; one that can never be sent is dropped on the way, so it does
    /// not hold back those after it.
    private func sendHead(now: MonotonicInstant) {
        var head: (sequence: UInt64, payload: [UInt8], controlID: String)? = nil
        while head == nil {
            let sequence: UInt64
            let payload: [UInt8]
            if let first = queue.firstPending() {
                sequence = first
                guard let record = queue.read(sequence) else {
                    if queue.firstPending() == sequence { // not discarded: a read error, perhaps passing
                        log(.error, "\(name) MLLP queue: message \(sequence) cannot be read now"
                            + (queue.lastReadFailure.map { ": \($0.description)" } ?? "")
                            + "; trying again in \(settings.errorRetryMilliseconds) ms")
                        retryAt = now.adding(milliseconds: settings.errorRetryMilliseconds)
                        return
                    }
                    figures.dropped += 1
                    log(.error, "\(name) MLLP queue: message \(sequence) is unreadable and dropped"
                        + (queue.lastReadFailure.map { ": \($0.description)" } ?? ""))
                    continue
                }
                payload = record.payload
            } else if let first = unsaved.first {
                sequence = MLLPLink.unsavedSequence
                payload = first
            } else {
                return
            }
            guard let controlID = hl7ControlID(payload) else {
                // No ACK could ever name it: nothing the link stores is like this, but a queue is read back from disk.
                forget(sequence)
                figures.dropped += 1
                log(.error, "\(name) MLLP queue: message \(sequence) has no MSH-10 and is dropped")
                continue
            }
            head = (sequence, payload, controlID)
        }
        guard let (sequence, payload, controlID) = head else { return }
        let frame = MLLP.frame(payload)
        let written = frame.withUnsafeBufferPointer { bedside_send_all(socket, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(frame.count) else {
            disconnect(because: "sending \(controlID) failed: \(Errno(-written).description)")
            return
        }
        figures.sent += 1
        inFlight = (sequence, controlID, now.adding(milliseconds: settings.ackTimeoutMilliseconds))
    }

    private func receive() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if count == 0 {
            if inFlight == nil && pendingCount == 0 {
                closeIdleConnection()
            } else {
                disconnect(because: "\(settings.address) closed the connection")
            }
            return
        }
        if count < 0 {
            let error = Errno.current
            if error.rawValue == EAGAIN || error.rawValue == EINTR { return }
            disconnect(because: "reading from \(settings.address) failed: \(error.description)")
            return
        }
        let discardedBefore = decoder.discardedBytes
        let frames = decoder.push(Array(buffer[0..<count]))
        figures.discardedBytes += UInt64(decoder.discardedBytes - discardedBefore)
        for frame in frames { handle(frame) }
    }

    private func handle(_ frame: [UInt8]) {
        let ack: HL7Acknowledgement
        do throws(HL7AckError) { ack = try parseHL7Acknowledgement(frame) } catch {
            figures.unreadableFrames += 1
            log(.warning, "\(name) MLLP link: \(settings.address) sent a frame that is \(error.description)")
            return
        }
        guard let flight = inFlight, ack.controlID == flight.controlID else {
            figures.foreignAcks += 1
            log(.warning, "\(name) MLLP link: ignored an ACK for \(ack.controlID) (waiting for "
                + (inFlight?.controlID ?? "nothing") + ")")
            return
        }
        inFlight = nil
        let reason = ack.reason.isEmpty ? "no reason given" : ack.reason
        if ack.code.isAccepted {
            forget(flight.sequence, acknowledged: true)
            figures.accepted += 1
            figures.lastAcceptedMonotonicMilliseconds = MonotonicInstant.now().nanoseconds / 1_000_000
            figures.problem = ""
            backoff = settings.reconnectFirstMilliseconds
            errorAttemptsOfHead = 0
        } else if ack.code.isError {
            figures.errors += 1
            errorAttemptsOfHead += 1
            if errorAttemptsOfHead >= settings.errorAttempts {
                setAside(flight, "\(ack.code.code) \(errorAttemptsOfHead) times, the last: \(reason)")
            } else {
                problem("\(settings.address) answered \(ack.code.code) for \(flight.controlID): \(reason); "
                    + "sending it again in \(settings.errorRetryMilliseconds) ms")
                retryAt = MonotonicInstant.now().adding(milliseconds: settings.errorRetryMilliseconds)
            }
        } else {
            setAside(flight, "\(ack.code.code): \(reason)")
        }
        publishFigures()
    }

    private func setAside(_ flight: (sequence: UInt64, controlID: String, deadline: MonotonicInstant), _ why: String) {
        forget(flight.sequence)
        figures.rejected += 1
        errorAttemptsOfHead = 0
        problem("\(settings.address) refused \(flight.controlID) (\(why)); it is set aside and not sent again")
    }

    /// The message is done with: delivered (`acknowledged`) or given up.
    private func forget(_ sequence: UInt64, acknowledged: Bool = false) {
        if sequence == MLLPLink.unsavedSequence {
            if !unsaved.isEmpty { unsaved.removeFirst() }
        } else if acknowledged {
            _ = queue.markAcknowledged(sequence)
        } else {
            _ = queue.discard(sequence)
        }
    }

    private func problem(_ text: String) {
        if figures.problem != text { log(.warning, "\(name) MLLP link: \(text)") }
        figures.problem = text
    }

    private func publishFigures() {
        figures.pending = pendingCount
        let snapshot = figures
        figuresShared.withLock { $0 = snapshot }
    }
}
