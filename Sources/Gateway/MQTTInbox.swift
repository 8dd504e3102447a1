import MQTT
import Platform

/// What libmosquitto's thread tells the publisher. Its callbacks only append here and signal
/// `wakeUp`; the publisher thread takes the events when it wakes, so no callback ever touches the
/// queue, the bed state or a sampling loop.
enum MQTTEvent {
    case connected(MQTTConnectResult)
    case refused(MQTTConnectResult)
    case lost(code: Int32)
    case acknowledged(messageID: Int32, reasonCode: Int32)
    case message(topic: String, payload: [UInt8])
}

final class MQTTInbox {
    private let events = Locked<[MQTTEvent]>([])
    /// Signalled by a post that finds the inbox empty, so the publisher thread need not poll
    /// the inbox. Set before the client connects.
    var wakeUp: WakeUp?

    func attach(to client: MQTTClient) {
        client.onConnect = { [self] result in post(result.accepted ? .connected(result) : .refused(result)) }
        client.onDisconnect = { [self] code in post(.lost(code: code)) }
        client.onPublishAcknowledged = { [self] messageID, reasonCode in
            post(.acknowledged(messageID: messageID, reasonCode: reasonCode))
        }
        client.onMessage = { [self] message in post(.message(topic: message.topic, payload: message.payload)) }
    }

    /// From libmosquitto's thread (or a test standing in for it). One wake-up per batch: a
    /// burst of PUBACKs that arrives before the publisher takes the first wakes it once, since
    /// the events already waiting were signalled and `take()` collects them all.
    func post(_ event: MQTTEvent) {
        let wasEmpty = events.withLock { pending -> Bool in
            pending.append(event)
            return pending.count == 1
        }
        if wasEmpty { wakeUp?.signal() }
    }

    /// The array the last `take` returned, emptied and swapped back in by the next: two
    /// buffers take turns, so taking the events (PUBACKs above all) allocates nothing.
    /// Publisher thread only.
    private var taken: [MQTTEvent] = []

    /// Everything posted since the last call, oldest first.
    func take() -> [MQTTEvent] {
        taken.removeAll(keepingCapacity: true)
        events.withLock { swap(&$0, &taken) }
        return taken
    }
}
