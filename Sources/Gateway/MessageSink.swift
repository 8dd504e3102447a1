import MQTT
import Platform

/// What the publisher needs of a broker connection: hand over a message (its message id
/// comes back in the PUBACK) and subscribe. `MQTTClient` is the one the agent uses; tests
/// record instead, so the publisher runs without a socket or a network thread.
protocol MessageSink: AnyObject {
    /// Whether the connection is up now (the publisher's own `brokerReady` also waits for
    /// the birth message after CONNACK).
    var isConnected: Bool { get }
    func publish(topic: String, bytes: inout [UInt8], qos: MQTTQoS, retain: Bool) throws(MQTTError) -> Int32
    /// Returns the message id the SUBACK will carry.
    @discardableResult
    func subscribe(_ pattern: String, qos: MQTTQoS) throws(MQTTError) -> Int32
}

extension MessageSink {
    @discardableResult
    func publish(topic: String, payload: String, qos: MQTTQoS, retain: Bool = false) throws(MQTTError) -> Int32 {
        var bytes = Array(payload.utf8)
        return try publish(topic: topic, bytes: &bytes, qos: qos, retain: retain)
    }
}

extension MQTTClient: MessageSink {}

/// The two clocks the publisher reads: monotonic for intervals and patience, wall time for
/// what a message says. Injected so tests decide what time it is.
struct AgentClock {
    var monotonic: () -> MonotonicInstant
    var wallMilliseconds: () -> Int64

    static var system: AgentClock {
        AgentClock(monotonic: { MonotonicInstant.now() }, wallMilliseconds: { wallClockMilliseconds() })
    }
}
