import Acquisition
import Alarms
import Config
import Health
import JSON
import MQTT
import Metrics
import Platform
import StoreAndForward
import Supervision

/// The health documents, rebuilt by the publisher once a second and served as they are by
/// libmicrohttpd's thread, which therefore never touches the agent's state.
struct HealthDocuments {
    var builtAt: MonotonicInstant?
    var liveness = HealthReport()
    var readiness = HealthReport()
    var metrics = ""
}

extension Agent {
    /// A publisher thread that has not rebuilt the documents for this long is stuck.
    static let publisherStallMilliseconds: Int64 = 5000

    /// Starts /healthz, /readyz and /metrics. A port that cannot be had is logged, not fatal:
    /// the agent's first duty is sampling and alarms, not answering health checks.
    func startHealthServer() -> Bool {
        let settings = config.health
        guard settings.port > 0 else { return true }
        updateHealthDocuments(now: MonotonicInstant.now())
        let documents = healthDocuments
        do throws(HealthError) {
            healthServer = try HealthServer(address: settings.listenAddress, port: settings.port) { request in
                let snapshot = documents.withLock { $0 }
                let age = snapshot.builtAt.map { MonotonicInstant.now().milliseconds(since: $0) } ?? Int64.max
                switch request.path {
                case "/healthz":
                    var report = snapshot.liveness
                    if age > Agent.publisherStallMilliseconds {
                        report.add(.fail("publisher", "the publisher thread has not run for \(age / 1000) s"))
                    }
                    return report.response
                case "/readyz":
                    return snapshot.readiness.response
                case "/metrics":
                    return HealthResponse(status: 200, contentType: PrometheusDocument.contentType, body: snapshot.metrics)
                default:
                    return nil
                }
            }
            log(.info, "health checks on http://\(settings.listenAddress.contains(":") ? "[\(settings.listenAddress)]" : settings.listenAddress)"
                + ":\(healthServer?.boundPort ?? settings.port)/healthz, /readyz and /metrics")
        } catch {
            log(.error, "\(error.description); continuing without the HTTP health endpoint")
        }
        return true
    }

    func updateHealthDocuments(now: MonotonicInstant) {
        let liveness = livenessReport(now: now)
        let readiness = readinessReport()
        let metrics = metricsText()
        healthDocuments.withLock { documents in
            documents.builtAt = now
            documents.liveness = liveness
            documents.readiness = readiness
            documents.metrics = metrics
        }
    }

    /// Threads alive: every sampling loop completed a cycle recently. The loops' cycle counts
    /// are their heartbeats; the supervisor's staleness bookkeeping judges them.
    private func livenessReport(now: MonotonicInstant) -> HealthReport {
        let allowed = Int64(max(3 * config.sampling.intervalMilliseconds, 3000))
        var samples: [HeartbeatSample] = []
        for (index, loop) in loops.enumerated() {
            samples.append(HeartbeatSample(id: index, name: loop.bus.name, count: loop.statistics.cycles,
                                           allowedStalenessMilliseconds: allowed))
        }
        var stalled: [StalledParticipant] = []
        if case .stalled(let participants) = loopLiveness.evaluate(samples, nowMilliseconds: now.nanoseconds / 1_000_000) {
            stalled = participants
        }
        var report = HealthReport()
        for sample in samples {
            if let silent = stalled.first(where: { $0.name == sample.name }) {
                report.add(.fail("loop \(sample.name)", "no sampling cycle completed for \(silent.silentMilliseconds / 1000) s"))
            } else {
                report.add(.pass("loop \(sample.name)", "\(sample.count) cycles"))
            }
        }
        report.add(.pass("publisher", "running"))
        return report
    }

    /// Ready: broker connected, every device answering, the clock synchronised, the queue and the alarm log writable.
    private func readinessReport() -> HealthReport {
        var report = HealthReport()
        let broker = "\(config.mqtt.host):\(config.mqtt.port)"
        report.add(outbox.brokerReady ? .pass("broker", "connected to \(broker) (\(mqtt.protocolInUse.name))")
                                       : .fail("broker", "not connected to \(broker); \(outbox.waiting) message(s) wait in the disk queue"))
        var silent: [String] = []
        for (index, device) in devices.enumerated() where !deviceStatus[index].answering {
            silent.append(device.config.id + (deviceStatus[index].reason.map { " (\($0))" } ?? " (no answer yet)"))
        }
        report.add(silent.isEmpty ? .pass("devices", "all \(devices.count) answering")
                                  : .fail("devices", "not answering: \(silent.joined(separator: ", "))"))
        do throws(SystemError) {
            let clock = try ClockSynchronisation.read()
            let text = "\(clock.description)"
            report.add(clock.synchronised || !config.health.requireClockSync ? .pass("clock", text) : .fail("clock", text))
        } catch {
            // Unknown is not synchronised: a system call filter without adjtimex must show.
            let text = "cannot read the clock state: \(error.description); the systemd unit must allow clock_adjtime"
            report.add(config.health.requireClockSync ? .fail("clock", text) : .pass("clock", text))
        }
        if let failure = outbox.writeFailureMessage {
            report.add(.fail("queue", failure))
        } else {
            report.add(.pass("queue", "\(outbox.waiting) message(s) pending"))
        }
        report.add(alarms.snapshot.logCheck)
        return report
    }

    func clockSynchronisation() -> ClockSynchronisation? {
        do throws(SystemError) {
            return try ClockSynchronisation.read()
        } catch {
            return nil
        }
    }

    private func metricsText() -> String {
        var document = PrometheusDocument()
        do throws(PrometheusError) {
            try addLoopMetrics(&document)
            try addDeviceMetrics(&document)
            try addPublishingMetrics(&document)
        } catch {
            // A misnamed metric is a bug in the agent; the rest of the document still helps.
            log(.error, "metrics: \(error.description)")
        }
        return document.text
    }

    private func summary(_ histogram: LatencyHistogram, labels: [PrometheusLabel]) -> PrometheusSummary {
        let seconds = 1e-9
        return PrometheusSummary(labels: labels,
                                 quantiles: [.init(0.5, Double(histogram.percentile(0.5)) * seconds),
                                             .init(0.99, Double(histogram.percentile(0.99)) * seconds),
                                             .init(0.999, Double(histogram.percentile(0.999)) * seconds),
                                             .init(1, Double(histogram.maximum) * seconds)],
                                 sum: Double(histogram.sum) * seconds, count: Double(histogram.count))
    }

    private func addLoopMetrics(_ document: inout PrometheusDocument) throws(PrometheusError) {
        var wakeups: [PrometheusSummary] = []
        var durations: [PrometheusSummary] = []
        var overruns: [PrometheusSample] = []
        var cycles: [PrometheusSample] = []
        for loop in loops {
            let bus = [PrometheusLabel("bus", loop.bus.name)]
            wakeups.append(summary(loop.statistics.wakeupLatency, labels: bus))
            durations.append(summary(loop.statistics.cycleDuration, labels: bus))
            overruns.append(PrometheusSample(labels: bus, value: Double(loop.statistics.overruns)))
            cycles.append(PrometheusSample(labels: bus, value: Double(loop.statistics.cycles)))
        }
        try document.addSummary("bedside_loop_wakeup_latency_seconds",
                                 help: "How late each sampling loop woke against its absolute deadline (quantile 1 is the maximum).",
                                 series: wakeups)
        try document.addSummary("bedside_loop_cycle_duration_seconds", help: "Duration of one sampling cycle.", series: durations)
        try document.addCounter("bedside_loop_overruns_total", help: "Sampling deadlines missed.", samples: overruns)
        try document.addCounter("bedside_loop_cycles_total", help: "Sampling cycles completed.", samples: cycles)
    }

    private func addDeviceMetrics(_ document: inout PrometheusDocument) throws(PrometheusError) {
        var requests: [PrometheusSample] = []
        var errors: [PrometheusSample] = []
        var latencies: [PrometheusSummary] = []
        var answering: [PrometheusSample] = []
        for loop in loops {
            for (position, device) in loop.devices.enumerated() {
                let statistics = loop.deviceStatistics(position)
                let label = PrometheusLabel("device", device.config.id)
                requests.append(PrometheusSample(labels: [label], value: Double(statistics.requests)))
                for kind in FailureCode.allCases where kind != .none {
                    errors.append(PrometheusSample(labels: [label, PrometheusLabel("kind", kind.name)],
                                                   value: Double(statistics.failures(kind))))
                }
                latencies.append(summary(statistics.requestLatency, labels: [label]))
                answering.append(PrometheusSample(labels: [label], value: deviceStatus[device.index].answering ? 1 : 0))
            }
        }
        try document.addCounter("bedside_device_requests_total", help: "Modbus requests sent to each device.", samples: requests)
        try document.addCounter("bedside_device_errors_total", help: "Failed Modbus requests by device and kind.", samples: errors)
        try document.addSummary("bedside_device_request_latency_seconds", help: "Modbus request round trip per device.",
                                series: latencies)
        try document.addGauge("bedside_device_answering", help: "1 while the device answers, 0 while it is comm-loss.",
                              samples: answering)
    }

    private func addPublishingMetrics(_ document: inout PrometheusDocument) throws(PrometheusError) {
        let queue = outbox.queue
        try document.addGauge("bedside_queue_pending_messages", help: "Messages on disk not yet acknowledged by the broker.",
                              samples: [PrometheusSample(value: Double(queue.pendingCount))])
        try document.addGauge("bedside_queue_bytes", help: "Bytes of the disk queue's segment files.",
                              samples: [PrometheusSample(value: Double(queue.fileBytes))])
        try document.addCounter("bedside_queue_dropped_total",
                                help: "Unacknowledged messages dropped because the queue reached its size bound.",
                                samples: [PrometheusSample(value: Double(queue.droppedCount))])
        try document.addCounter("bedside_queue_write_failures_total", help: "Messages that could not be written to disk.",
                                samples: [PrometheusSample(value: Double(queue.writeFailures))])
        try document.addCounter("bedside_queue_lost_total",
                                help: "Messages neither written to disk nor accepted by the broker (disk full during an outage).",
                                samples: [PrometheusSample(value: Double(outbox.lost))])
        try document.addCounter("bedside_mqtt_published_total", help: "Queued messages handed to MQTT, live or replayed.",
                                samples: [PrometheusSample(labels: [PrometheusLabel("kind", "live")], value: Double(outbox.publishedLive)),
                                          PrometheusSample(labels: [PrometheusLabel("kind", "replay")],
                                                           value: Double(outbox.publishedReplayed))])
        try document.addCounter("bedside_mqtt_acknowledged_total", help: "Queued messages acknowledged by the broker (PUBACK).",
                                samples: [PrometheusSample(value: Double(outbox.acknowledged))])
        try document.addCounter("bedside_mqtt_refused_total", help: "Messages the broker acknowledged with a refusal reason code.",
                                samples: [PrometheusSample(value: Double(outbox.refusedByBroker))])
        try document.addGauge("bedside_mqtt_connected", help: "1 while connected to the broker.",
                              samples: [PrometheusSample(value: outbox.brokerReady ? 1 : 0)])
        try document.addCounter("bedside_commands_total", help: "Commands received, by result.",
                                samples: [PrometheusSample(labels: [PrometheusLabel("result", "accepted")], value: Double(commandsAccepted)),
                                          PrometheusSample(labels: [PrometheusLabel("result", "refused")], value: Double(commandsRefused))])
        let alarmState = alarms.snapshot
        try document.addGauge("bedside_alarms_active", help: "Alarms active now (latched and acknowledged included), all beds.",
                              samples: [PrometheusSample(value: Double(alarmState.active))])
        try document.addGauge("bedside_alarm_sounding_priority",
                              help: "Priority the buzzer plays now: 0 silent, 1 low, 2 medium, 3 high.",
                              samples: [PrometheusSample(value: Double(alarmState.audible?.rawValue ?? 0))])
        try document.addGauge("bedside_alarm_audio_paused", help: "1 while alarm audio is paused (button or command).",
                              samples: [PrometheusSample(value: alarmState.audioPausedUntilMilliseconds != nil ? 1 : 0)])
        try document.addCounter("bedside_alarm_log_write_failures_total", help: "Alarm events that could not be written to the alarm log.",
                                samples: [PrometheusSample(value: Double(alarmState.logFailures))])
        try document.addCounter("bedside_buzzer_write_failures_total", help: "Failed writes to the buzzer's GPIO line.",
                                samples: [PrometheusSample(value: Double(alarmState.buzzerErrors))])
        try document.addCounter("bedside_samples_dropped_total",
                                help: "Sample records the publisher had no room for (it stalled for seconds).",
                                samples: [PrometheusSample(value: Double(alarmState.forwardDropped))])
        let clock = clockSynchronisation()
        try document.addGauge("bedside_clock_synchronised", help: "1 when the kernel says the clock is synchronised (adjtimex).",
                              samples: [PrometheusSample(value: clock?.synchronised == true ? 1 : 0)])
        try document.addGauge("bedside_clock_estimated_error_seconds", help: "The kernel's estimated clock error (adjtimex esterror).",
                              samples: [PrometheusSample(value: Double(clock?.estimatedErrorMicroseconds ?? 0) * 1e-6)])
        try document.addGauge("bedside_uptime_seconds", help: "Seconds since the agent started.",
                              samples: [PrometheusSample(value: Double(MonotonicInstant.now().milliseconds(since: startedInstant)) / 1000)])
    }

    /// The summary published on `<prefix>/health`.
    func healthJSON(now: MonotonicInstant) -> String {
        let readiness = readinessReport()
        var json = JSONWriter()
        json.beginObject()
        json.member("time", formatUTCTimestamp(millisecondsSinceEpoch: wallClockMilliseconds()))
        json.member("uptime_s", now.milliseconds(since: startedInstant) / 1000)
        json.member("ready", readiness.allPassed)
        json.key("checks")
        json.beginArray()
        for check in readiness.checks {
            json.beginObject()
            json.member("name", check.name)
            json.member("ok", check.passed)
            json.member("detail", check.reason)
            json.endObject()
        }
        json.endArray()
        if let clock = clockSynchronisation() {
            json.key("clock")
            json.beginObject()
            json.member("synchronised", clock.synchronised)
            json.member("estimated_error_us", clock.estimatedErrorMicroseconds)
            json.endObject()
        }
        json.key("queue")
        json.beginObject()
        json.member("pending", outbox.queue.pendingCount)
        json.member("bytes", outbox.queue.fileBytes)
        json.member("dropped", Int64(outbox.queue.droppedCount))
        json.member("write_failures", Int64(outbox.queue.writeFailures))
        json.endObject()
        json.key("mqtt")
        json.beginObject()
        json.member("published", Int64(outbox.publishedLive + outbox.publishedReplayed))
        json.member("acknowledged", Int64(outbox.acknowledged))
        json.endObject()
        json.key("loops")
        json.beginArray()
        for loop in loops {
            json.beginObject()
            json.member("bus", loop.bus.name)
            json.member("cycles", Int64(loop.statistics.cycles))
            json.member("overruns", Int64(loop.statistics.overruns))
            json.member("wakeup_p99_us", Int64(loop.statistics.wakeupLatency.percentile(0.99) / 1000))
            json.endObject()
        }
        json.endArray()
        let alarmState = alarms.snapshot
        json.member("alarms_active", alarmState.active)
        json.key("audio_paused_until")
        if let until = alarmState.audioPausedUntilMilliseconds {
            json.string(formatUTCTimestamp(millisecondsSinceEpoch: until))
        } else {
            json.null()
        }
        json.endObject()
        return json.text
    }
}
