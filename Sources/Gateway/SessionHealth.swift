import Health
import Sessions

/// The infusion sessions in /readyz and /metrics: whether records are kept on the box, and each
/// bed's alarm statistics since the agent started (issue 13, item 5), so a clinic sees which
/// conditions fire often and briefly (nuisance limits) and which wait long for an acknowledge.
extension HealthDocuments {
    static func sessionCheck(_ sessions: SessionFigures) -> HealthCheck {
        if let failure = sessions.writeFailure {
            return .fail("sessions", "records are published but not kept on the box: \(failure)")
        }
        let open = sessions.beds.compactMap { $0.openSession }
        var text = "kept in \(sessions.directory); " + (open.isEmpty ? "none open" : "open: " + open.joined(separator: ", "))
        if let first = sessions.movedAside.first { text += "; at start, \(first)" }
        return .pass("sessions", text)
    }

    static func addSessionMetrics(_ sessions: SessionFigures, to document: inout PrometheusDocument) throws(PrometheusError) {
        var started: [PrometheusSample] = []
        var escalated: [PrometheusSample] = []
        var durations: [PrometheusSummary] = []
        var acknowledges: [PrometheusSummary] = []
        var highActive: [PrometheusSample] = []
        var open: [PrometheusSample] = []
        let priorities = ["low", "medium", "high"]
        for bed in sessions.beds {
            let bedLabel = PrometheusLabel("bed", bed.bed)
            open.append(PrometheusSample(labels: [bedLabel], value: bed.openSession == nil ? 0 : 1))
            highActive.append(PrometheusSample(labels: [bedLabel], value: Double(bed.alarms.highActiveMilliseconds) / 1000))
            for condition in bed.alarms.conditions {
                let labels = [bedLabel, PrometheusLabel("condition", condition.condition)]
                for (index, priority) in priorities.enumerated() {
                    started.append(PrometheusSample(labels: labels + [PrometheusLabel("priority", priority)],
                                                    value: Double(condition.started[index])))
                }
                escalated.append(PrometheusSample(labels: labels, value: Double(condition.escalated)))
                durations.append(PrometheusSummary(labels: labels,
                                                   quantiles: condition.medianDurationMilliseconds.map { [.init(0.5, Double($0) / 1000)] } ?? [],
                                                   sum: Double(condition.durationTotalMilliseconds) / 1000, count: Double(condition.ended)))
                acknowledges.append(PrometheusSummary(labels: labels,
                                                      quantiles: condition.medianAcknowledgeMilliseconds.map { [.init(0.5, Double($0) / 1000)] } ?? [],
                                                      sum: Double(condition.acknowledgeTotalMilliseconds) / 1000,
                                                      count: Double(condition.acknowledged)))
            }
        }
        try document.addGauge("bedside_session_open", help: "1 while the bed has an open infusion session", samples: open)
        try document.addCounter("bedside_alarms_started_total",
                                help: "Alarms started since the agent started, per bed, condition and the priority they started with",
                                samples: started)
        try document.addCounter("bedside_alarms_escalated_total", help: "Medium alarms escalated to high, per bed and condition",
                                samples: escalated)
        try document.addSummary("bedside_alarm_duration_seconds",
                                help: "How long ended alarms lasted, start to end, per bed and condition (median of the latest 1000)",
                                series: durations)
        try document.addSummary("bedside_alarm_acknowledge_seconds",
                                help: "Time from an alarm's start to its acknowledge, per bed and condition (median of the latest 1000)",
                                series: acknowledges)
        try document.addCounter("bedside_alarm_high_active_seconds_total",
                                help: "Time with at least one high-priority alarm active on the bed, up to its last alarm event",
                                samples: highActive)
    }
}
