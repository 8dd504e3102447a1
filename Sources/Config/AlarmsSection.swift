import Alarms
import Profiles
import YAMLReader

/// `alarms:`: the alarm log and the limits every bed starts from, box-wide and per bed.
extension ConfigDecoder {
    /// "/a/b/queue" -> "/a/b/<name>"; a directory without a parent gets the file inside it.
    static func siblingPath(of directory: String, named name: String) -> String {
        var trimmed = directory
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return name }
        if slash == trimmed.startIndex { return "/" + name }
        return String(trimmed[..<slash]) + "/" + name
    }

    /// The top-level `alarms:` section: the alarm log and the settings every bed starts from.
    /// Without `log`, the log lives next to the disk queue's directory (the box's state
    /// directory: /var/lib/bedside-gateway/alarms.log with the default queue).
    func decodeAlarms(_ field: Field?, queueDirectory: String?) -> AlarmSettings? {
        var defaults = AlarmSettings()
        if let queueDirectory { defaults.logPath = Self.siblingPath(of: queueDirectory, named: "alarms.log") }
        // An empty `alarms:` (every line commented out) means "all defaults", not a mistake.
        guard let field, !field.node.isNull else { return defaults }
        guard let alarms = mapping(field, expected: "a mapping with the alarm settings (log, escalate_after_s, limits, technical, forward)",
                                   allowedKeys: ["log", "escalate_after_s", "limits", "technical", "forward"])
        else { return nil }
        var forwardComplete = true
        if let forwardField = alarms.optional("forward") {
            if let forward = decodeAlarmForward(forwardField, queueDirectory: queueDirectory) { alarmForward = forward } else {
                forwardComplete = false
            }
        }
        var logPath: String? = defaults.logPath
        if let logField = alarms.optional("log") { logPath = pathSetting(logField, what: "alarm log file") }
        let settings = decodeAlarmChanges(alarms, owner: field, base: defaults.defaults)
        guard let logPath, let settings, forwardComplete else { return nil }
        return AlarmSettings(logPath: logPath, defaults: settings)
    }

    /// A bed's own `alarms:` section, applied over the box-wide settings `base` (nil when those
    /// had errors: the bed's section is then still checked, but not validated as a whole).
    func decodeBedAlarms(_ field: Field?, base: BedAlarmSettings?) -> BedAlarmSettings? {
        guard let field, !field.node.isNull else { return base }
        let (checked, _) = refusing(field, ["log": "the alarm log is box-wide: set it under the top-level 'alarms:' section, not per bed",
                                            "forward": "alarm forwarding is box-wide: set it under the top-level 'alarms:' section, not per bed"])
        guard let alarms = mapping(checked, expected: "a mapping with the bed's alarm settings (escalate_after_s, limits, technical)",
                                   allowedKeys: ["escalate_after_s", "limits", "technical"])
        else { return nil }
        return decodeAlarmChanges(alarms, owner: field, base: base)
    }

    /// `escalate_after_s`, `limits` and `technical`, member by member over `base`, then validated.
    private func decodeAlarmChanges(_ alarms: MappingFields, owner: Field, base: BedAlarmSettings?) -> BedAlarmSettings? {
        var settings = base ?? BedAlarmSettings()
        var complete = true
        if let escalateField = alarms.optional("escalate_after_s") {
            if let seconds = integer(escalateField, in: 1...3600, defaultHint: "\(settings.escalateAfterMilliseconds / 1000)") {
                settings.escalateAfterMilliseconds = Int64(seconds) * 1000
            } else {
                complete = false
            }
        }
        let limitsField = alarms.optional("limits")
        if let limitsField, !applyLimits(limitsField, to: &settings) { complete = false }
        if let technicalField = alarms.optional("technical"), !applyTechnical(technicalField, to: &settings.technical) {
            complete = false
        }
        guard complete, base != nil else { return nil }
        do throws(AlarmSettingsError) {
            try settings.validate()
        } catch {
            // Only the limits can fail here (the rest is range-checked above), and only after a change.
            let at = limitsField ?? owner
            report(line: at.line, column: at.column, path: at.path, Self.alarmSettingsProblem(error, settings))
            return nil
        }
        return settings
    }

    static func alarmSettingsProblem(_ error: AlarmSettingsError, _ settings: BedAlarmSettings) -> String {
        guard case .limitsCross(let low, let high) = error, let lowRule = settings.limit(low), let highRule = settings.limit(high)
        else { return error.description }
        return error.description + " (\(low) \(formatLimit(lowRule.threshold)), \(high) \(formatLimit(highRule.threshold))): "
            + "a low limit at or above the high limit of the same value would alarm all the time or never"
    }

    /// `limits:`, a mapping keyed by condition name; each condition changes only the members it gives.
    private func applyLimits(_ field: Field, to settings: inout BedAlarmSettings) -> Bool {
        if field.node.isNull { return true }
        var conditions: [String] = []
        for rule in BedAlarmSettings.defaultLimits { conditions.append(rule.condition) }
        guard let limits = mapping(field, expected: "a mapping of alarm limits by condition (\(conditions.joined(separator: ", ")))",
                                   allowedKeys: conditions)
        else { return false }
        var complete = true
        for pair in limits.pairs where conditions.contains(pair.key) {
            guard let rule = settings.limit(pair.key) else { continue }
            if let changed = decodeLimit(Field(pair: pair, parentPath: limits.path), base: rule) {
                settings.setLimit(changed)
            } else {
                complete = false
            }
        }
        return complete
    }

    private func decodeLimit(_ field: Field, base: LimitRule) -> LimitRule? {
        // A condition with every member commented out changes nothing.
        if field.node.isNull { return base }
        guard let limit = mapping(field, expected: "a mapping with the limit's settings (threshold, priority, delay_s, enabled)",
                                  allowedKeys: ["threshold", "priority", "delay_s", "enabled"])
        else { return nil }
        var rule = base
        var complete = true
        if let thresholdField = limit.optional("threshold") {
            if let value = number(thresholdField, defaultHint: formatLimit(base.threshold)) {
                rule.threshold = value
            } else {
                complete = false
            }
        }
        if let priorityField = limit.optional("priority") {
            if let priority = choice(priorityField, Self.alarmPriorityNames, what: "alarm priority", defaultHint: base.priority.name)
                .flatMap({ AlarmPriority(name: $0) }) {
                rule.priority = priority
            } else {
                complete = false
            }
        }
        if let delayField = limit.optional("delay_s") {
            if let seconds = integer(delayField, in: 0...120, defaultHint: "\(base.delayMilliseconds / 1000)") {
                rule.delayMilliseconds = Int64(seconds) * 1000
            } else {
                complete = false
            }
        }
        if let enabledField = limit.optional("enabled") {
            if let enabled = boolean(enabledField, defaultHint: base.enabled ? "true" : "false") {
                rule.enabled = enabled
            } else {
                complete = false
            }
        }
        return complete ? rule : nil
    }

    /// `technical:`: the technical alarms' priorities and delays.
    private func applyTechnical(_ field: Field, to settings: inout TechnicalAlarmSettings) -> Bool {
        if field.node.isNull { return true }
        guard let technical = mapping(field, expected: "a mapping with the technical alarms' priorities",
                                      allowedKeys: ["monitor_comm_loss", "pump_comm_loss", "other_comm_loss", "spo2_sensor_off",
                                                    "other_sensor_off", "nibp_stale", "nibp_stale_after_s", "pump_occlusion",
                                                    "pump_air_in_line", "agent_fault", "sensor_off_delay_ms"])
        else { return false }
        var complete = true
        func priority(_ key: String, _ current: AlarmPriority) -> AlarmPriority {
            guard let priorityField = technical.optional(key) else { return current }
            if let name = choice(priorityField, Self.alarmPriorityNames, what: "alarm priority", defaultHint: current.name),
               let priority = AlarmPriority(name: name) {
                return priority
            }
            complete = false
            return current
        }
        func milliseconds(_ key: String, in range: ClosedRange<Int>, scale: Int64, _ current: Int64) -> Int64 {
            guard let numberField = technical.optional(key) else { return current }
            if let value = integer(numberField, in: range, defaultHint: "\(current / scale)") { return Int64(value) * scale }
            complete = false
            return current
        }
        var changed = settings
        changed.monitorCommLoss = priority("monitor_comm_loss", settings.monitorCommLoss)
        changed.pumpCommLoss = priority("pump_comm_loss", settings.pumpCommLoss)
        changed.otherCommLoss = priority("other_comm_loss", settings.otherCommLoss)
        changed.spo2SensorOff = priority("spo2_sensor_off", settings.spo2SensorOff)
        changed.otherSensorOff = priority("other_sensor_off", settings.otherSensorOff)
        changed.nibpStale = priority("nibp_stale", settings.nibpStale)
        changed.nibpStaleAfterMilliseconds = milliseconds("nibp_stale_after_s", in: 60...3600, scale: 1000,
                                                          settings.nibpStaleAfterMilliseconds)
        changed.pumpOcclusion = priority("pump_occlusion", settings.pumpOcclusion)
        changed.pumpAirInLine = priority("pump_air_in_line", settings.pumpAirInLine)
        changed.agentFault = priority("agent_fault", settings.agentFault)
        changed.sensorOffDelayMilliseconds = milliseconds("sensor_off_delay_ms", in: 0...60000, scale: 1,
                                                          settings.sensorOffDelayMilliseconds)
        settings = changed
        return complete
    }
}
