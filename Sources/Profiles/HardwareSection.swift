import Alarms
import Hardware
import Supervision
import YAMLReader

// The `hardware:` section: a configuration's and a board profile's (the board gives its
// parts' defaults, the configuration changes them).

/// What a `hardware:` section starts from and is checked against: nothing for a
/// configuration without `board:`; the board's parts, chips and watchdog timeouts otherwise;
/// in a board's own file, its chips and timeouts, every chip listed.
public struct HardwareBase {
    public var settings: HardwareSettings
    /// Where `settings`, `chips` and `watchdogTimeouts` come from, for messages: "this board"
    /// or the board's id and file.
    public var origin: String
    public var chips: [BoardGPIOChip]
    /// A board's own parts must use the chips it lists; a configuration may also use others
    /// (an I/O expander the board does not have).
    public var requiresListedChips: Bool
    public var watchdogTimeouts: ClosedRange<Int>?

    public init(settings: HardwareSettings = HardwareSettings(), origin: String = "the defaults", chips: [BoardGPIOChip] = [],
                requiresListedChips: Bool = false, watchdogTimeouts: ClosedRange<Int>? = nil) {
        self.settings = settings
        self.origin = origin
        self.chips = chips
        self.requiresListedChips = requiresListedChips
        self.watchdogTimeouts = watchdogTimeouts
    }
}

extension YAMLFieldReader {
    /// Priority names as the files write them, most urgent first.
    public static let alarmPriorityNames = ["high", "medium", "low"]

    /// The top-level `hardware:` section, and a board profile's. Every member is optional; the
    /// agent warns at start about each one missing. A part the section does not give is
    /// `base`'s (a board's); `buzzer_timing` and `watchdog` change `base`'s member by member.
    public func decodeHardware(_ field: Field?, base: HardwareBase) -> HardwareSettings? {
        guard let field, !field.node.isNull else { return base.settings }
        guard let hardware = mapping(field, expected: "a mapping with the alarm hardware (buzzer, button, status_led, buzzer_timing, watchdog)",
                                     allowedKeys: ["buzzer", "button", "status_led", "buzzer_timing", "watchdog"])
        else { return nil }
        var complete = true
        let parts: [(key: String, what: String, input: Bool, fromBase: GPIOLinePlace?)] = [
            ("buzzer", "buzzer", false, base.settings.buzzer.map(GPIOLinePlace.init)),
            ("button", "button", true, base.settings.button.map(GPIOLinePlace.init)),
            ("status_led", "status LED", false, base.settings.statusLED.map(GPIOLinePlace.init)),
        ]
        // The board's parts kept here come first: a part given here must not take their lines.
        var used: [GPIOLineUse] = []
        for part in parts where hardware.optional(part.key) == nil {
            if let kept = part.fromBase { used.append(GPIOLineUse(settings: kept, usedBy: "the \(part.what) of \(base.origin)")) }
        }
        var decodedParts: [GPIOLinePlace?] = []
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
        return HardwareSettings(buzzer: decodedParts[0]?.output, button: decodedParts[1]?.input, statusLED: decodedParts[2]?.output,
                                buzzerTiming: timing, watchdog: watchdog)
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
        var settings: GPIOLinePlace
        /// "hardware.buzzer (line 12)", or the board part's owner.
        var usedBy: String
    }

    /// A decoded part with where to report about it: `at`, its line (or file), and `chipField`.
    struct DecodedGPIOLine {
        var settings: GPIOLinePlace
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
}

/// Where a part's line is, whichever its direction: lines used twice are found across the
/// buzzer, the button and the LED before each is given its own type.
enum GPIOLinePlace: Equatable {
    case chip(path: String, line: UInt32, activeLow: Bool)
    case recordingFile(String)
    case fifo(String)

    init(_ output: GPIOOutputSettings) {
        switch output {
        case let .chip(path, line, activeLow): self = .chip(path: path, line: line, activeLow: activeLow)
        case let .recordingFile(path): self = .recordingFile(path)
        }
    }

    init(_ input: GPIOInputSettings) {
        switch input {
        case let .chip(path, line, activeLow): self = .chip(path: path, line: line, activeLow: activeLow)
        case let .fifo(path): self = .fifo(path)
        }
    }

    /// As an output; nil for a FIFO, which the decoder only accepts for inputs.
    var output: GPIOOutputSettings? {
        switch self {
        case let .chip(path, line, activeLow): return .chip(path: path, line: line, activeLow: activeLow)
        case let .recordingFile(path): return .recordingFile(path)
        case .fifo: return nil
        }
    }

    /// As an input; nil for a recording file, which the decoder only accepts for outputs.
    var input: GPIOInputSettings? {
        switch self {
        case let .chip(path, line, activeLow): return .chip(path: path, line: line, activeLow: activeLow)
        case let .fifo(path): return .fifo(path)
        case .recordingFile: return nil
        }
    }

    /// The same chip line, or the same development file.
    func sameLine(as other: GPIOLinePlace) -> Bool {
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
