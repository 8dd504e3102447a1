import Acquisition
import Commands
import Config
import Health
import Modbus
import MQTT
import Platform
import RegisterMaps
import StoreAndForward
import Supervision
import Vitals

public struct AgentError: Error, CustomStringConvertible {
    public var description: String
}

/// What the agent last knew of one device, for its retained state topic and /readyz.
struct DeviceStatus {
    var known = false
    var answering = false
    var reason: String?
    var exceptionCode: Int?
    var sinceMilliseconds: Int64 = 0
}

/// Wires the agent together: one sampling loop per bus (each on its own thread, feeding its
/// own ring), libmosquitto's network thread, libmicrohttpd's thread for /healthz, /readyz and
/// /metrics, and this thread as the publisher: it drains the rings, assembles one message
/// per bed per cycle, writes it to the disk queue and hands it to MQTT, replays what the
/// broker has not acknowledged, and answers commands. Nothing the publisher does can hold
/// up a sampling loop.
public final class Agent {
    let config: GatewayConfig
    let version: String
    private let plan: AcquisitionPlan
    private(set) var loops: [BusLoop] = []
    private let assembler: BedAssembler
    let mqtt: MQTTClient
    private let inbox = MQTTInbox()
    let outbox: Outbox
    private let realtime: RealtimeSettings
    let topics: Topics
    /// Each bed's vitals topic, built once rather than per message.
    private let vitalsTopics: [String]
    let devices: [PlannedDevice]
    var deviceStatus: [DeviceStatus]
    let commandTokens: CommandTokens
    /// Audio paused by a command until this wall-clock time (the alarm engine takes it over).
    var audioPausedUntilMilliseconds: Int64?
    var commandsAccepted: UInt64 = 0
    var commandsRefused: UInt64 = 0
    let startedMilliseconds = wallClockMilliseconds()
    let startedInstant = MonotonicInstant.now()
    var healthServer: HealthServer?
    let healthDocuments = Locked(HealthDocuments())
    private var lastHealthPublish: MonotonicInstant?
    private var lastHealthRefresh: MonotonicInstant?
    /// When each loop's cycle count last moved, for /healthz.
    var loopLiveness = HeartbeatTracker()
    /// Last connection refusal logged, so a broker refusing every 30 s is logged once.
    private var lastRefusal: Int32?

    public init(config: GatewayConfig, version: String) throws(AgentError) {
        self.config = config
        self.version = version
        let priority = config.sampling.realtimePriority
        realtime = RealtimeSettings(priority: priority > 0 ? priority : nil, cpu: config.sampling.cpu)
        plan = AcquisitionPlan(config: config) { name in config.profile(named: name) }
        devices = plan.devices
        deviceStatus = [DeviceStatus](repeating: DeviceStatus(), count: plan.devices.count)
        for bus in plan.buses {
            do {
                loops.append(try BusLoop(bus: bus, periodMilliseconds: config.sampling.intervalMilliseconds,
                                         realtime: realtime))
            } catch {
                throw AgentError(description: "bus \(bus.name): \(error.description)")
            }
        }
        topics = Topics(prefix: config.mqtt.topicPrefix)
        let topics = self.topics
        vitalsTopics = config.beds.map { topics.vitals(bed: $0.id) }
        let patience = Int64(config.sampling.intervalMilliseconds) * 1_500_000
        assembler = BedAssembler(bedIDs: config.beds.map { $0.id }, devices: plan.devices, patienceNanoseconds: patience)

        do throws(TokenFileErrors) {
            commandTokens = try CommandTokens.load(path: config.commands.tokensFile)
        } catch {
            throw AgentError(description: error.description)
        }
        let queue: DiskQueue
        do throws(QueueError) {
            queue = try DiskQueue(settings: DiskQueueSettings(config.queue))
        } catch {
            throw AgentError(description: "cannot open the disk queue: \(error.description)")
        }
        for note in queue.recovery.notes { log(.warning, "disk queue: \(note)") }
        do throws(MQTTError) {
            mqtt = try MQTTClient(clientID: config.mqtt.clientID, cleanStart: false)
        } catch {
            throw AgentError(description: error.description)
        }
        outbox = Outbox(queue: queue, mqtt: mqtt)
        for (index, topic) in vitalsTopics.enumerated() {
            if let last = outbox.lastStreamSequence(topic: topic) { assembler.continueSequence(bed: index, after: last) }
        }
        inbox.attach(to: mqtt)
    }

    private var connectOptions: MQTTConnectOptions {
        let settings = config.mqtt
        let will = MQTTWill(topic: topics.status,
                            payload: StatusMessages.status(online: false, site: config.site, box: config.box, version: version,
                                                           sinceMilliseconds: startedMilliseconds, reason: "connection-lost"),
                            qos: .atLeastOnce, retain: true)
        return MQTTConnectOptions(host: settings.host, port: settings.port, keepaliveSeconds: settings.keepaliveSeconds,
                                  sessionExpirySeconds: UInt32(settings.sessionExpirySeconds),
                                  username: settings.credentials?.username, password: settings.credentials?.password,
                                  tls: settings.tls,
                                  will: will)
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
        let recovered = outbox.waiting
        if recovered > 0 { log(.info, "disk queue holds \(recovered) message(s) not yet acknowledged; they will be replayed") }
        do throws(MQTTError) {
            try mqtt.start(connectOptions)
        } catch {
            log(.error, error.description)
            return 1
        }
        if !startHealthServer() {
            mqtt.stop()
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
            + "every \(interval) ms, publishing to \(topics.prefix)/beds/+/vitals through the disk queue in \(config.queue.directory)")
        let tick = max(2, min(20, interval / 4))
        while !StopSignal.requested {
            step()
            sleep(milliseconds: tick)
        }
        log(.info, "stopping")
        for loop in loops { loop.stop() }
        step()
        shutDownPublishing()
        return 0
    }

    /// One publisher tick.
    private func step() {
        let now = MonotonicInstant.now()
        drainSamples(now: now.nanoseconds)
        for event in inbox.take() { handle(event) }
        outbox.replay()
        outbox.maintenance(now: now)
        refreshHealth(now: now)
    }

    private func drainSamples(now: Int64) {
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
            outbox.send(topic: vitalsTopics[bed], payload: payload, streamSequence: message.sequence)
        }
    }

    private func handle(_ event: MQTTEvent) {
        let broker = "\(config.mqtt.host):\(config.mqtt.port)"
        switch event {
        case .connected(let result):
            lastRefusal = nil
            log(.info, "connected to MQTT broker \(broker) (\(result.protocolVersion.name)"
                + (result.sessionPresent ? ", session resumed)" : ")")
                + (outbox.waiting > 0 ? "; replaying \(outbox.waiting) queued message(s)" : ""))
            outbox.brokerReady = true
            do throws(MQTTError) {
                try mqtt.subscribe(topics.commands, qos: .atLeastOnce)
            } catch {
                log(.warning, "\(error.description); commands will not be received until the next connection")
            }
            publishRetainedState()
        case .refused(let result) where result.protocolVersion == .v5 && result.code == 132:
            log(.info, "MQTT broker \(broker) does not speak MQTT 5; connecting with MQTT 3.1.1")
        case .refused(let result):
            if lastRefusal != result.code {
                lastRefusal = result.code
                var message = "MQTT broker \(broker) refused the connection: \(result.description)"
                if result.isAuthenticationFailure {
                    message += " (a wrong user name or password, or a user the broker does not allow)"
                    message += config.mqtt.credentials.map { "; check user '\($0.username)' in \($0.file)" }
                        ?? "; the broker needs a user name and password (mqtt.credentials_file)"
                }
                log(.error, message + "; retrying every 30 s at most")
            }
        case .lost(let code):
            let wasReady = outbox.brokerReady
            outbox.connectionLost()
            if wasReady && code != 0 {
                log(.warning, "lost MQTT broker \(broker) (code \(code)); reconnecting, messages wait in the disk queue")
            }
        case .acknowledged(let messageID, let reasonCode):
            outbox.acknowledged(messageID: messageID, reasonCode: reasonCode)
        case .message(let topic, let payload):
            if topic == topics.commands { execute(commandPayload: payload) }
        }
    }

    /// Birth and everything retained: on every connection and on a rebirth command.
    func publishRetainedState() {
        let birth = StatusMessages.status(online: true, site: config.site, box: config.box, version: version,
                                          sinceMilliseconds: startedMilliseconds)
        _ = try? mqtt.publish(topic: topics.status, payload: birth, qos: .atLeastOnce, retain: true)
        for index in devices.indices where deviceStatus[index].known { publishDeviceState(index) }
        publishHealth(now: MonotonicInstant.now())
    }

    private func publishDeviceState(_ index: Int) {
        let status = deviceStatus[index]
        let device = devices[index]
        let payload = StatusMessages.deviceState(device: device.config.id, bed: config.beds[device.bedIndex].id,
                                                 answering: status.answering, reason: status.reason,
                                                 exceptionCode: status.exceptionCode,
                                                 timeMilliseconds: status.sinceMilliseconds)
        _ = try? mqtt.publish(topic: topics.deviceState(device: device.config.id), payload: payload, qos: .atLeastOnce,
                              retain: true)
    }

    private func report(_ change: DeviceStateChange) {
        let device = change.device.config.id
        let index = change.device.index
        var status = DeviceStatus(known: true, answering: change.answering, reason: nil, exceptionCode: nil,
                                  sinceMilliseconds: wallClockMilliseconds())
        if change.answering {
            log(.info, "device \(device) is answering")
        } else {
            status.reason = change.failure.name
            if change.failure == .exception { status.exceptionCode = Int(change.exceptionCode) }
            let reason = change.failure == .exception
                ? "it answered with Modbus exception \(change.exceptionCode)" : change.failure.name
            log(.warning, "device \(device) lost (\(reason)); its values are comm-loss while it is retried with backoff")
        }
        deviceStatus[index] = status
        if outbox.brokerReady { publishDeviceState(index) }
    }

    /// Health for MQTT every `publish_interval_s`, and the HTTP documents once a second.
    private func refreshHealth(now: MonotonicInstant) {
        if lastHealthRefresh.map({ now.milliseconds(since: $0) >= 1000 }) ?? true {
            lastHealthRefresh = now
            updateHealthDocuments(now: now)
        }
        let interval = config.health.publishIntervalSeconds
        if interval > 0, outbox.brokerReady,
           lastHealthPublish.map({ now.milliseconds(since: $0) >= Int64(interval) * 1000 }) ?? true {
            publishHealth(now: now)
        }
    }

    private func publishHealth(now: MonotonicInstant) {
        guard config.health.publishIntervalSeconds > 0 else { return }
        lastHealthPublish = now
        _ = try? mqtt.publish(topic: topics.health, payload: healthJSON(now: now), qos: .atMostOnce, retain: true)
    }

    /// Offline status, a short wait for outstanding PUBACKs (fewer replays at next start),
    /// then the queue is closed and the connection dropped cleanly.
    private func shutDownPublishing() {
        if outbox.brokerReady {
            let death = StatusMessages.status(online: false, site: config.site, box: config.box, version: version,
                                              sinceMilliseconds: wallClockMilliseconds(), reason: "stopped")
            _ = try? mqtt.publish(topic: topics.status, payload: death, qos: .atLeastOnce, retain: true)
            let until = MonotonicInstant.now().adding(milliseconds: 1000)
            while outbox.brokerReady && outbox.waiting > 0 && MonotonicInstant.now() < until {
                for event in inbox.take() { handle(event) }
                sleep(milliseconds: 10)
            }
        }
        outbox.close()
        mqtt.stop()
        healthServer?.stop()
    }
}

extension DiskQueueSettings {
    init(_ settings: QueueSettings) {
        let fsync: FsyncPolicy
        switch settings.fsync {
        case .always: fsync = .always
        case .never: fsync = .never
        case .interval(let milliseconds): fsync = .interval(milliseconds: milliseconds)
        }
        self.init(directory: settings.directory, segmentBytes: settings.segmentBytes, maximumBytes: settings.maximumBytes,
                  fsync: fsync)
    }
}
