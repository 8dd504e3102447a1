import Acquisition
import Config
import Health
import MQTT
import Platform
import Supervision
import Synchronization

extension Agent {
    /// Starts /healthz, /readyz and /metrics. A port that cannot be had does not stop the
    /// agent: sampling, alarms and publishing are its first duty, and a restart would not
    /// free the port. It is logged, and the retained health summary says
    /// `"health_server": "failed"` with the reason, so the central station sees it.
    func startHealthServer() {
        let settings = config.health
        guard settings.port > 0 else {
            healthServerState = .disabled
            return
        }
        publisherRan(at: clock.monotonic())
        updateHealthDocuments()
        let handOver = healthHandOver
        let archive = publisher.sessions?.archive
        do throws(HealthError) {
            let server = try HealthServer(address: settings.listenAddress, port: settings.port) { request in
                if let archive, let response = archive.respond(to: request.path) { return response }
                guard ["/healthz", "/readyz", "/metrics"].contains(request.path) else { return nil }
                let (snapshot, publisherSilence) = handOver.freshDocuments()
                switch request.path {
                case "/healthz":
                    return snapshot.livenessServed(ageMilliseconds: publisherSilence).response
                case "/readyz":
                    return snapshot.readiness.response
                default:
                    return HealthResponse(status: 200, contentType: PrometheusDocument.contentType, body: snapshot.metrics)
                }
            }
            healthServer = server
            healthServerState = .serving(port: server.boundPort)
            let host = settings.listenAddress.contains(":") ? "[\(settings.listenAddress)]" : settings.listenAddress
            log(.info, "health checks on http://\(host):\(server.boundPort)/healthz, /readyz and /metrics"
                + (archive == nil ? "" : "; infusion session records on /sessions"))
        } catch {
            healthServerState = .failed(reason: error.description)
            log(.error, "\(error.description); /healthz, /readyz and /metrics are not served until the agent restarts "
                + "(free the port or change health.port); sampling, alarms and publishing go on")
        }
    }

    /// On the publisher thread, after each round: notes that it ran, and builds the documents
    /// when the health server asked for them. The clock is read after the request was taken,
    /// so the server knows these figures are newer than its request.
    func publisherRan(at now: MonotonicInstant) {
        healthHandOver.publisherRan(at: now)
    }

    func answerHealthRequest() {
        if healthHandOver.takeRequest() { updateHealthDocuments() }
    }

    func updateHealthDocuments() {
        let now = clock.monotonic()
        healthHandOver.deliver(HealthDocuments(gatherHealthFigures(now: now), builtAt: now))
    }

    /// Reads every figure the health documents need, on the publisher thread.
    func gatherHealthFigures(now: MonotonicInstant) -> HealthFigures {
        var figures = HealthFigures()
        figures.wallClockMilliseconds = clock.wallMilliseconds()
        figures.uptimeMilliseconds = now.milliseconds(since: startedInstant)
        figures.brokerAddress = publisher.settings.brokerAddress
        figures.brokerProtocol = mqtt.protocolInUse.name
        figures.requireClockSync = config.health.requireClockSync
        do throws(SystemError) {
            figures.clock = .read(try ClockSynchronisation.read())
        } catch {
            figures.clock = .unreadable(error.description)
        }
        figures.loops = loopFigures(now: now)
        figures.publishing = publisher.figures
        var devices = publisher.devices.map { DeviceFigures(id: $0.config.id) }
        for loop in loops {
            for (position, device) in loop.devices.enumerated() {
                let statistics = loop.deviceStatistics(position)
                var failures: [FailureCount] = []
                for kind in FailureCode.allCases where kind != .none {
                    failures.append(FailureCount(kind: kind, count: statistics.failures(kind)))
                }
                devices[device.index].requests = statistics.requests
                devices[device.index].failures = failures
                devices[device.index].requestLatency = LatencySummary(statistics.requestLatency)
            }
        }
        for index in devices.indices where index < figures.publishing.devices.count {
            devices[index].status = figures.publishing.devices[index]
        }
        figures.devices = devices
        figures.alarms = alarms.snapshot
        figures.healthServer = healthServerState
        return figures
    }

    /// Each loop's figures; its cycle count is its heartbeat, judged by `LoopLiveness` as the
    /// supervisor judges it.
    private func loopFigures(now: MonotonicInstant) -> [LoopFigures] {
        let stalled = stalledLoops(now: now)
        var figures: [LoopFigures] = []
        for loop in loops {
            let statistics = loop.statistics
            figures.append(LoopFigures(bus: loop.bus.name, cycles: statistics.cycles, overruns: statistics.overruns,
                                       overrunsFromSilentDevices: statistics.overrunsFromSilentDevices,
                                       refusedRecords: UInt64(loop.ring.refusedCount),
                                       wakeupLatency: LatencySummary(statistics.wakeupLatency),
                                       cycleDuration: LatencySummary(statistics.cycleDuration),
                                       stalledMilliseconds: stalled.first { $0.name == loop.bus.name }?.silentMilliseconds))
        }
        return figures
    }

    /// `loopLiveness` tells when a loop's cycle count last moved only if it looks regularly:
    /// once a second, on the publisher's own wake-ups, as it did when the documents were
    /// rebuilt every second, so a request after a long quiet still sees a loop that stalled.
    func followLoopProgress(now: MonotonicInstant) {
        if let lastLoopProgressLook, now.milliseconds(since: lastLoopProgressLook) < 1000 { return }
        lastLoopProgressLook = now
        _ = stalledLoops(now: now)
    }

    private func stalledLoops(now: MonotonicInstant) -> [StalledParticipant] {
        var samples: [HeartbeatSample] = []
        for (index, loop) in loops.enumerated() {
            samples.append(HeartbeatSample(id: index, name: loop.bus.name, count: loop.statistics.cycles,
                                           allowedStalenessMilliseconds: Int64(loop.allowedSilenceMilliseconds)))
        }
        if case .stalled(let participants) = loopLiveness.evaluate(samples, nowMilliseconds: now.nanoseconds / 1_000_000) {
            return participants
        }
        return []
    }
}

/// How libmicrohttpd's thread gets current health documents without touching the agent's
/// state: it asks, wakes the publisher thread, and waits (a bounded time) for the documents
/// that thread builds at once from its own state. Documents are built only when a request
/// comes, instead of every second on an idle box. The publisher thread never waits here:
/// it takes the request with one atomic exchange and hands the documents over under a lock
/// only the two of them take, and only for a copy.
final class HealthHandOver {
    /// How long a request waits for the publisher thread before it is answered from the last
    /// documents built. A running publisher answers within one round (well under a millisecond
    /// when idle); a stuck one fails /healthz once it has been silent for
    /// `HealthDocuments.publisherStallMilliseconds`.
    static let answerTimeoutMilliseconds: Int64 = 500

    private let documents = Locked(HealthDocuments())
    private let requested = Atomic<Bool>(false)
    /// Monotonic nanoseconds of the publisher thread's last round.
    private let publisherLastRound = Atomic<Int64>(0)
    private let publisherWakeUp: WakeUp
    private let answered: WakeUp

    init(publisherWakeUp: WakeUp) throws(SystemError) {
        self.publisherWakeUp = publisherWakeUp
        answered = try WakeUp(purpose: "the wake-up of the health server")
    }

    // MARK: Publisher thread

    func publisherRan(at now: MonotonicInstant) {
        publisherLastRound.store(now.nanoseconds, ordering: .relaxed)
    }

    /// Whether documents were asked for since the last call.
    func takeRequest() -> Bool {
        requested.exchange(false, ordering: .acquiringAndReleasing)
    }

    func deliver(_ built: HealthDocuments) {
        documents.withLock { $0 = built }
        answered.signal()
    }

    // MARK: Health server thread (one request at a time)

    /// Documents built after this call began, or the last ones built if the publisher thread
    /// did not answer in time; and how long ago the publisher thread last ran, in milliseconds.
    func freshDocuments() -> (HealthDocuments, publisherSilenceMilliseconds: Int64) {
        let askedAt = MonotonicInstant.now()
        answered.drain()
        requested.store(true, ordering: .releasing)
        publisherWakeUp.signal()
        var current = documents.withLock { $0 }
        while (current.builtAt?.nanoseconds ?? Int64.min) < askedAt.nanoseconds {
            let remaining = HealthHandOver.answerTimeoutMilliseconds - MonotonicInstant.now().milliseconds(since: askedAt)
            if remaining <= 0 { break }
            answered.wait(timeoutMilliseconds: Int(remaining))
            answered.drain()
            current = documents.withLock { $0 }
        }
        let silence = MonotonicInstant.now().nanoseconds - publisherLastRound.load(ordering: .relaxed)
        return (current, silence / 1_000_000)
    }
}
