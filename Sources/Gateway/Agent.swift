import Acquisition
import Alarms
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
import Synchronization
import Hardware
import Profiles

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
/// own ring); the alarm thread, first reader of those rings, with the buzzer player's thread;
/// libmosquitto's network thread; libmicrohttpd's thread for /healthz, /readyz and /metrics;
/// the supervisor, which keeps the watchdogs fed only while all of these beat; and this
/// thread as the publisher: it takes the records the alarm thread passes on, assembles one
/// message per bed per cycle, writes it and every alarm event to the disk queue and hands
/// them to MQTT, replays what the broker has not acknowledged, and answers commands. Nothing
/// the publisher does can hold up a sampling loop or an alarm.
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
    let alarms: AlarmStation
    private let supervisor: Supervisor
    private let publisherHeartbeat: Heartbeat
    private let buzzerProblem: String?
    /// Each bed's alarm event topic, built once.
    private let alarmEventTopics: [String]
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
        plan = AcquisitionPlan(beds: config.beds.map { $0.devices }) { name in config.profile(named: name) }
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
            queue = try DiskQueue(settings: config.queue)
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

        alarmEventTopics = config.beds.map { topics.alarmEvents(bed: $0.id) }
        // The hardware watchdog is opened in run(): opening it starts its countdown.
        supervisor = Supervisor(watchdog: nil, notifier: SystemdNotifier.fromEnvironment(),
                                kickIntervalMilliseconds: nil)
        publisherHeartbeat = supervisor.register("publisher", expectedIntervalMilliseconds: 1000,
                                                 allowedStalenessMilliseconds: 10_000)
        for loop in loops {
            let heartbeat = supervisor.register("sampling loop of bus \(loop.bus.name)",
                                                expectedIntervalMilliseconds: loop.periodMilliseconds,
                                                allowedStalenessMilliseconds: Agent.allowedSilence(of: loop))
            loop.cycleObserver = { _ in heartbeat.beat() }
        }
        let hardware = AlarmHardware.open(config.hardware, realtimePriority: realtime.priority,
                                          buzzerHeartbeat: config.hardware.buzzer == nil ? nil
                                              : supervisor.register("buzzer", expectedIntervalMilliseconds: 1000))
        buzzerProblem = hardware.buzzerProblem
        let alarmHeartbeat = supervisor.register("alarms", expectedIntervalMilliseconds: AlarmStation.roundMilliseconds,
                                                 allowedStalenessMilliseconds: 5000)
        alarms = AlarmStation(desk: AlarmDesk(config: config, devices: plan.devices, loopCount: loops.count), loops: loops,
                              buzzer: hardware.buzzer, button: hardware.button, led: hardware.led, heartbeat: alarmHeartbeat)
    }

    /// A loop beats once a cycle; a cycle may overrun while devices time out one after the other.
    static func allowedSilence(of loop: BusLoop) -> Int {
        var timeouts = 0
        for device in loop.bus.devices { timeouts += device.config.responseTimeoutMilliseconds * 2 }
        return max(3 * loop.periodMilliseconds, 2000) + timeouts
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
        // A thread that cannot start stops the agent with exit status 1, so that systemd's
        // Restart=on-failure tries again (a resource shortage may pass).
        var startFailed = false
        for loop in loops {
            do throws(SystemError) {
                try loop.start()
            } catch {
                log(.error, "cannot start the sampling loop of bus \(loop.bus.name): \(error.description)")
                startFailed = true
            }
        }
        if !startAlarms() { startFailed = true }
        if startFailed { StopSignal.request() }
        startSupervision()
        let interval = config.sampling.intervalMilliseconds
        log(.info, "sampling \(plan.devices.count) device(s) of \(config.beds.count) bed(s) on \(loops.count) bus(es) "
            + "every \(interval) ms, publishing to \(topics.prefix)/beds/+/vitals through the disk queue in \(config.queue.directory)")
        let tick = max(2, min(20, interval / 4))
        while !StopSignal.requested {
            step()
            sleep(milliseconds: tick)
        }
        log(.info, "stopping")
        supervisor.stop()
        for loop in loops { loop.stop() }
        alarms.stop()
        step()
        shutDownPublishing()
        return startFailed ? 1 : 0
    }

    private func startAlarms() -> Bool {
        let notes = alarms.prepare(config: config, buzzerProblem: buzzerProblem)
        for note in notes { log(.warning, note) }
        do throws(SystemError) {
            try alarms.start()
            return true
        } catch {
            log(.error, "cannot start the alarm thread: \(error.description)")
            return false
        }
    }

    /// The hardware watchdog (if the board has one) and systemd's: READY=1 now, then kicks
    /// only while every thread beats.
    private func startSupervision() {
        if let settings = config.hardware.watchdog {
            do throws(WatchdogError) {
                supervisor.attach(try HardwareWatchdog(path: settings.device, timeoutSeconds: settings.timeoutSeconds))
            } catch {
                log(.error, "\(error.description): \(error.advice); running without the hardware watchdog")
            }
        }
        do throws(SystemError) {
            try supervisor.start(readyStatus: "sampling \(plan.devices.count) device(s) of \(config.beds.count) bed(s)")
        } catch {
            log(.error, "cannot start the supervisor thread: \(error.description); the watchdog will not be fed")
        }
    }

    /// One publisher tick.
    private func step() {
        publisherHeartbeat.beat()
        let now = MonotonicInstant.now()
        drainSamples(now: now.nanoseconds)
        sendAlarms()
        for event in inbox.take() { handle(event) }
        outbox.replay()
        outbox.maintenance(now: now)
        refreshHealth(now: now)
    }

    private func drainSamples(now: Int64) {
        for ring in alarms.forwardRings {
            while let record = ring.pop() {
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

    /// Alarm events through the disk queue (never lost), retained states straight to the broker
    /// (only the latest matters; all are republished on every connection).
    private func sendAlarms() {
        let (events, states) = alarms.takeOutgoing()
        for event in events {
            guard let bed = config.beds.firstIndex(where: { $0.id == event.bed }) else { continue }
            outbox.send(topic: alarmEventTopics[bed], payload: encodeAlarmEvent(event), streamSequence: event.sequence)
        }
        var degraded = !outbox.brokerReady
        for status in deviceStatus where status.known && !status.answering { degraded = true }
        alarms.degraded.store(degraded, ordering: .relaxed)
        guard outbox.brokerReady else {
            if !states.isEmpty { alarms.republishAllStates() }
            return
        }
        for state in states {
            _ = try? mqtt.publish(topic: topics.alarmState(bed: config.beds[state.bed].id), payload: state.payload,
                                  qos: .atLeastOnce, retain: true)
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
        alarms.republishAllStates()
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
