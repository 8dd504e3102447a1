import Alarms

/// The box's own alarm system: `alarms:` (box-wide, and per bed) and `hardware:` (buzzer,
/// button, status LED, buzzer timing, watchdog).
extension ConfigDecoder {
    static let alarmPriorityNames = ["high", "medium", "low"]

    // MARK: Alarms

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
        guard let alarms = mapping(field, expected: "a mapping with the alarm settings (log, escalate_after_s, limits, technical)",
                                   allowedKeys: ["log", "escalate_after_s", "limits", "technical"])
        else { return nil }
        var logPath: String? = defaults.logPath
        if let logField = alarms.optional("log") { logPath = pathSetting(logField, what: "alarm log file") }
        let settings = decodeAlarmChanges(alarms, owner: field, base: defaults.defaults)
        guard let logPath, let settings else { return nil }
        return AlarmSettings(logPath: logPath, defaults: settings)
    }

    /// A bed's own `alarms:` section, applied over the box-wide settings `base` (nil when those
    /// had errors: the bed's section is then still checked, but not validated as a whole).
    func decodeBedAlarms(_ field: Field?, base: BedAlarmSettings?) -> BedAlarmSettings? {
        guard let field, !field.node.isNull else { return base }
        let (checked, _) = refusing(field, ["log": "the alarm log is box-wide: set it under the top-level 'alarms:' section, not per bed"])
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
        return error.description + " (\(low) \(formatThreshold(lowRule.threshold)), \(high) \(formatThreshold(highRule.threshold))): "
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
            if let value = number(thresholdField, defaultHint: Self.formatThreshold(base.threshold)) {
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

    /// A threshold as the file would write it: whole numbers without a point, others to three
    /// decimals (no `Double.description`, whose digits differ under Embedded Swift).
    static func formatThreshold(_ value: Double) -> String {
        guard value.isFinite, value.magnitude < 1e15 else { return "?" }
        let scaled = Int64((value * 1000).rounded(.toNearestOrAwayFromZero))
        let magnitude = scaled < 0 ? -scaled : scaled
        var text = (scaled < 0 ? "-" : "") + String(magnitude / 1000)
        var fraction = magnitude % 1000
        if fraction != 0 {
            var digits = String(fraction)
            while digits.utf8.count < 3 { digits = "0" + digits }
            while fraction % 10 == 0 {
                fraction /= 10
                digits.removeLast()
            }
            text += "." + digits
        }
        return text
    }

    // MARK: Hardware

    /// The top-level `hardware:` section, and a board profile's. Every member is optional; the
    /// agent warns at start about each one missing. A part the section does not give is
    /// `base`'s (a board's); `buzzer_timing` and `watchdog` change `base`'s member by member.
    func decodeHardware(_ field: Field?, base: HardwareBase) -> HardwareSettings? {
        guard let field, !field.node.isNull else { return base.settings }
        guard let hardware = mapping(field, expected: "a mapping with the alarm hardware (buzzer, button, status_led, buzzer_timing, watchdog)",
                                     allowedKeys: ["buzzer", "button", "status_led", "buzzer_timing", "watchdog"])
        else { return nil }
        var complete = true
        let parts: [(key: String, what: String, input: Bool, fromBase: GPIOLineSettings?)] = [
            ("buzzer", "buzzer", false, base.settings.buzzer), ("button", "button", true, base.settings.button),
            ("status_led", "status LED", false, base.settings.statusLED),
        ]
        // The board's parts kept here come first: a part given here must not take their lines.
        var used: [GPIOLineUse] = []
        for part in parts where hardware.optional(part.key) == nil {
            if let kept = part.fromBase { used.append(GPIOLineUse(settings: kept, usedBy: "the \(part.what) of \(base.origin)")) }
        }
        var decodedParts: [GPIOLineSettings?] = []
        for part in parts {
            guard let lineField = hardware.optional(part.key) else {
                decodedParts.append(part.fromBase)
                continue
            }
            guard let decoded = decodeGPIOLine(lineField, what: part.what, input: part.input),
                  fitsBoard(decoded, base) else {
                complete = false
                decodedParts.append(nil)
                continue
            }
            var free = true
            for first in used where first.settings.sameLine(as: decoded.settings) {
                report(decoded.at, "\(decoded.settings.describeLine) is already used by \(first.usedBy); "
                    + "the buzzer, the button and the status LED each need their own")
                free = false
                break
            }
            guard free else {
                complete = false
                decodedParts.append(nil)
                continue
            }
            used.append(GPIOLineUse(settings: decoded.settings, usedBy: "\(lineField.path) (line \(decoded.at.node.line))"))
            decodedParts.append(decoded.settings)
        }
        var timing: SignalTiming? = base.settings.buzzerTiming
        if let timingField = hardware.optional("buzzer_timing") { timing = decodeBuzzerTiming(timingField, base: base.settings.buzzerTiming) }
        var watchdog: WatchdogSettings?? = .some(base.settings.watchdog)
        if let watchdogField = hardware.optional("watchdog") { watchdog = decodeWatchdog(watchdogField, base: base).map { $0 } }
        guard complete, let timing, let watchdog else { return nil }
        return HardwareSettings(buzzer: decodedParts[0], button: decodedParts[1], statusLED: decodedParts[2],
                                buzzerTiming: timing, watchdog: watchdog)
    }

    /// What a `hardware:` section starts from and is checked against: nothing for a
    /// configuration without `board:`; the board's parts, chips and watchdog timeouts otherwise;
    /// in a board's own file, its chips and timeouts, every chip listed.
    struct HardwareBase {
        var settings = HardwareSettings()
        /// Where `settings`, `chips` and `watchdogTimeouts` come from, for messages: "this board"
        /// or the board's id and file.
        var origin = "the defaults"
        var chips: [BoardGPIOChip] = []
        /// A board's own parts must use the chips it lists; a configuration may also use others
        /// (an I/O expander the board does not have).
        var requiresListedChips = false
        var watchdogTimeouts: ClosedRange<Int>? = nil
    }

    /// The base of a configuration's `hardware:`: the board's, when `board:` names one.
    func hardwareBase() -> HardwareBase {
        guard let board, let boardFile else { return HardwareBase() }
        return HardwareBase(settings: board.hardware, origin: "board \(quote(board.id)) (\(boardFile))", chips: board.gpioChips,
                            watchdogTimeouts: board.watchdogTimeouts)
    }

    /// A chip line must exist on its chip and be free of the board's own wiring.
    private func fitsBoard(_ decoded: DecodedGPIOLine, _ base: HardwareBase) -> Bool {
        guard case .chip(let path, let line, _) = decoded.settings, let chipField = decoded.chipField else { return true }
        guard let chip = base.chips.first(where: { $0.path == path }) else {
            if !base.requiresListedChips { return true }
            let listed = base.chips.map { $0.path }
            report(chipField, "\(path) is not listed under gpio_chips; add it there with its number of lines"
                + (listed.isEmpty ? "" : ", or use a listed chip (\(listed.joined(separator: ", ")))"))
            return false
        }
        if Int(line) >= chip.lineCount {
            report(decoded.at, "line \(line) does not exist: \(path) has \(chip.lineCount) lines (0...\(chip.lineCount - 1)) on \(base.origin)")
            return false
        }
        if chip.reservedLines.contains(Int(line)) {
            report(decoded.at, "line \(line) of \(path) is reserved on \(base.origin) (gpio_chips lists it: the board wires it "
                + "to something else); choose another line")
            return false
        }
        return true
    }

    /// A line as first configured, for lines used twice.
    private struct GPIOLineUse {
        var settings: GPIOLineSettings
        /// "hardware.buzzer (line 12)", or the board part's owner.
        var usedBy: String
    }

    /// A decoded part with where to report about it: `at`, its line (or file), and `chipField`.
    struct DecodedGPIOLine {
        var settings: GPIOLineSettings
        var at: Field
        var chipField: Field?
    }

    /// Either a GPIO line (`chip`, `line`, `active_low`) or, on development boxes, a file:
    /// `record_to` for outputs, `fifo` for inputs. `at` is where a line used twice is reported.
    private func decodeGPIOLine(_ field: Field, what: String, input: Bool) -> DecodedGPIOLine? {
        let fileKey = input ? "fifo" : "record_to"
        let refusal = input
            ? "'record_to' is for outputs (buzzer, status_led); an input such as the \(what) reads a FIFO on development boxes: use 'fifo'"
            : "'fifo' is for inputs (the button); an output such as the \(what) records its levels to a file on development boxes: use 'record_to'"
        let (checked, refusedSome) = refusing(field, [input ? "record_to" : "fifo": refusal])
        guard let gpio = mapping(checked, expected: "a mapping with the \(what)'s GPIO line (chip, line, active_low) or \(fileKey)",
                                 allowedKeys: ["chip", "line", "active_low", fileKey])
        else { return nil }
        let chipField = gpio.optional("chip")
        let fileField = gpio.optional(fileKey)
        if let chipField, let fileField {
            let second = chipField.line > fileField.line || (chipField.line == fileField.line && chipField.column > fileField.column)
                ? chipField : fileField
            report(line: second.line, column: second.column, path: second.path,
                   "the \(what) is either a GPIO line ('chip' and 'line') or a development file ('\(fileKey)'), not both; remove one")
            return nil
        }
        if let fileField {
            var complete = true
            for key in ["line", "active_low"] {
                guard let extra = gpio.optional(key) else { continue }
                report(line: extra.line, column: extra.column, path: extra.path,
                       "'\(key)' applies only with 'chip' (a GPIO line), not with '\(fileKey)'")
                complete = false
            }
            guard let path = pathSetting(fileField, what: input ? "FIFO" : "recording file"), complete else { return nil }
            return DecodedGPIOLine(settings: input ? .fifo(path) : .recordingFile(path), at: fileField, chipField: nil)
        }
        guard let chipField else {
            if !refusedSome {
                let file = input ? "'fifo' (a FIFO to read \"1\" and \"0\" lines from, on development boxes)"
                                 : "'record_to' (a file that records every level, on development boxes)"
                report(line: gpio.line, column: gpio.column, path: gpio.path,
                       "missing required key 'chip' (a GPIO character device such as /dev/gpiochip0, with 'line') or \(file)")
            }
            return nil
        }
        let chip = gpioChip(chipField)
        let lineField = required(gpio, "line")
        let offset = lineField.flatMap { integer($0, in: 0...1023) }
        var activeLow: Bool? = false
        if let activeLowField = gpio.optional("active_low") { activeLow = boolean(activeLowField, defaultHint: "false") }
        guard let chip, let lineField, let offset, let activeLow else { return nil }
        return DecodedGPIOLine(settings: .chip(path: chip, line: UInt32(offset), activeLow: activeLow), at: lineField, chipField: chipField)
    }

    func gpioChip(_ field: Field) -> String? {
        guard let text = string(field, expected: "a GPIO character device such as /dev/gpiochip0") else { return nil }
        let prefix = "/dev/"
        if !text.utf8.starts(with: prefix.utf8) || text.utf8.count == prefix.utf8.count {
            report(field, "invalid GPIO chip \(quote(text)): expected a GPIO character device such as /dev/gpiochip0")
            return nil
        }
        if let bad = Self.firstSpaceOrControl(text) {
            report(field, "invalid GPIO chip \(quote(text)) (contains \(Self.describeCharacter(bad))): "
                + "expected a GPIO character device such as /dev/gpiochip0")
            return nil
        }
        return text
    }

    /// `buzzer_timing:` by priority, each member over `base`'s, then checked against
    /// IEC 60601-1-8; each value outside the standard is reported where it was written.
    private func decodeBuzzerTiming(_ field: Field, base: SignalTiming) -> SignalTiming? {
        var timing = base
        if field.node.isNull { return timing }
        guard let priorities = mapping(field, expected: "a mapping of burst timings by priority (high, medium, low)",
                                       allowedKeys: Self.alarmPriorityNames)
        else { return nil }
        var complete = true
        var written: [(priority: AlarmPriority, burst: MappingFields)] = []
        for priority in [AlarmPriority.high, .medium, .low] {
            guard let burstField = priorities.optional(priority.name), !burstField.node.isNull else { continue }
            var keys = ["pulse_ms", "spacing_ms"]
            if priority == .high { keys.append("group_gap_ms") }
            keys.append("interburst_ms")
            if priority == .low { keys.append("pulses") }
            guard let burst = mapping(burstField, expected: "a mapping with the \(priority.name) priority burst timing (\(keys.joined(separator: ", ")))",
                                      allowedKeys: keys)
            else {
                complete = false
                continue
            }
            func value(_ key: String, in range: ClosedRange<Int>, _ current: Int) -> Int {
                guard let valueField = burst.optional(key) else { return current }
                if let value = integer(valueField, in: range, defaultHint: "\(current)") { return value }
                complete = false
                return current
            }
            // Wide bounds here: the standard's ranges are checked below, with their own message.
            var burstTiming = timing[priority]
            burstTiming.pulseMilliseconds = value("pulse_ms", in: 0...600_000, burstTiming.pulseMilliseconds)
            burstTiming.spacingMilliseconds = value("spacing_ms", in: 0...600_000, burstTiming.spacingMilliseconds)
            if priority == .high {
                burstTiming.groupGapMilliseconds = value("group_gap_ms", in: 0...600_000, burstTiming.groupGapMilliseconds)
            }
            burstTiming.interburstMilliseconds = value("interburst_ms", in: 0...600_000, burstTiming.interburstMilliseconds)
            if priority == .low { burstTiming.pulseCount = value("pulses", in: 1...2, burstTiming.pulseCount) }
            timing[priority] = burstTiming
            written.append((priority, burst))
        }
        guard complete else { return nil }
        do throws(SignalTimingError) {
            try timing.validate()
        } catch {
            for violation in error.violations {
                let message = "\(violation.description) (the IEC 60601-1-8 range for \(violation.priority.name) priority alarm signals)"
                var at: Field? = nil
                for entry in written where entry.priority == violation.priority {
                    at = entry.burst.optional(Self.timingKey(violation.field))
                }
                if let at {
                    report(at, message)
                } else {
                    report(line: field.line, column: field.column, path: field.path, message)
                }
            }
            return nil
        }
        return timing
    }

    /// The file's key for a `BurstTiming` member named in a `SignalTimingViolation`.
    static func timingKey(_ member: String) -> String {
        switch member {
        case "pulseMilliseconds": return "pulse_ms"
        case "spacingMilliseconds": return "spacing_ms"
        case "groupGapMilliseconds": return "group_gap_ms"
        case "interburstMilliseconds": return "interburst_ms"
        case "pulseCount": return "pulses"
        default: return member
        }
    }

    /// `watchdog:`, member by member over `base`'s (the board's); an empty one (every member
    /// commented out) keeps them. `timeout_s` must be one the board's watchdog driver accepts.
    private func decodeWatchdog(_ field: Field, base: HardwareBase) -> WatchdogSettings? {
        let defaults = base.settings.watchdog ?? WatchdogSettings()
        if field.node.isNull { return defaults }
        guard let watchdog = mapping(field, expected: "a mapping with the watchdog settings (device, timeout_s)",
                                     allowedKeys: ["device", "timeout_s"])
        else { return nil }
        var device: String? = defaults.device
        if let deviceField = watchdog.optional("device") {
            device = string(deviceField, expected: "a watchdog device such as /dev/watchdog").flatMap { text in
                if text.utf8.first != UInt8(ascii: "/") || Self.firstSpaceOrControl(text) != nil {
                    report(deviceField, "invalid watchdog device \(quote(text)): expected an absolute path such as /dev/watchdog")
                    return nil
                }
                return text
            }
        }
        var timeout: Int?? = .some(defaults.timeoutSeconds)
        if let timeoutField = watchdog.optional("timeout_s") {
            timeout = integer(timeoutField, in: 1...600, defaultHint: defaults.timeoutSeconds.map { "\($0)" } ?? "the driver's own")
                .flatMap { seconds in
                    guard let supported = base.watchdogTimeouts, !supported.contains(seconds) else { return seconds }
                    report(timeoutField, "\(seconds) s is outside the timeouts the watchdog driver accepts on \(base.origin) "
                        + "(\(supported.lowerBound)...\(supported.upperBound) s, its watchdog_timeouts_s); choose one within them")
                    return nil
                }.map { $0 }
        }
        guard let device, let timeout else { return nil }
        return WatchdogSettings(device: device, timeoutSeconds: timeout)
    }

    // MARK: Helpers

    /// A file path setting: relative to this configuration file's directory, or absolute; no spaces.
    func pathSetting(_ field: Field, what: String) -> String? {
        guard let text = string(field, expected: "the path of the \(what)") else { return nil }
        if text.isEmpty {
            report(field, "the path is empty (expected the path of the \(what))")
            return nil
        }
        if let bad = Self.firstSpaceOrControl(text) {
            report(field, "invalid path \(quote(text)) (contains \(Self.describeCharacter(bad))): expected the path of the \(what), without spaces")
            return nil
        }
        return Self.resolve(text, relativeTo: file)
    }

    /// Reports each key of `refused` present in a mapping with its own message, and returns the
    /// mapping without them, so the usual check of the remaining keys does not report them again.
    func refusing(_ field: Field, _ refused: [String: String]) -> (field: Field, refusedSome: Bool) {
        guard case .mapping(let pairs) = field.node.content else { return (field, false) }
        var kept: [YAMLPair] = []
        for pair in pairs {
            if let message = refused[pair.key] {
                report(line: pair.keyLine, column: pair.keyColumn, path: Field(pair: pair, parentPath: field.path).path, message)
            } else {
                kept.append(pair)
            }
        }
        if kept.count == pairs.count { return (field, false) }
        var trimmed = field
        trimmed.node.content = .mapping(kept)
        return (trimmed, true)
    }
}

extension GPIOLineSettings {
    /// The same chip line, or the same development file.
    func sameLine(as other: GPIOLineSettings) -> Bool {
        switch (self, other) {
        case (.chip(let path, let line, _), .chip(let otherPath, let otherLine, _)):
            return path == otherPath && line == otherLine
        case (.recordingFile(let path), .recordingFile(let otherPath)), (.fifo(let path), .fifo(let otherPath)),
             (.recordingFile(let path), .fifo(let otherPath)), (.fifo(let path), .recordingFile(let otherPath)):
            return path == otherPath
        default:
            return false
        }
    }

    var describeLine: String {
        switch self {
        case .chip(let path, let line, _): return "GPIO line \(line) of \(path)"
        case .recordingFile(let path): return "the file \(quote(path))"
        case .fifo(let path): return "the FIFO \(quote(path))"
        }
    }
}
