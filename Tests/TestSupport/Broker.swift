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
public final class RecordingSubscriber: @unchecked Sendable {
    private let lock = NSLock()
    private var received: [MQTTClient.Message] = []
    private var subscribed = false
    private let client: MQTTClient

    /// `sessionID` makes it a persistent session (clean start off, one hour expiry): the broker
    /// keeps its subscription and queues QoS 1 messages while it is disconnected.
    public init(port: Int, topic: String, sessionID: String? = nil) throws {
        client = try MQTTClient(clientID: sessionID ?? "test-subscriber-\(UUID().uuidString.prefix(8))",
                                cleanStart: sessionID == nil)
        client.onConnect = { [weak self] result in
            guard result.accepted, let self else { return }
            try? self.client.subscribe(topic, qos: .atLeastOnce)
            self.lock.withLock { self.subscribed = true }
        }
        client.onMessage = { [weak self] message in
            guard let self else { return }
            self.lock.withLock { self.received.append(message) }
        }
        try client.start(MQTTConnectOptions(host: "127.0.0.1", port: port, keepaliveSeconds: 30,
                                            sessionExpirySeconds: sessionID == nil ? 0 : 3600))
        let deadline = Date().addingTimeInterval(15)
        while !lock.withLock({ subscribed }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        // SUBACK follows CONNACK closely; a short pause keeps the first message from racing it.
        Thread.sleep(forTimeInterval: 0.2)
    }

    public var messages: [MQTTClient.Message] { lock.withLock { received } }

    /// Waits until `predicate` holds for the messages so far, or the timeout passes.
    @discardableResult
    public func wait(timeout: TimeInterval, until predicate: ([MQTTClient.Message]) -> Bool) -> [MQTTClient.Message] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let now = messages
            if predicate(now) { return now }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return messages
    }

    deinit { client.stop() }
}
