import CMosquitto
import CShims

public enum MQTTQoS: Int32, Sendable { case atMostOnce = 0, atLeastOnce = 1, exactlyOnce = 2 }

/// A client of one broker through libmosquitto. libmosquitto runs its network loop on its
/// own thread; the handlers below are called on that thread and must not block it.
public final class MQTTClient {
    public struct Message {
        public var topic: String
        public var payload: [UInt8]
        public var retained: Bool
    }

    private let handle: OpaquePointer
    public let clientID: String

    /// Called with the CONNACK result: 0 is accepted.
    public var onConnect: ((Int32) -> Void)?
    /// Called when the connection is lost (code != 0) or closed on request (code 0).
    public var onDisconnect: ((Int32) -> Void)?
    /// Called with the message id when the broker acknowledged a QoS 1/2 publish (PUBACK).
    public var onPublishAcknowledged: ((Int32) -> Void)?
    public var onMessage: ((Message) -> Void)?

    private static let libraryReady: Bool = {
        mosquitto_lib_init()
        return true
    }()

    /// `cleanSession: false` keeps the broker-side session (and its queued QoS 1 messages)
    /// across reconnects.
    public init(clientID: String, cleanSession: Bool = true) throws(MQTTError) {
        _ = MQTTClient.libraryReady
        self.clientID = clientID
        guard let handle = mosquitto_new(clientID, cleanSession, nil) else {
            throw MQTTError("create MQTT client \(clientID)", code: Int32(MOSQ_ERR_ERRNO.rawValue))
        }
        self.handle = handle
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        // Nagle's algorithm stalls small QoS 1 publishes by ~40 ms (DESIGN.md section 5).
        mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1)
        mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        mosquitto_connect_callback_set(handle) { _, context, code in
            MQTTClient.from(context)?.onConnect?(code)
        }
        mosquitto_disconnect_callback_set(handle) { _, context, code in
            MQTTClient.from(context)?.onDisconnect?(code)
        }
        mosquitto_publish_callback_set(handle) { _, context, messageID in
            MQTTClient.from(context)?.onPublishAcknowledged?(messageID)
        }
        mosquitto_message_callback_set(handle) { _, context, message in
            guard let client = MQTTClient.from(context), let message, let handler = client.onMessage else { return }
            let topic = message.pointee.topic.map { String(cString: $0) } ?? ""
            var payload: [UInt8] = []
            if let bytes = message.pointee.payload, message.pointee.payloadlen > 0 {
                let buffer = UnsafeRawBufferPointer(start: bytes, count: Int(message.pointee.payloadlen))
                payload = Array(buffer)
            }
            handler(Message(topic: topic, payload: payload, retained: message.pointee.retain))
        }
    }

    deinit {
        mosquitto_destroy(handle)
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> MQTTClient? {
        guard let context else { return nil }
        return Unmanaged<MQTTClient>.fromOpaque(context).takeUnretainedValue()
    }

    /// Starts connecting in the background and keeps reconnecting (1 s, doubling, capped at
    /// 30 s) for as long as the client lives: a broker that is down at start is not an error.
    public func start(host: String, port: Int, keepaliveSeconds: Int) throws(MQTTError) {
        mosquitto_reconnect_delay_set(handle, 1, 30, true)
        let connected = mosquitto_connect_async(handle, host, Int32(port), Int32(keepaliveSeconds))
        // A refused first attempt is retried by the network thread; only bad arguments are fatal.
        if connected == Int32(MOSQ_ERR_INVAL.rawValue) {
            throw MQTTError("connect to \(host):\(port)", code: connected)
        }
        let started = mosquitto_loop_start(handle)
        if started != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw MQTTError("start MQTT network thread", code: started) }
    }

    /// Disconnects cleanly and stops the network thread.
    public func stop() {
        mosquitto_disconnect(handle)
        mosquitto_loop_stop(handle, false)
    }

    /// Queues a message; returns its message id. QoS 1 messages are resent by libmosquitto
    /// until the broker acknowledges them.
    @discardableResult
    public func publish(topic: String, payload: String, qos: MQTTQoS, retain: Bool = false) throws(MQTTError) -> Int32 {
        var messageID: Int32 = 0
        var bytes = Array(payload.utf8)
        let result = bytes.withUnsafeMutableBytes { buffer in
            mosquitto_publish(handle, &messageID, topic, Int32(buffer.count), buffer.baseAddress, qos.rawValue, retain)
        }
        if result != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw MQTTError("publish to \(topic)", code: result) }
        return messageID
    }

    public func subscribe(_ pattern: String, qos: MQTTQoS) throws(MQTTError) {
        let result = mosquitto_subscribe(handle, nil, pattern, qos.rawValue)
        if result != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw MQTTError("subscribe to \(pattern)", code: result) }
    }
}
