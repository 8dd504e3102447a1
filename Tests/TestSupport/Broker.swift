import Foundation
import MQTT

/// Debian's mosquitto, started on a free loopback port for one test.
public final class MosquittoBroker {
    public let port: Int
    public let process: ChildProcess
    public let directory: URL

    /// A broker on `port`, or on a free port when nil.
    public init(port requested: Int? = nil) throws {
        directory = try temporaryDirectory("broker")
        port = requested ?? freeLoopbackPort()
        let configPath = directory.appendingPathComponent("mosquitto.conf").path
        let config = """
            listener \(port) 127.0.0.1
            allow_anonymous true
            persistence false
            log_dest stdout
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        process = try ChildProcess(name: "mosquitto", command: ["/usr/sbin/mosquitto", "-c", configPath], directory: directory)
        guard waitForListener(port: port) else {
            process.kill()
            throw TestFailure("mosquitto did not start on port \(port): \(process.output)")
        }
    }

    public func stop() { process.kill() }

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

    public init(port: Int, topic: String) throws {
        client = try MQTTClient(clientID: "test-subscriber-\(UUID().uuidString.prefix(8))")
        client.onConnect = { [weak self] code in
            guard code == 0, let self else { return }
            try? self.client.subscribe(topic, qos: .atLeastOnce)
            self.lock.withLock { self.subscribed = true }
        }
        client.onMessage = { [weak self] message in
            guard let self else { return }
            self.lock.withLock { self.received.append(message) }
        }
        try client.start(host: "127.0.0.1", port: port, keepaliveSeconds: 30)
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
