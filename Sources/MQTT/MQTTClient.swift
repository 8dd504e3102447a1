import CMosquitto
import CShims
import Platform
import Synchronization

public enum MQTTQoS: Int32, Sendable { case atMostOnce = 0, atLeastOnce = 1, exactlyOnce = 2 }

public enum MQTTProtocolVersion: Sendable, Equatable {
    case v5, v311

    public var name: String { self == .v5 ? "MQTT 5" : "MQTT 3.1.1" }
}

/// PEM files for TLS: the CA that signed the broker's certificate, and this client's own
/// certificate and key when the broker asks for one.
public struct MQTTTLSOptions: Sendable, Equatable {
    public var caFile: String
    public var certificateFile: String?
    public var keyFile: String?

    public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// The message the broker publishes for us when the connection drops without a DISCONNECT.
public struct MQTTWill: Sendable {
    public var topic: String
    public var payload: String
    public var qos: MQTTQoS
    public var retain: Bool

    public init(topic: String, payload: String, qos: MQTTQoS, retain: Bool) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

public struct MQTTConnectOptions: Sendable {
    public var host: String
    public var port: Int
    public var keepaliveSeconds: Int
    /// MQTT 5 session expiry: how long the broker keeps the session after the connection drops.
    public var sessionExpirySeconds: UInt32
    public var username: String?
    public var password: String?
    public var tls: MQTTTLSOptions?
    public var will: MQTTWill?

    public init(host: String, port: Int, keepaliveSeconds: Int = 30, sessionExpirySeconds: UInt32 = 0,
                username: String? = nil, password: String? = nil, tls: MQTTTLSOptions? = nil, will: MQTTWill? = nil) {
        self.host = host
        self.port = port
        self.keepaliveSeconds = keepaliveSeconds
        self.sessionExpirySeconds = sessionExpirySeconds
        self.username = username
        self.password = password
        self.tls = tls
        self.will = will
    }
}

/// The broker's answer to CONNECT.
public struct MQTTConnectResult: Sendable {
    /// 0 is accepted; otherwise an MQTT 5 reason code or a 3.1.1 CONNACK return code.
    public var code: Int32
    public var protocolVersion: MQTTProtocolVersion
    public var sessionPresent: Bool

    public init(code: Int32, protocolVersion: MQTTProtocolVersion, sessionPresent: Bool) {
        self.code = code
        self.protocolVersion = protocolVersion
        self.sessionPresent = sessionPresent
    }

    public var accepted: Bool { code == 0 }

    public var description: String {
        let text = protocolVersion == .v5 ? mosquitto_reason_string(code) : mosquitto_connack_string(code)
        return text.map { String(cString: $0) } ?? "code \(code)"
    }

    /// Wrong user name or password, or not allowed to connect: retrying will not help until
    /// someone changes the credentials or the broker's configuration.
    public var isAuthenticationFailure: Bool {
        protocolVersion == .v5 ? (code == 134 || code == 135) : (code == 4 || code == 5)
    }
}

/// A client of one broker through libmosquitto, on a network thread of its own. The handlers
/// below run on that thread: they must return quickly and hand work to their owner's thread.
public final class MQTTClient {
    public struct Message {
        public var topic: String
        public var payload: [UInt8]
        public var retained: Bool
    }

    private let handle: OpaquePointer
    public let clientID: String

    public var onConnect: ((MQTTConnectResult) -> Void)?
    /// Called when the connection is lost (code != 0) or closed on request (code 0).
    public var onDisconnect: ((Int32) -> Void)?
    /// The broker's PUBACK for a QoS 1 publish: message id and MQTT 5 reason code (0 in 3.1.1;
    /// 128 and above mean the broker refused the message, e.g. 135 not authorised).
    public var onPublishAcknowledged: ((Int32, Int32) -> Void)?
    /// The broker's SUBACK: the message id `subscribe` returned, and the QoS granted to each
    /// pattern of it (128 and above: refused). Until it arrives, messages on the pattern may
    /// not be delivered yet, so whoever must not miss the first message waits for this.
    public var onSubscribeAcknowledged: ((Int32, [Int32]) -> Void)?
    public var onMessage: ((Message) -> Void)?

    private static let libraryReady: Bool = {
        mosquitto_lib_init()
        return true
    }()

    /// `cleanStart: false` keeps the broker-side session (subscriptions, queued QoS 1
    /// messages for us) across reconnects.
    public init(clientID: String, cleanStart: Bool = true) throws(MQTTError) {
        _ = MQTTClient.libraryReady
        self.clientID = clientID
        guard let handle = mosquitto_new(clientID, cleanStart, nil) else {
            throw MQTTError("create MQTT client \(clientID)", code: Int32(MOSQ_ERR_ERRNO.rawValue))
        }
        self.handle = handle
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        // With Nagle's algorithm on, small QoS 1 publishes wait for the previous segment's
        // ACK: measured here, a stall of ~40 ms every few hundred messages.
        mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1)
        mosquitto_connect_v5_callback_set(handle) { _, context, code, flags, _ in
            guard let client = MQTTClient.from(context) else { return }
            let result = MQTTConnectResult(code: code, protocolVersion: client.protocolInUse,
                                           sessionPresent: flags & 1 != 0)
            client.connected.store(result.accepted, ordering: .relaxed)
            if !result.accepted { client.fallBackIfProtocolRefused(result) }
            client.onConnect?(result)
        }
        mosquitto_disconnect_v5_callback_set(handle) { _, context, code, _ in
            guard let client = MQTTClient.from(context) else { return }
            client.connected.store(false, ordering: .relaxed)
            client.onDisconnect?(code)
        }
        mosquitto_publish_v5_callback_set(handle) { _, context, messageID, reasonCode, _ in
            MQTTClient.from(context)?.onPublishAcknowledged?(messageID, reasonCode)
        }
        mosquitto_subscribe_callback_set(handle) { _, context, messageID, grantedCount, granted in
            guard let client = MQTTClient.from(context), let handler = client.onSubscribeAcknowledged else { return }
            var grantedQoS: [Int32] = []
            if let granted, grantedCount > 0 {
                grantedQoS = Array(UnsafeBufferPointer(start: granted, count: Int(grantedCount)))
            }
            handler(messageID, grantedQoS)
        }
        mosquitto_message_callback_set(handle) { _, context, message in
            guard let client = MQTTClient.from(context), let message, let handler = client.onMessage else { return }
            let topic = message.pointee.topic.map { String(cString: $0) } ?? ""
            var payload: [UInt8] = []
            if let bytes = message.pointee.payload, message.pointee.payloadlen > 0 {
                payload = Array(UnsafeRawBufferPointer(start: bytes, count: Int(message.pointee.payloadlen)))
            }
            handler(Message(topic: topic, payload: payload, retained: message.pointee.retain))
        }
    }

    deinit {
        stop()
        if connectProperties != nil { mosquitto_property_free_all(&self.connectProperties) }
        mosquitto_destroy(handle)
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> MQTTClient? {
        guard let context else { return nil }
        return Unmanaged<MQTTClient>.fromOpaque(context).takeUnretainedValue()
    }

    private let running = Atomic<Bool>(false)
    private let connected = Atomic<Bool>(false)
    private let usingV311 = Atomic<Bool>(false)
    private var networkThread: OSThread?
    private var options = MQTTConnectOptions(host: "", port: 0)
    private var connectProperties: OpaquePointer?

    /// Whether the broker has accepted the connection (CONNACK 0) and it has not been lost since.
    public var isConnected: Bool { connected.load(ordering: .relaxed) }

    /// MQTT 5 until a broker shows it speaks only 3.1.1.
    public var protocolInUse: MQTTProtocolVersion { usingV311.load(ordering: .relaxed) ? .v311 : .v5 }

    public func start(host: String, port: Int, keepaliveSeconds: Int) throws(MQTTError) {
        try start(MQTTConnectOptions(host: host, port: port, keepaliveSeconds: keepaliveSeconds))
    }

    /// Sets up TLS, credentials and the Will, then starts the network thread, which connects
    /// in the background and keeps reconnecting (1 s, doubling, capped at 30 s) for as long
    /// as the client runs: a broker that is down at start, goes away later, or refuses us,
    /// is waited for, never an error. Problems with the options themselves (an unreadable CA
    /// file) are thrown here.
    public func start(_ options: MQTTConnectOptions) throws(MQTTError) {
        self.options = options
        mosquitto_threaded_set(handle, true)
        mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5)
        if options.sessionExpirySeconds > 0 {
            let result = mosquitto_property_add_int32(&connectProperties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue),
                                                      options.sessionExpirySeconds)
            try check(result, "set the MQTT session expiry")
        }
        if let username = options.username {
            try check(mosquitto_username_pw_set(handle, username, options.password), "set the MQTT user name and password")
        }
        if let tls = options.tls {
            let result = mosquitto_tls_set(handle, tls.caFile, nil, tls.certificateFile, tls.keyFile, nil)
            try check(result, "set up TLS with CA file \(tls.caFile)"
                + (tls.certificateFile.map { ", certificate \($0), key \(tls.keyFile ?? "")" } ?? ""))
            // Verify the broker's certificate and its host name; nothing older than TLS 1.2.
            try check(mosquitto_tls_opts_set(handle, 1, "tlsv1.2", nil), "set TLS options")
        }
        if let will = options.will {
            var bytes = Array(will.payload.utf8)
            let result = bytes.withUnsafeMutableBytes { buffer in
                mosquitto_will_set(handle, will.topic, Int32(buffer.count), buffer.baseAddress, will.qos.rawValue, will.retain)
            }
            try check(result, "set the MQTT Last Will on \(will.topic)")
        }
        running.store(true, ordering: .relaxed)
        do throws(SystemError) {
            networkThread = try OSThread(name: "mqtt") { [self] in runNetwork() }
        } catch {
            running.store(false, ordering: .relaxed)
            throw MQTTError("start MQTT network thread (\(error.description))", code: Int32(MOSQ_ERR_ERRNO.rawValue))
        }
    }

    private func check(_ result: Int32, _ operation: String) throws(MQTTError) {
        if result != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw MQTTError(operation, code: result) }
    }

    /// Connects with the options given to `start`. The connect is blocking, on this thread
    /// only: libmosquitto sends CONNECT properties (the session expiry) only from its
    /// blocking connect, never from a reconnect.
    private func connect() -> Int32 {
        if protocolInUse == .v5 {
            return mosquitto_connect_bind_v5(handle, options.host, Int32(options.port), Int32(options.keepaliveSeconds),
                                             nil, connectProperties)
        }
        return mosquitto_connect(handle, options.host, Int32(options.port), Int32(options.keepaliveSeconds))
    }

    /// The longest libmosquitto's loop waits in poll when nothing happens; libmosquitto's own
    /// `mosquitto_loop_forever` uses the same.
    static let idleLoopMilliseconds: Int32 = 1000

    private func runNetwork() {
        let success = Int32(MOSQ_ERR_SUCCESS.rawValue)
        var socketOpen = false
        var backoffMilliseconds = 0
        while running.load(ordering: .relaxed) {
            if !socketOpen {
                if connect() != success {
                    backoffMilliseconds = pause(after: backoffMilliseconds)
                    continue
                }
                socketOpen = true
            }
            // A publish or disconnect from another thread wakes this wait through libmosquitto's
            // socket pair, and the loop shortens it for the next keepalive ping: the timeout
            // only bounds how late a stop is noticed, so a second keeps an idle box quiet.
            if mosquitto_loop(handle, MQTTClient.idleLoopMilliseconds, 1) != success {
                socketOpen = false
                connected.store(false, ordering: .relaxed)
                backoffMilliseconds = pause(after: backoffMilliseconds)
            } else if isConnected {
                backoffMilliseconds = 0
            }
        }
        // Let a clean DISCONNECT (and what was queued before it) go out.
        for _ in 0..<5 where socketOpen {
            if mosquitto_loop(handle, 100, 1) != success { break }
        }
    }

    /// A broker that answers an MQTT 5 CONNECT with "unsupported protocol version" speaks
    /// only 3.1.1: every later attempt uses 3.1.1.
    private func fallBackIfProtocolRefused(_ result: MQTTConnectResult) {
        if result.protocolVersion == .v5 && (result.code == 132 || result.code == 1) {
            usingV311.store(true, ordering: .relaxed)
            mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        }
    }

    /// Sleeps for the next backoff step in short slices, so `stop()` is not held up.
    private func pause(after previousMilliseconds: Int) -> Int {
        let step = min(max(previousMilliseconds * 2, 1000), 30_000)
        let until = MonotonicInstant.now().adding(milliseconds: step)
        while running.load(ordering: .relaxed) && MonotonicInstant.now() < until { sleep(milliseconds: 50) }
        return step
    }

    /// Disconnects cleanly (the broker then does not publish the Will) and stops the network
    /// thread. A thread stuck connecting to a host that does not answer is left behind after
    /// two seconds rather than holding up the agent's shutdown.
    public func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        mosquitto_disconnect(handle)
        if networkThread?.join(timeoutMilliseconds: 2000) == false {
            log(.warning, "the MQTT network thread did not stop within 2 s (still connecting to \(options.host)); leaving it")
        }
        networkThread = nil
        connected.store(false, ordering: .relaxed)
    }

    /// Queues a message; returns its message id. QoS 1 messages are resent by libmosquitto
    /// until the broker acknowledges them.
    @discardableResult
    public func publish(topic: String, payload: String, qos: MQTTQoS, retain: Bool = false) throws(MQTTError) -> Int32 {
        var bytes = Array(payload.utf8)
        return try publish(topic: topic, bytes: &bytes, qos: qos, retain: retain)
    }

    @discardableResult
    public func publish(topic: String, bytes: inout [UInt8], qos: MQTTQoS, retain: Bool = false) throws(MQTTError) -> Int32 {
        var messageID: Int32 = 0
        // withCString reads a native string's own null-terminated storage; passing the String
        // as the C argument directly made a copy of the topic for every message.
        let result = topic.withCString { topicText in
            bytes.withUnsafeMutableBytes { buffer in
                mosquitto_publish(handle, &messageID, topicText, Int32(buffer.count), buffer.baseAddress, qos.rawValue, retain)
            }
        }
        if result != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw MQTTError("publish to \(topic)", code: result) }
        return messageID
    }

    /// Queues a SUBSCRIBE; returns its message id, which `onSubscribeAcknowledged` reports
    /// back with the broker's SUBACK.
    @discardableResult
    public func subscribe(_ pattern: String, qos: MQTTQoS) throws(MQTTError) -> Int32 {
        var messageID: Int32 = 0
        let result = mosquitto_subscribe(handle, &messageID, pattern, qos.rawValue)
        if result != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw MQTTError("subscribe to \(pattern)", code: result) }
        return messageID
    }
}
