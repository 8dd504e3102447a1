import Acquisition
import Alarms
import Charting
import ClinicView
import Commands
import Config
import Health
import Modbus
import MQTT
import Platform
import Profiles
import RegisterMaps
import Sessions
import StoreAndForward
import Supervision
import Vitals
import Hardware

public struct AgentError: Error, CustomStringConvertible {
    public var description: String
}

/// Wires the agent together and starts and stops its parts in one order (`startOrder`):
/// one sampling loop per bus (each on its own thread, feeding its own ring); the alarm
/// thread, first reader of those rings, with the buzzer player's thread; libmosquitto's
/// network thread; libmicrohttpd's thread for /healthz, /readyz and /metrics; the
/// supervisor, which keeps the watchdogs fed only while all of these beat; and this thread,
/// which runs the `Publisher` and rebuilds the health documents. Nothing the publisher does
/// can hold up a sampling loop or an alarm.
public final class Agent {
    /// The parts of the agent in the order they start; they stop in the reverse order, so
    /// nothing stops before what depends on it. The connection and the queue come first so
    /// that the last records and the death message still go out at the end; the alarm thread
    /// reads the loops' rings, so it starts before them and stops after them; the supervisor
    /// comes last, so that it only judges parts that run. Between start and stop this thread
    /// runs the publisher.
    enum Part: Equatable {
        case publishing, healthServer, clinicView, alarmStation, samplingLoops, supervision
    }

    static let startOrder: [Part] = [.publishing, .healthServer, .clinicView, .alarmStation, .samplingLoops, .supervision]

    let config: GatewayConfig
    private let plan: AcquisitionPlan
    private(set) var loops: [BusLoop] = []
    let mqtt: MQTTClient
    let publisher: Publisher<MQTTClient, AlarmStation>
    private let realtime: RealtimeSettings
    let alarms: AlarmStation
    private let supervisor: Supervisor
    private let publisherHeartbeat: Heartbeat
    private let buzzerProblem: String?
    let clock = AgentClock.system
    let startedInstant = MonotonicInstant.now()
    var healthServer: HealthServer?
    var healthServerState: HealthServerState = .disabled
    /// The clinic view, when `view:` is configured.
    let clinicView: ClinicViewService?
    let healthHandOver: HealthHandOver
    /// Wakes this thread: records forwarded or alarm news (the alarm thread), an MQTT event
    /// (libmosquitto's thread), a stop.
    private let publisherWakeUp: WakeUp
    /// When each loop's cycle count last moved, for /healthz.
    var loopLiveness = HeartbeatTracker()
    var lastLoopProgressLook: MonotonicInstant?

    public init(config: GatewayConfig, version: String) throws(AgentError) {
        self.config = config
        let priority = config.sampling.realtimePriority
        realtime = RealtimeSettings(priority: priority > 0 ? priority : nil, cpu: config.sampling.cpu)
        plan = AcquisitionPlan(beds: config.beds.map { $0.devices }) { name in config.profile(named: name) }
        for bus in plan.buses {
            do {
                loops.append(try BusLoop(bus: bus, periodMilliseconds: config.sampling.intervalMilliseconds,
                                         realtime: realtime))
            } catch {
                throw AgentError(description: "bus \(bus.name): \(error.description)")
            }
        }
        let alarmWakeUp: WakeUp
        do throws(SystemError) {
            alarmWakeUp = try WakeUp(purpose: "the wake-up of the alarm thread")
            publisherWakeUp = try WakeUp(purpose: "the wake-up of the publisher")
            healthHandOver = try HealthHandOver(publisherWakeUp: publisherWakeUp)
        } catch {
            throw AgentError(description: "\(error.description); raise the open files limit (ulimit -n, LimitNOFILE) if it is low")
        }
        let commandTokens: CommandTokens
        do throws(TokenFileErrors) {
            commandTokens = try CommandTokens.load(path: config.commands.tokensFile)
        } catch {
            throw AgentError(description: error.description)
        }
        // Whatever state the queue directory is in, the agent starts: the alarms must sound.
        let queue: DiskQueue
        do throws(QueueError) {
            queue = try DiskQueue(settings: config.queue)
        } catch {
            log(.error, "cannot open the disk queue: \(error.description); publishing without it: messages go to the broker "
                + "while it is connected and are lost while it is not, until the queue directory is fixed and the agent restarted")
            queue = DiskQueue.withoutPersistence(settings: config.queue, reason: error)
        }
        for note in queue.recovery.notes { log(.warning, "disk queue: \(note)") }
        do throws(MQTTError) {
            mqtt = try MQTTClient(clientID: config.mqtt.clientID, cleanStart: false)
        } catch {
            throw AgentError(description: error.description)
        }

        // The hardware watchdog is opened in run(): opening it starts its countdown.
        supervisor = Supervisor(watchdog: nil, notifier: SystemdNotifier.fromEnvironment(),
                                kickIntervalMilliseconds: nil)
        publisherHeartbeat = supervisor.register("publisher", expectedIntervalMilliseconds: 1000,
                                                 allowedStalenessMilliseconds: 10_000)
        for loop in loops {
            let heartbeat = supervisor.register("sampling loop of bus \(loop.bus.name)",
                                                expectedIntervalMilliseconds: loop.periodMilliseconds,
                                                allowedStalenessMilliseconds: loop.allowedSilenceMilliseconds)
            loop.cycleObserver = { _ in heartbeat.beat() }
        }
        let hardware = AlarmHardware.open(config.hardware, realtimePriority: realtime.priority,
                                          buzzerHeartbeat: config.hardware.buzzer == nil ? nil
                                              : supervisor.register("buzzer", expectedIntervalMilliseconds: 1000))
        buzzerProblem = hardware.buzzerProblem
        let alarmHeartbeat = supervisor.register("alarms", expectedIntervalMilliseconds: AlarmStation.longestWaitMilliseconds,
                                                 allowedStalenessMilliseconds: 5000)
        let desk = AlarmDesk(config: config, devices: plan.devices,
                             loopBeds: loops.map { loop in loop.devices.map { $0.bedIndex } })
        alarms = AlarmStation(desk: desk, loops: loops,
                              buzzer: hardware.buzzer, button: hardware.button, led: hardware.led, heartbeat: alarmHeartbeat,
                              wakeUp: alarmWakeUp, publisherWakeUp: publisherWakeUp)

        let settings = config.mqtt
        let authenticationAdvice = settings.credentials.map { "; check user '\($0.username)' in \($0.file)" }
            ?? "; the broker needs a user name and password (mqtt.credentials_file)"
        publisher = Publisher(settings: PublisherSettings(topics: Topics(prefix: settings.topicPrefix), site: config.site,
                                                          box: config.box, version: version, bedIDs: config.beds.map { $0.id },
                                                          brokerAddress: "\(settings.host):\(settings.port)",
                                                          authenticationAdvice: authenticationAdvice,
                                                          healthPublishIntervalSeconds: config.health.publishIntervalSeconds,
                                                          bedPatienceMilliseconds: config.sampling.intervalMilliseconds * 3 / 2,
                                                          charting: config.charting, sessions: config.sessions),
                              devices: plan.devices, queue: queue, sink: mqtt, clock: clock, alarms: alarms,
                              sampleRings: alarms.forwardRings,
                              commandIntake: CommandIntake(tokens: commandTokens,
                                                           maximumAgeSeconds: config.commands.maximumAgeSeconds))
        if let forward = config.alarmForward { publisher.alarmForwarder = try AlarmForwarder(config: config, settings: forward) }
        if let forward = config.chartForward { publisher.chartForwarder = try ChartForwarder(config: config, settings: forward) }
        publisher.inbox.attach(to: mqtt)
        publisher.inbox.wakeUp = publisherWakeUp
        if let view = config.view {
            let service = ClinicViewService(settings: view,
                                            layout: ViewLayout(site: config.site, box: config.box, bedIDs: config.beds.map { $0.id },
                                                               entryNames: publisher.bedEntryNames, deviceCount: plan.devices.count,
                                                               cycleMilliseconds: config.sampling.intervalMilliseconds))
            publisher.attachView(service.hub)
            clinicView = service
        } else {
            clinicView = nil
        }
        publisher.healthSummary = { [self] now in HealthDocuments.summaryJSON(gatherHealthFigures(now: now)) }
    }

    private var connectOptions: MQTTConnectOptions {
        let settings = config.mqtt
        return MQTTConnectOptions(host: settings.host, port: settings.port, keepaliveSeconds: settings.keepaliveSeconds,
                                  sessionExpirySeconds: UInt32(settings.sessionExpirySeconds),
                                  username: settings.credentials?.username, password: settings.credentials?.password,
                                  tls: settings.tls,
                                  will: publisher.lastWill)
    }

    /// Runs until SIGINT or SIGTERM. Returns the process exit code: 1 when a part could not
    /// start, so that systemd's Restart=on-failure tries again (a resource shortage may pass).
    public func run() -> Int32 {
        StopSignal.install()
        limitDefaultThreadStack()
        // The sampling loops do not allocate once running; the threads that do (the
        // publisher, libmosquitto's, the alarm thread, the health server) share a second
        // arena instead of one each.
        limitMallocArenas(2)
        if realtime.priority != nil {
            do throws(SystemError) {
                try lockAllMemory()
            } catch {
                log(.warning, "\(error.description): pages of the agent may be swapped out "
                    + "(grant CAP_IPC_LOCK or raise LimitMEMLOCK=)")
            }
        }
        var started: [Part] = []
        var exitCode: Int32 = 0
        for part in Agent.startOrder {
            do throws(AgentError) {
                try start(part)
                started.append(part)
            } catch {
                log(.error, error.description)
                exitCode = 1
                break
            }
        }
        if exitCode == 0 { runPublisher() }
        log(.info, "stopping")
        for part in started.reversed() { stop(part) }
        return exitCode
    }

    private func start(_ part: Part) throws(AgentError) {
        switch part {
        case .publishing:
            try publisher.alarmForwarder?.start()
            try publisher.chartForwarder?.start()
            let recovered = publisher.outbox.waiting
            if recovered > 0 { log(.info, "disk queue holds \(recovered) message(s) not yet acknowledged; they will be replayed") }
            do throws(MQTTError) {
                try mqtt.start(connectOptions)
            } catch {
                throw AgentError(description: error.description)
            }
        case .healthServer:
            startHealthServer()
        case .clinicView:
            clinicView?.start(clock: clock)
        case .alarmStation:
            let queue = publisher.outbox.queue
            for note in alarms.prepare(config: config, buzzerProblem: buzzerProblem,
                                       queueDamaged: !queue.recovery.quarantined.isEmpty,
                                       queueUnavailable: queue.unavailability != nil) {
                log(.warning, note)
            }
            do throws(SystemError) {
                try alarms.start(realtimePriority: realtime.priority)
            } catch {
                throw AgentError(description: "cannot start the alarm thread: \(error.description)")
            }
        case .samplingLoops:
            for (index, loop) in loops.enumerated() {
                do throws(SystemError) {
                    try loop.start()
                } catch {
                    BusLoop.stop(Array(loops[..<index]))
                    throw AgentError(description: "cannot start the sampling loop of bus \(loop.bus.name): \(error.description)")
                }
            }
        case .supervision:
            startSupervision()
        }
    }

    private func stop(_ part: Part) {
        switch part {
        case .publishing:
            // The loops and the alarm thread have stopped: one last step sends what they left.
            publisher.step(now: clock.monotonic())
            publisher.shutDown()
            publisher.alarmForwarder?.stop()
            publisher.chartForwarder?.stop()
            mqtt.stop()
            // The summary closure holds the agent, which holds the publisher: let go of it so
            // that the agent and everything it owns are freed once its owner drops it.
            publisher.healthSummary = { _ in "{}" }
        case .healthServer:
            healthServer?.stop()
        case .clinicView:
            clinicView?.stop()
        case .alarmStation:
            alarms.stop()
        case .samplingLoops:
            BusLoop.stop(loops)
        case .supervision:
            supervisor.stop()
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

    /// This thread's work until a stop is requested: the publisher and the health documents.
    /// It blocks until the alarm thread forwards records or alarm news, libmosquitto posts an
    /// event, a health request, or a stop; otherwise it wakes once a second at the latest, for
    /// the publisher's own timers (health summary, queue fsync and maintenance,
    /// a bed whose devices did not all answer) and to beat its heartbeat on an idle box.
    private func runPublisher() {
        let interval = config.sampling.intervalMilliseconds
        log(.info, "sampling \(plan.devices.count) device(s) of \(config.beds.count) bed(s) on \(loops.count) bus(es) "
            + "every \(interval) ms, publishing to \(publisher.topics.prefix)/beds/+/vitals through the disk queue in \(config.queue.directory)")
        StopSignal.wakes(publisherWakeUp)
        defer { StopSignal.wakes(nil) }
        // A bed whose devices did not all answer goes out after its patience (1.5 periods):
        // waking once a period at the latest keeps that within half a period of its due time.
        let longestWait = publisher.longestWaitMilliseconds(atMost: max(1, min(1000, interval)))
        while !StopSignal.requested {
            publisherHeartbeat.beat()
            // Before the work is taken: whatever arrives from here on wakes the next wait.
            publisherWakeUp.drain()
            let now = clock.monotonic()
            publisher.step(now: now)
            publisherRan(at: now)
            followLoopProgress(now: now)
            answerHealthRequest()
            clinicView?.feedHealth(now: now) { HealthDocuments.summaryJSON(gatherHealthFigures(now: now)) }
            if publisher.hasWorkNow { continue }
            // The alarm thread hands records over without a write while this thread works:
            // its rings are looked at once more after the wait is announced.
            publisherWakeUp.waitForProducers(timeoutMilliseconds: longestWait) { alarms.hasForwardedRecords }
        }
    }
}

extension BusLoop {
    /// `LoopLiveness` for this loop's period and devices, for the supervisor and /healthz alike.
    var allowedSilenceMilliseconds: Int {
        LoopLiveness.allowedSilenceMilliseconds(periodMilliseconds: periodMilliseconds,
                                                responseTimeoutsMilliseconds: bus.devices.map { $0.config.responseTimeoutMilliseconds })
    }
}
