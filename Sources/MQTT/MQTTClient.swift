import CMosquitto
import CShims
import Platform
import Synchronization

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
            guard let client = MQTTClient.from(context) else { return }
            client.connected.store(code == 0, ordering: .relaxed)
            client.onConnect?(code)
        }
        mosquitto_disconnect_callback_set(handle) { _, context, code in
            guard let client = MQTTClient.from(context) else { return }
            client.connected.store(false, ordering: .relaxed)
            client.onDisconnect?(code)
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
        stop()
        mosquitto_destroy(handle)
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> MQTTClient? {
        guard let context else { return nil }
        return Unmanaged<MQTTClient>.fromOpaque(context).takeUnretainedValue()
    }

    private let running = Atomic<Bool>(false)
    private let connected = Atomic<Bool>(false)
    private var networkThread: OSThread?

    /// Whether the broker has accepted the connection (CONNACK 0) and it has not been lost since.
    public var isConnected: Bool { connected.load(ordering: .relaxed) }

    /// Starts the network thread, which connects in the background and keeps reconnecting
    /// (1 s, doubling, capped at 30 s) for as long as the client runs: a broker that is down
    /// at start, or goes away later, is waited for, never an error.
    ///
    /// The thread is ours rather than libmosquitto's `loop_start`: its loop gives up for good
    /// when the very first connection attempt is refused, which left an agent started before
    /// its broker publishing nothing.
    public func start(host: String, port: Int, keepaliveSeconds: Int) throws(MQTTError) {
        mosquitto_threaded_set(handle, true)
        running.store(true, ordering: .relaxed)
        // The first attempt is made here, before the caller publishes anything: once the socket
        // is open, messages queue behind CONNECT instead of failing as "not connected".
        let first = mosquitto_connect_async(handle, host, Int32(port), Int32(keepaliveSeconds))
        if first == Int32(MOSQ_ERR_INVAL.rawValue) {
            running.store(false, ordering: .relaxed)
            throw MQTTError("connect to \(host):\(port)", code: first)
        }
        let socketOpen = first == Int32(MOSQ_ERR_SUCCESS.rawValue)
        do throws(SystemError) {
            networkThread = try OSThread(name: "mqtt") { [self] in
                runNetwork(host: host, port: port, keepaliveSeconds: keepaliveSeconds, socketOpen: socketOpen)
            }
        } catch {
            running.store(false, ordering: .relaxed)
            throw MQTTError("start MQTT network thread (\(error.description))", code: Int32(MOSQ_ERR_ERRNO.rawValue))
        }
    }

    private func runNetwork(host: String, port: Int, keepaliveSeconds: Int, socketOpen initiallyOpen: Bool) {
        let success = Int32(MOSQ_ERR_SUCCESS.rawValue)
        var socketOpen = initiallyOpen
        var backoffMilliseconds = 0
        if !socketOpen { backoffMilliseconds = pause(after: 0) }
        while running.load(ordering: .relaxed) {
            if !socketOpen {
                let result = mosquitto_reconnect_async(handle)
                if result != success {
                    backoffMilliseconds = pause(after: backoffMilliseconds)
                    continue
                }
                socketOpen = true
            }
            if mosquitto_loop(handle, 100, 1) != success {
                socketOpen = false
                connected.store(false, ordering: .relaxed)
                backoffMilliseconds = pause(after: backoffMilliseconds)
            } else if isConnected {
                backoffMilliseconds = 0
            }
        }
        // Let a clean DISCONNECT go out.
        _ = mosquitto_loop(handle, 100, 1)
    }

    /// Sleeps for the next backoff step in short slices, so `stop()` is not held up.
    private func pause(after previousMilliseconds: Int) -> Int {
        let step = min(max(previousMilliseconds * 2, 1000), 30_000)
        let until = MonotonicInstant.now().adding(milliseconds: step)
        while running.load(ordering: .relaxed) && MonotonicInstant.now() < until { sleep(milliseconds: 50) }
        return step
    }

    /// Disconnects cleanly and stops the network thread.
    public func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        mosquitto_disconnect(handle)
        networkThread?.join()
        networkThread = nil
        connected.store(false, ordering: .relaxed)
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
