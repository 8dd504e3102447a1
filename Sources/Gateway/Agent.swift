import Config
import Modbus
import MQTT
import Platform
import RegisterMaps
import Vitals

public struct AgentError: Error, CustomStringConvertible {
    public var description: String
}

/// The agent's main loop: every sampling interval, read every device of every bed, then
/// publish one vitals message per bed (QoS 1) under the configured topic prefix.
public final class Agent {
    private struct Bed {
        var id: String
        var topic: String
        var pollers: [DevicePoller]
        var sequence: Int64 = 0
    }

    private let config: GatewayConfig
    private var beds: [Bed] = []
    private let mqtt: MQTTClient
    private var samples: [Sample] = []

    public init(config: GatewayConfig) throws(AgentError) {
        self.config = config
        for bed in config.beds {
            var pollers: [DevicePoller] = []
            for device in bed.devices {
                guard let profile = BuiltinProfiles.named(device.profile) else {
                    throw AgentError(description: "device \(device.id): unknown profile \(device.profile)")
                }
                do {
                    pollers.append(try DevicePoller(config: device, profile: profile))
                } catch {
                    throw AgentError(description: "device \(device.id): \(error.description)")
                }
            }
            beds.append(Bed(id: bed.id, topic: "\(config.mqtt.topicPrefix)/beds/\(bed.id)/vitals", pollers: pollers))
        }
        do {
            mqtt = try MQTTClient(clientID: config.mqtt.clientID)
        } catch {
            throw AgentError(description: error.description)
        }
        let broker = "\(config.mqtt.host):\(config.mqtt.port)"
        mqtt.onConnect = { code in
            if code == 0 {
                log(.info, "connected to MQTT broker \(broker)")
            } else {
                log(.warning, "MQTT broker \(broker) refused the connection (CONNACK \(code))")
            }
        }
        mqtt.onDisconnect = { code in
            if code != 0 { log(.warning, "lost MQTT broker \(broker) (code \(code)); reconnecting") }
        }
    }

    /// Runs until SIGINT or SIGTERM. Returns the process exit code.
    public func run() -> Int32 {
        StopSignal.install()
        do {
            try mqtt.start(host: config.mqtt.host, port: config.mqtt.port, keepaliveSeconds: config.mqtt.keepaliveSeconds)
        } catch {
            log(.error, error.description)
            return 1
        }
        let interval = config.sampling.intervalMilliseconds
        log(.info, "sampling \(beds.count) bed(s) every \(interval) ms, publishing to \(config.mqtt.topicPrefix)/beds/+/vitals")
        var deadline = MonotonicInstant.now()
        while !StopSignal.requested {
            runCycle()
            deadline = deadline.adding(milliseconds: interval)
            let now = MonotonicInstant.now()
            if deadline < now {
                // Overran: skip the missed cycles rather than bursting to catch up.
                let missed = now.milliseconds(since: deadline) / Int64(interval) + 1
                deadline = deadline.adding(milliseconds: Int(missed) * interval)
            }
            sleep(until: deadline)
        }
        log(.info, "stopping")
        mqtt.stop()
        return 0
    }

    private func runCycle() {
        for index in beds.indices {
            samples.removeAll(keepingCapacity: true)
            for poller in beds[index].pollers { poller.poll(into: &samples) }
            beds[index].sequence += 1
            let message = encodeVitalsMessage(bedID: beds[index].id, sequence: beds[index].sequence,
                                              wallClockMilliseconds: wallClockMilliseconds(), samples: samples)
            do {
                try mqtt.publish(topic: beds[index].topic, payload: message, qos: .atLeastOnce)
            } catch {
                log(.warning, "bed \(beds[index].id): \(error.description)")
            }
        }
    }
}
