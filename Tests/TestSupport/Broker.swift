import Foundation
import MQTT

/// Debian's mosquitto, started on a free loopback port for one test.
public final class MosquittoBroker {
    public let port: Int
    public let process: ChildProcess
    public let directory: URL

    /// A broker on `port`, or on a free port when nil. `config` replaces the default
    /// anonymous loopback listener (it must open `port` itself); `persistence` keeps sessions
    /// and queued messages in that directory across a graceful `stop()` and a restart.
    public init(port requested: Int? = nil, config custom: String? = nil, persistence: URL? = nil) throws {
        directory = try temporaryDirectory("broker")
        port = requested ?? freeLoopbackPort()
        let configPath = directory.appendingPathComponent("mosquitto.conf").path
        var config = custom ?? """
            listener \(port) 127.0.0.1
            allow_anonymous true
            """
        if let persistence {
            // Started as root, mosquitto drops to the `mosquitto` user, which must be able to
            // write its database here.
            chmod(persistence.path, 0o777)
            // Queue without limit for persistent subscribers that are away: the outage tests
            // count every message.
            config += """

                persistence true
                persistence_location \(persistence.path)/
                max_queued_messages 0
                max_inflight_messages 0
                """
        } else {
            config += "\npersistence false"
        }
        config += "\nlog_dest stdout\n"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        // Foundation starts children with SIGTERM blocked; unblock it so that mosquitto can be
        // stopped gracefully (and save its persistence file) by `stop(graceful: true)`.
        let unblockAndExec = "import os,signal,sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])"
        process = try ChildProcess(name: "mosquitto",
                                   command: ["/usr/bin/python3", "-c", unblockAndExec, "/usr/sbin/mosquitto", "-c", configPath],
                                   directory: directory)
        guard waitForListener(port: port) else {
            process.kill()
            throw TestFailure("mosquitto did not start on port \(port): \(process.output)")
        }
    }

    /// SIGKILL by default (the broker vanishes as in a crash or a cable pull); `graceful`
    /// sends SIGTERM and waits, so that mosquitto writes its persistence file.
    public func stop(graceful: Bool = false) {
        if graceful { _ = process.stop(grace: 10) } else { process.kill() }
    }

    deinit { process.kill() }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A subscriber through the project's own libmosquitto wrapper that records every message.
/// Its initialiser returns once the broker has acknowledged the subscription (SUBACK), so
/// nothing published afterwards can slip past it.
public final class RecordingSubscriber: @unchecked Sendable {
    private let lock = NSLock()
    private var received: [MQTTClient.Message] = []
    /// The SUBSCRIBE sent on the current connection, and whether the broker granted it.
    private var pendingSubscription: Int32?
    private var subscribed = false
    private let client: MQTTClient

    /// `sessionID` makes it a persistent session (clean start off, one hour expiry): the broker
    /// keeps its subscription and queues QoS 1 messages while it is disconnected.
    public init(port: Int, topic: String, sessionID: String? = nil) throws {
        client = try MQTTClient(clientID: sessionID ?? "test-subscriber-\(UUID().uuidString.prefix(8))",
                                cleanStart: sessionID == nil)
        client.onConnect = { [weak self] result in
            guard result.accepted, let self else { return }
            // Callbacks run on the client's network thread, so the SUBACK cannot be handled
            // before the message id is stored.
            let messageID = try? self.client.subscribe(topic, qos: .atLeastOnce)
            self.lock.withLock { self.pendingSubscription = messageID }
        }
        client.onSubscribeAcknowledged = { [weak self] messageID, grantedQoS in
            guard let self else { return }
            let granted = !grantedQoS.isEmpty && grantedQoS.allSatisfy { $0 < 128 }
            self.lock.withLock {
                if messageID == self.pendingSubscription && granted { self.subscribed = true }
            }
        }
        client.onMessage = { [weak self] message in
            guard let self else { return }
            self.lock.withLock { self.received.append(message) }
        }
        try client.start(MQTTConnectOptions(host: "127.0.0.1", port: port, keepaliveSeconds: 30,
                                            sessionExpirySeconds: sessionID == nil ? 0 : 3600))
        guard waitUntil(timeout: 15, { lock.withLock { subscribed } }) else {
            client.stop()
            throw TestFailure("no SUBACK for \(topic) from the broker on port \(port) within 15 s")
        }
    }

    public var messages: [MQTTClient.Message] { lock.withLock { received } }

    /// Waits until `predicate` holds for the messages so far, or the timeout passes.
    @discardableResult
    public func wait(timeout: TimeInterval, until predicate: ([MQTTClient.Message]) -> Bool) -> [MQTTClient.Message] {
        var latest: [MQTTClient.Message] = []
        _ = waitUntil(timeout: timeout, checkingEvery: 0.05) {
            latest = messages
            return predicate(latest)
        }
        return latest
    }

    deinit { client.stop() }
}
