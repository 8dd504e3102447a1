import Acquisition
import Alarms
import Health
import JSON
import MLLP
import Platform

/// The health documents: /healthz (the threads are alive), /readyz (the box does its job),
/// /metrics (Prometheus text) and the retained summary on `<prefix>/health`. Each is a pure
/// function of `HealthFigures`; the publisher thread builds them when libmicrohttpd's thread
/// asks (`HealthHandOver`), so that thread never touches the agent's state.
struct HealthDocuments {
    /// When the figures were gathered: the health server serves only documents built after
    /// its request, unless the publisher thread does not answer in time.
    var builtAt: MonotonicInstant?
    var liveness = HealthReport()
    var readiness = HealthReport()
    var metrics = ""

    /// A publisher thread that has not run a round for this long is stuck.
    static let publisherStallMilliseconds: Int64 = 5000

    init() {}

    init(_ figures: HealthFigures, builtAt: MonotonicInstant) {
        self.builtAt = builtAt
        liveness = HealthDocuments.liveness(figures)
        readiness = HealthDocuments.readiness(figures)
        metrics = HealthDocuments.metrics(figures)
    }

    /// /healthz as served when the publisher thread last ran `ageMilliseconds` ago: a stuck
    /// publisher fails it too.
    func livenessServed(ageMilliseconds: Int64) -> HealthReport {
        var report = liveness
        if ageMilliseconds > HealthDocuments.publisherStallMilliseconds {
            report.add(.fail("publisher", "the publisher thread has not run for \(ageMilliseconds / 1000) s"))
        }
        return report
    }

    /// Alive: every sampling loop completed a cycle within `LoopLiveness`'s allowance.
    static func liveness(_ figures: HealthFigures) -> HealthReport {
        var report = HealthReport()
        for loop in figures.loops {
            if let silent = loop.stalledMilliseconds {
                report.add(.fail("loop \(loop.bus)", "no sampling cycle completed for \(silent / 1000) s"))
            } else {
                report.add(.pass("loop \(loop.bus)", "\(loop.cycles) cycles"))
            }
        }
        report.add(.pass("publisher", "running"))
        return report
    }

    /// Ready: broker connected, every device answering, the clock synchronised, the queue and the alarm log writable.
    static func readiness(_ figures: HealthFigures) -> HealthReport {
        var report = HealthReport()
        let publishing = figures.publishing
        let broker = figures.brokerAddress
        report.add(publishing.brokerReady
            ? .pass("broker", "connected to \(broker) (\(figures.brokerProtocol))")
            : .fail("broker", "not connected to \(broker); \(publishing.pendingMessages) message(s) wait in the disk queue"))
        var silent: [String] = []
        for device in figures.devices where !device.status.answering {
            silent.append(device.id + (device.status.reason.map { " (\($0))" } ?? " (no answer yet)"))
        }
        report.add(silent.isEmpty ? .pass("devices", "all \(figures.devices.count) answering")
                                  : .fail("devices", "not answering: \(silent.joined(separator: ", "))"))
        switch figures.clock {
        case .read(let clock):
            let text = clock.description
            report.add(clock.synchronised || !figures.requireClockSync ? .pass("clock", text) : .fail("clock", text))
        case .unreadable(let reason):
            // Unknown is not synchronised: a system call filter without adjtimex must show.
            let text = "cannot read the clock state: \(reason); the systemd unit must allow clock_adjtime"
            report.add(figures.requireClockSync ? .fail("clock", text) : .pass("clock", text))
        }
        if let unavailable = publishing.queueUnavailable {
            report.add(.fail("queue", "not available (\(unavailable)); messages go straight to the broker and are lost while it is away"))
        } else if let failure = publishing.queueWriteFailure {
            report.add(.fail("queue", failure))
        } else {
            var text = "\(publishing.pendingMessages) message(s) pending"
            if let example = publishing.queueQuarantineExample {
                // The queue works without those parts: ready, and the reason shows here and as an alarm.
                text += "; \(publishing.queueQuarantined) damaged part(s) moved aside at start, e.g. \(example)"
            }
            report.add(.pass("queue", text))
        }
        if let forward = publishing.alarmForward {
            report.add(linkCheck("alarm-forward", forward, items: "event(s)"))
        }
        if let forward = publishing.chartForward {
            report.add(linkCheck("chart-forward", forward, items: "row(s)"))
        }
        report.add(figures.alarms.logCheck)
        if let sessions = publishing.sessions { report.add(sessionCheck(sessions)) }
        return report
    }

    /// An MLLP link's readiness: failing once it has not delivered for an ACK timeout, or when
    /// its queue is not on disk (a restart would lose what waits).
    private static func linkCheck(_ name: String, _ forward: (address: String, figures: MLLPFigures, faultRaised: Bool),
                                  items: String) -> HealthCheck {
        let link = forward.figures
        if let unavailable = link.queueUnavailable {
            return .fail(name, "queue not available (\(unavailable)); \(items) wait in memory and a restart loses them")
        }
        if forward.faultRaised {
            return .fail(name, "not delivering to \(forward.address): \(link.problem); \(link.pending) \(items) wait")
        }
        return .pass(name, (link.connected ? "connected to " : "not connected to ") + forward.address
            + "; \(link.pending) \(items) pending" + (link.problem.isEmpty ? "" : "; \(link.problem)"))
    }

    static func metrics(_ figures: HealthFigures) -> String {
        var document = PrometheusDocument()
        do throws(PrometheusError) {
            try addLoopMetrics(figures, to: &document)
            try addDeviceMetrics(figures, to: &document)
            try addPublishingMetrics(figures, to: &document)
            try addAlarmAndBoxMetrics(figures, to: &document)
            if let sessions = figures.publishing.sessions { try addSessionMetrics(sessions, to: &document) }
        } catch {
            // A misnamed metric is a bug in the agent; the rest of the document still helps.
            log(.error, "metrics: \(error.description)")
        }
        return document.text
    }

    private static func summary(_ latency: LatencySummary, labels: [PrometheusLabel]) -> PrometheusSummary {
        let seconds = 1e-9
        return PrometheusSummary(labels: labels,
                                 quantiles: [.init(0.5, Double(latency.median) * seconds),
                                             .init(0.99, Double(latency.p99) * seconds),
                                             .init(0.999, Double(latency.p999) * seconds),
                                             .init(1, Double(latency.maximum) * seconds)],
                                 sum: Double(latency.sum) * seconds, count: Double(latency.count))
    }

    private static func counter(_ value: UInt64) -> [PrometheusSample] { [PrometheusSample(value: Double(value))] }

    private static func addLoopMetrics(_ figures: HealthFigures, to document: inout PrometheusDocument) throws(PrometheusError) {
        var wakeups: [PrometheusSummary] = []
        var durations: [PrometheusSummary] = []
        var overruns: [PrometheusSample] = []
        var silentDeviceOverruns: [PrometheusSample] = []
        var cycles: [PrometheusSample] = []
        var refused: [PrometheusSample] = []
        for loop in figures.loops {
            let bus = [PrometheusLabel("bus", loop.bus)]
            wakeups.append(summary(loop.wakeupLatency, labels: bus))
            durations.append(summary(loop.cycleDuration, labels: bus))
            overruns.append(PrometheusSample(labels: bus, value: Double(loop.overruns)))
            silentDeviceOverruns.append(PrometheusSample(labels: bus, value: Double(loop.overrunsFromSilentDevices)))
            cycles.append(PrometheusSample(labels: bus, value: Double(loop.cycles)))
            refused.append(PrometheusSample(labels: bus, value: Double(loop.refusedRecords)))
        }
        try document.addSummary("bedside_loop_wakeup_latency_seconds",
                                 help: "How late each sampling loop woke against its absolute deadline (quantile 1 is the maximum).",
                                 series: wakeups)
        try document.addSummary("bedside_loop_cycle_duration_seconds", help: "Duration of one sampling cycle.", series: durations)
        try document.addCounter("bedside_loop_overruns_total",
                                help: "Sampling cycles that overran their period while every device answered (raise agent-loop-overrun).",
                                samples: overruns)
        try document.addCounter("bedside_loop_overruns_silent_device_total",
                                help: "Sampling cycles that overran their period because a device did not answer (its comm-loss alarm covers it).",
                                samples: silentDeviceOverruns)
        try document.addCounter("bedside_loop_cycles_total", help: "Sampling cycles completed.", samples: cycles)
        try document.addCounter("bedside_loop_records_refused_total",
                                help: "Sample records a sampling loop's ring had no room for (the alarm thread fell behind); they reached neither alarms nor the chart.",
                                samples: refused)
    }

    private static func addDeviceMetrics(_ figures: HealthFigures, to document: inout PrometheusDocument) throws(PrometheusError) {
        var requests: [PrometheusSample] = []
        var errors: [PrometheusSample] = []
        var latencies: [PrometheusSummary] = []
        var answering: [PrometheusSample] = []
        for device in figures.devices {
            let label = PrometheusLabel("device", device.id)
            requests.append(PrometheusSample(labels: [label], value: Double(device.requests)))
            for failure in device.failures {
                errors.append(PrometheusSample(labels: [label, PrometheusLabel("kind", failure.kind.name)],
                                               value: Double(failure.count)))
            }
            latencies.append(summary(device.requestLatency, labels: [label]))
            answering.append(PrometheusSample(labels: [label], value: device.status.answering ? 1 : 0))
        }
        try document.addCounter("bedside_device_requests_total", help: "Modbus requests sent to each device.", samples: requests)
        try document.addCounter("bedside_device_errors_total", help: "Failed Modbus requests by device and kind.", samples: errors)
        try document.addSummary("bedside_device_request_latency_seconds", help: "Modbus request round trip per device.",
                                series: latencies)
        try document.addGauge("bedside_device_answering", help: "1 while the device answers, 0 while it is comm-loss.",
                              samples: answering)
    }

    private static func addPublishingMetrics(_ figures: HealthFigures,
                                             to document: inout PrometheusDocument) throws(PrometheusError) {
        let publishing = figures.publishing
        try document.addGauge("bedside_queue_pending_messages", help: "Messages on disk not yet acknowledged by the broker.",
                              samples: [PrometheusSample(value: Double(publishing.pendingMessages))])
        try document.addGauge("bedside_queue_bytes", help: "Bytes of the disk queue's segment files.",
                              samples: [PrometheusSample(value: Double(publishing.queueFileBytes))])
        try document.addCounter("bedside_queue_dropped_total",
                                help: "Unacknowledged messages dropped because the queue reached its size bound.",
                                samples: counter(publishing.droppedMessages))
        try document.addCounter("bedside_queue_write_failures_total", help: "Messages that could not be written to disk.",
                                samples: counter(publishing.queueWriteFailures))
        try document.addCounter("bedside_queue_quarantined_total",
                                help: "Damaged parts of the queue directory moved aside at start (never deleted).",
                                samples: counter(UInt64(publishing.queueQuarantined)))
        try document.addGauge("bedside_queue_persistent", help: "1 while messages are kept on disk, 0 when the queue could not be opened.",
                              samples: [PrometheusSample(value: publishing.queueUnavailable == nil ? 1 : 0)])
        try document.addCounter("bedside_queue_lost_total",
                                help: "Messages neither written to disk nor accepted by the broker (disk full during an outage).",
                                samples: counter(publishing.lostMessages))
        try document.addCounter("bedside_mqtt_published_total", help: "Queued messages handed to MQTT, live or replayed.",
                                samples: [PrometheusSample(labels: [PrometheusLabel("kind", "live")], value: Double(publishing.publishedLive)),
                                          PrometheusSample(labels: [PrometheusLabel("kind", "replay")],
                                                           value: Double(publishing.publishedReplayed))])
        try addLinkMetrics(links: [("alarms", publishing.alarmForward), ("charting", publishing.chartForward)], to: &document)
        try document.addCounter("bedside_mqtt_acknowledged_total", help: "Queued messages acknowledged by the broker (PUBACK).",
                                samples: counter(publishing.acknowledged))
        try document.addCounter("bedside_mqtt_refused_total", help: "Messages the broker acknowledged with a refusal reason code.",
                                samples: counter(publishing.refusedByBroker))
        try document.addGauge("bedside_mqtt_connected", help: "1 while connected to the broker.",
                              samples: [PrometheusSample(value: publishing.brokerReady ? 1 : 0)])
        try document.addCounter("bedside_commands_total", help: "Commands received, by result.",
                                samples: [PrometheusSample(labels: [PrometheusLabel("result", "accepted")],
                                                           value: Double(publishing.commandsAccepted)),
                                          PrometheusSample(labels: [PrometheusLabel("result", "refused")],
                                                           value: Double(publishing.commandsRefused))])
    }

    /// One family per figure, one sample per configured link (`link="alarms"|"charting"`).
    private static func addLinkMetrics(links: [(name: String, forward: (address: String, figures: MLLPFigures, faultRaised: Bool)?)],
                                       to document: inout PrometheusDocument) throws(PrometheusError) {
        let configured = links.compactMap { link in link.forward.map { (name: link.name, figures: $0.figures, faultRaised: $0.faultRaised) } }
        guard !configured.isEmpty else { return }
        func samples(_ value: (MLLPFigures, Bool) -> Double) -> [PrometheusSample] {
            configured.map { PrometheusSample(labels: [PrometheusLabel("link", $0.name)], value: value($0.figures, $0.faultRaised)) }
        }
        func count(_ value: (MLLPFigures) -> UInt64) -> [PrometheusSample] { samples { link, _ in Double(value(link)) } }
        try document.addGauge("bedside_hl7_connected", help: "1 while the MLLP link is connected to its receiver.",
                              samples: samples { link, _ in link.connected ? 1 : 0 })
        try document.addGauge("bedside_hl7_pending_messages", help: "HL7 messages on disk waiting for their ACK.",
                              samples: samples { link, _ in Double(link.pending) })
        try document.addGauge("bedside_hl7_fault", help: "1 while the link has not delivered for an ACK timeout (the alarms link raises a low technical alarm then; the charting link none).",
                              samples: samples { _, fault in fault ? 1 : 0 })
        try document.addCounter("bedside_hl7_sent_total", help: "HL7 messages sent, first sends and resends.", samples: count { $0.sent })
        try document.addCounter("bedside_hl7_accepted_total", help: "HL7 messages acknowledged with AA or CA.", samples: count { $0.accepted })
        try document.addCounter("bedside_hl7_errors_total", help: "AE and CE replies (the message is sent again).", samples: count { $0.errors })
        try document.addCounter("bedside_hl7_rejected_total", help: "Messages set aside after AR/CR, or after too many AE/CE.",
                                samples: count { $0.rejected })
        try document.addCounter("bedside_hl7_ack_timeouts_total", help: "Messages without an ACK in time (reconnect and resend).",
                                samples: count { $0.ackTimeouts })
        try document.addCounter("bedside_hl7_foreign_acks_total", help: "ACKs naming another message's control id (ignored).",
                                samples: count { $0.foreignAcks })
        try document.addCounter("bedside_hl7_unreadable_frames_total", help: "Frames from the receiver that are no ACK.",
                                samples: count { $0.unreadableFrames })
        try document.addCounter("bedside_hl7_connect_failures_total", help: "Failed connection attempts.",
                                samples: count { $0.connectFailures })
        try document.addCounter("bedside_hl7_idle_closes_total", help: "Idle connections the receiver closed (the link reconnects; no fault).",
                                samples: count { $0.idleCloses })
        try document.addCounter("bedside_hl7_dropped_total", help: "HL7 messages the link's queue could not keep.",
                                samples: count { $0.dropped })
    }

    private static func addAlarmAndBoxMetrics(_ figures: HealthFigures,
                                              to document: inout PrometheusDocument) throws(PrometheusError) {
        let alarms = figures.alarms
        try document.addGauge("bedside_alarms_active", help: "Alarms active now (latched and acknowledged included), all beds.",
                              samples: [PrometheusSample(value: Double(alarms.active))])
        try document.addGauge("bedside_alarm_sounding_priority",
                              help: "Priority the buzzer plays now: 0 silent, 1 low, 2 medium, 3 high.",
                              samples: [PrometheusSample(value: Double(alarms.audible?.rawValue ?? 0))])
        try document.addGauge("bedside_alarm_audio_paused", help: "1 while alarm audio is paused (button or command).",
                              samples: [PrometheusSample(value: alarms.audioPausedUntilMilliseconds != nil ? 1 : 0)])
        try document.addCounter("bedside_alarm_log_write_failures_total", help: "Alarm events that could not be written to the alarm log.",
                                samples: [PrometheusSample(value: Double(alarms.logFailures))])
        try document.addCounter("bedside_alarm_log_moved_aside_total",
                                help: "Alarm logs that could not be read at start and were moved aside (never deleted).",
                                samples: [PrometheusSample(value: Double(alarms.logMovedAside))])
        try document.addCounter("bedside_buzzer_write_failures_total", help: "Failed writes to the buzzer's GPIO line.",
                                samples: [PrometheusSample(value: Double(alarms.buzzerErrors))])
        try document.addCounter("bedside_samples_dropped_total",
                                help: "Sample records the publisher had no room for (it stalled for seconds).",
                                samples: [PrometheusSample(value: Double(alarms.forwardDropped))])
        let clock = figures.clock.synchronisation
        try document.addGauge("bedside_clock_synchronised", help: "1 when the kernel says the clock is synchronised (adjtimex).",
                              samples: [PrometheusSample(value: clock?.synchronised == true ? 1 : 0)])
        try document.addGauge("bedside_clock_estimated_error_seconds", help: "The kernel's estimated clock error (adjtimex esterror).",
                              samples: [PrometheusSample(value: Double(clock?.estimatedErrorMicroseconds ?? 0) * 1e-6)])
        try document.addGauge("bedside_uptime_seconds", help: "Seconds since the agent started.",
                              samples: [PrometheusSample(value: Double(figures.uptimeMilliseconds) / 1000)])
    }

    /// The retained summary on `<prefix>/health`.
    static func summaryJSON(_ figures: HealthFigures) -> String {
        let readiness = readiness(figures)
        let publishing = figures.publishing
        var json = JSONWriter()
        json.beginObject()
        json.member("time", formatUTCTimestamp(millisecondsSinceEpoch: figures.wallClockMilliseconds))
        json.member("uptime_s", figures.uptimeMilliseconds / 1000)
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
        // /readyz and /metrics cannot say that they are not served; this message can.
        json.member("health_server", figures.healthServer.name)
        if case .failed(let reason) = figures.healthServer { json.member("health_server_error", reason) }
        if let clock = figures.clock.synchronisation {
            json.key("clock")
            json.beginObject()
            json.member("synchronised", clock.synchronised)
            json.member("estimated_error_us", clock.estimatedErrorMicroseconds)
            json.endObject()
        }
        json.key("queue")
        json.beginObject()
        json.member("pending", publishing.pendingMessages)
        json.member("bytes", publishing.queueFileBytes)
        json.member("dropped", Int64(publishing.droppedMessages))
        json.member("write_failures", Int64(publishing.queueWriteFailures))
        json.member("quarantined", publishing.queueQuarantined)
        json.member("persistent", publishing.queueUnavailable == nil)
        json.endObject()
        json.key("mqtt")
        json.beginObject()
        json.member("published", Int64(publishing.publishedLive + publishing.publishedReplayed))
        json.member("acknowledged", Int64(publishing.acknowledged))
        json.member("refused", Int64(publishing.refusedByBroker))
        json.endObject()
        json.key("loops")
        json.beginArray()
        for loop in figures.loops {
            json.beginObject()
            json.member("bus", loop.bus)
            json.member("cycles", Int64(loop.cycles))
            json.member("overruns", Int64(loop.overruns))
            json.member("overruns_silent_device", Int64(loop.overrunsFromSilentDevices))
            json.member("records_refused", Int64(loop.refusedRecords))
            json.member("wakeup_p99_us", Int64(loop.wakeupLatency.p99 / 1000))
            json.endObject()
        }
        json.endArray()
        json.member("alarms_active", figures.alarms.active)
        json.key("audio_paused_until")
        if let until = figures.alarms.audioPausedUntilMilliseconds {
            json.string(formatUTCTimestamp(millisecondsSinceEpoch: until))
        } else {
            json.null()
        }
        json.endObject()
        return json.text
    }
}
