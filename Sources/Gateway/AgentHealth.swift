import Acquisition
import Config
import Health
import MQTT
import Platform
import Supervision

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
        updateHealthDocuments(now: clock.monotonic())
        let documents = healthDocuments
        do throws(HealthError) {
            let server = try HealthServer(address: settings.listenAddress, port: settings.port) { request in
                let snapshot = documents.withLock { $0 }
                let age = snapshot.builtAt.map { MonotonicInstant.now().milliseconds(since: $0) } ?? Int64.max
                switch request.path {
                case "/healthz":
                    return snapshot.livenessServed(ageMilliseconds: age).response
                case "/readyz":
                    return snapshot.readiness.response
                case "/metrics":
                    return HealthResponse(status: 200, contentType: PrometheusDocument.contentType, body: snapshot.metrics)
                default:
                    return nil
                }
            }
            healthServer = server
            healthServerState = .serving(port: server.boundPort)
            let host = settings.listenAddress.contains(":") ? "[\(settings.listenAddress)]" : settings.listenAddress
            log(.info, "health checks on http://\(host):\(server.boundPort)/healthz, /readyz and /metrics")
        } catch {
            healthServerState = .failed(reason: error.description)
            log(.error, "\(error.description); /healthz, /readyz and /metrics are not served until the agent restarts "
                + "(free the port or change health.port); sampling, alarms and publishing go on")
        }
    }

    func updateHealthDocuments(now: MonotonicInstant) {
        let documents = HealthDocuments(gatherHealthFigures(now: now), builtAt: now)
        healthDocuments.withLock { $0 = documents }
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
        var samples: [HeartbeatSample] = []
        for (index, loop) in loops.enumerated() {
            samples.append(HeartbeatSample(id: index, name: loop.bus.name, count: loop.statistics.cycles,
                                           allowedStalenessMilliseconds: Int64(loop.allowedSilenceMilliseconds)))
        }
        var stalled: [StalledParticipant] = []
        if case .stalled(let participants) = loopLiveness.evaluate(samples, nowMilliseconds: now.nanoseconds / 1_000_000) {
            stalled = participants
        }
        var figures: [LoopFigures] = []
        for loop in loops {
            let statistics = loop.statistics
            figures.append(LoopFigures(bus: loop.bus.name, cycles: statistics.cycles, overruns: statistics.overruns,
                                       refusedRecords: UInt64(loop.ring.refusedCount),
                                       wakeupLatency: LatencySummary(statistics.wakeupLatency),
                                       cycleDuration: LatencySummary(statistics.cycleDuration),
                                       stalledMilliseconds: stalled.first { $0.name == loop.bus.name }?.silentMilliseconds))
        }
        return figures
    }
}
