import Acquisition
import Config
import Modbus
import MQTT
import Platform
import RegisterMaps
import Vitals

public struct AgentError: Error, CustomStringConvertible {
    public var description: String
}

/// Wires the agent together: one sampling loop per bus (each on its own thread, feeding its
/// own ring), and this thread as the publisher that drains the rings, assembles one
/// message per bed per cycle and hands it to MQTT. Nothing the publisher does (logging,
/// MQTT, later the disk queue) can hold up a sampling loop.
public final class Agent {
    private let config: GatewayConfig
    private let plan: AcquisitionPlan
    private var loops: [BusLoop] = []
    private let assembler: BedAssembler
    private let mqtt: MQTTClient
    private let realtime: RealtimeSettings
    /// Each bed's vitals topic, built once rather than per message.
    private let topics: [String]
    /// Messages refused by MQTT since the broker was last reachable: logged once when it
    /// starts and once when it ends, not once a cycle.
    private var unpublished = 0

    public init(config: GatewayConfig) throws(AgentError) {
        self.config = config
        let priority = config.sampling.realtimePriority
        realtime = RealtimeSettings(priority: priority > 0 ? priority : nil, cpu: config.sampling.cpu)
        plan = AcquisitionPlan(config: config) { name in config.profile(named: name) }
        for bus in plan.buses {
            do {
                loops.append(try BusLoop(bus: bus, periodMilliseconds: config.sampling.intervalMilliseconds,
                                         realtime: realtime))
            } catch {
                throw AgentError(description: "bus \(bus.name): \(error.description)")
            }
        }
        topics = config.beds.map { "\(config.mqtt.topicPrefix)/beds/\($0.id)/vitals" }
        let patience = Int64(config.sampling.intervalMilliseconds) * 1_500_000
        assembler = BedAssembler(bedIDs: config.beds.map { $0.id }, devices: plan.devices, patienceNanoseconds: patience)
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
        limitDefaultThreadStack()
        if realtime.priority != nil {
            do throws(SystemError) {
                try lockAllMemory()
            } catch {
                log(.warning, "\(error.description): pages of the agent may be swapped out "
                    + "(grant CAP_IPC_LOCK or raise LimitMEMLOCK=)")
            }
        }
        do throws(MQTTError) {
            try mqtt.start(host: config.mqtt.host, port: config.mqtt.port, keepaliveSeconds: config.mqtt.keepaliveSeconds)
        } catch {
            log(.error, error.description)
            return 1
        }
        for loop in loops {
            do throws(SystemError) {
                try loop.start()
            } catch {
                log(.error, "cannot start the sampling loop of bus \(loop.bus.name): \(error.description)")
                StopSignal.request()
            }
        }
        let interval = config.sampling.intervalMilliseconds
        log(.info, "sampling \(plan.devices.count) device(s) of \(config.beds.count) bed(s) on \(loops.count) bus(es) "
            + "every \(interval) ms, publishing to \(config.mqtt.topicPrefix)/beds/+/vitals")
        let tick = max(2, min(20, interval / 4))
        while !StopSignal.requested {
            drainAndPublish()
            sleep(milliseconds: tick)
        }
        log(.info, "stopping")
        for loop in loops { loop.stop() }
        drainAndPublish()
        mqtt.stop()
        return 0
    }

    private func drainAndPublish() {
        let now = MonotonicInstant.now().nanoseconds
        if unpublished > 0 && mqtt.isConnected {
            log(.warning, "\(unpublished) vitals message(s) could not be published while the broker was unreachable")
            unpublished = 0
        }
        for loop in loops {
            while let record = loop.ring.pop() {
                if let change = assembler.consume(record, now: now) { report(change) }
            }
        }
        for bed in assembler.readyBeds(now: now) {
            let message = assembler.takeMessage(bed: bed)
            let id = assembler.beds[bed].id
            let payload = encodeVitalsMessage(bedID: id, sequence: message.sequence,
                                              wallClockMilliseconds: wallClockMilliseconds(), samples: message.samples)
            do throws(MQTTError) {
                try mqtt.publish(topic: topics[bed], payload: payload, qos: .atLeastOnce)
            } catch {
                if unpublished == 0 {
                    log(.warning, "\(error.description); vitals are not kept while the broker is unreachable "
                        + "(store-and-forward is not built yet)")
                }
                unpublished += 1
            }
        }
    }

    private func report(_ change: DeviceStateChange) {
        let device = change.device.config.id
        if change.answering {
            log(.info, "device \(device) is answering")
        } else {
            let reason = change.failure == .exception
                ? "it answered with Modbus exception \(change.exceptionCode)" : change.failure.name
            log(.warning, "device \(device) lost (\(reason)); its values are comm-loss while it is retried with backoff")
        }
    }
}
