import Platform
import YAMLReader

/// Board profiles (Boards/<id>.yaml) on their own and as a configuration's `board:`.
extension YAMLFieldReader {
    static let boardKeys = ["board", "name", "architecture", "sources", "hardware", "gpio_chips", "watchdog_timeouts_s",
                            "serial_ports", "realtime"]

    /// Checks one board profile. Its `hardware:` is checked by the configuration's own code,
    /// against the board's chips and watchdog timeouts.
    public func decodeBoard(_ root: YAMLNode?) -> BoardProfile? {
        guard let root, !root.isNull else {
            report(line: 1, column: 1, path: "", "the file is empty (expected a board profile: board, name, architecture, sources, hardware, ...)")
            return nil
        }
        let rootField = Field(node: root, path: "", line: root.line, column: root.column)
        guard let settings = mapping(rootField, expected: "a board profile: a mapping with \(Self.boardKeys.joined(separator: ", "))",
                                     allowedKeys: Self.boardKeys)
        else { return nil }
        let id = required(settings, "board").flatMap { boardID($0) }
        let name = required(settings, "name").flatMap { nonEmptyText($0, what: "the board's name for people") }
        let architecture = required(settings, "architecture").flatMap {
            choice($0, of: BoardArchitecture.self, what: "architecture (the Debian package the board takes)")
        }
        let sources = required(settings, "sources").flatMap { decodeSources($0) }
        let chips = required(settings, "gpio_chips").flatMap { decodeGPIOChips($0) }
        var timeouts: ClosedRange<Int>?? = .some(nil)
        if let timeoutsField = settings.optional("watchdog_timeouts_s") { timeouts = decodeTimeoutRange(timeoutsField).map { $0 } }
        // Checked only against what is known: a broken chip list or range was reported already.
        let base = HardwareBase(origin: "this board", chips: chips ?? [], requiresListedChips: chips != nil,
                                watchdogTimeouts: timeouts ?? nil)
        let hardware = required(settings, "hardware").flatMap { decodeHardware($0, base: base) }
        if let hardware, hardware.watchdog != nil, let timeouts, timeouts == nil {
            report(line: settings.line, column: settings.column, path: "",
                   "missing required top-level key 'watchdog_timeouts_s' (the timeouts the watchdog driver accepts, "
                    + "{min: S, max: S}; needed with hardware.watchdog)")
        }
        let serialPorts = required(settings, "serial_ports").flatMap { decodeSerialPorts($0) }
        let realtime = required(settings, "realtime").flatMap { decodeRealtime($0) }
        guard let id, let name, let architecture, let sources, let chips, let timeouts, let hardware, let serialPorts,
              let realtime, errors.isEmpty
        else { return nil }
        return BoardProfile(id: id, name: name, architecture: architecture, sources: sources, hardware: hardware,
                            gpioChips: chips, watchdogTimeouts: timeouts, serialPorts: serialPorts, realtime: realtime)
    }

    /// An id, and the name of the file without `.yaml`: the package installs boards/<id>.yaml,
    /// and a copied profile whose id was not changed would otherwise pass for the original.
    private func boardID(_ field: Field) -> String? {
        guard let id = name(field, what: "board id") else { return nil }
        let stem = Self.fileStem(file)
        if id != stem {
            report(field, "the board id \(quote(id)) differs from the file name \(quote(stem + ".yaml")); "
                + "name the file after the board id, or change the id")
            return nil
        }
        return id
    }

    /// "/usr/share/x/raspberry-pi-4.yaml" -> "raspberry-pi-4".
    static func fileStem(_ path: String) -> String {
        var name = Substring(path)
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        for suffix in [".yaml", ".yml"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
            break
        }
        return String(name)
    }

    private func nonEmptyText(_ field: Field, what: String) -> String? {
        guard let text = string(field, expected: what) else { return nil }
        if text.isEmpty || Self.firstControl(text) != nil {
            report(field, "expected \(what) on one line, found \(quote(text))")
            return nil
        }
        return text
    }

    private func decodeSources(_ field: Field) -> [String]? {
        guard let items = sequence(field, expected: "a list saying where each fact comes from",
                                   emptyMessage: "the list is empty; say where each fact comes from "
                                    + "(datasheet or board documentation, with the section)")
        else { return nil }
        var sources: [String] = []
        for item in items {
            guard let text = nonEmptyText(item, what: "a source (datasheet or board documentation, with the section)") else { continue }
            sources.append(text)
        }
        return sources.count == items.count ? sources : nil
    }

    /// A list that may be empty (a board without GPIO chips or RS-485 ports).
    private func possiblyEmptyList(_ field: Field, expected: String) -> [Field]? {
        if case .sequence(let nodes) = field.node.content, nodes.isEmpty { return [] }
        return sequence(field, expected: expected, emptyMessage: "")
    }

    private func decodeGPIOChips(_ field: Field) -> [BoardGPIOChip]? {
        guard let items = possiblyEmptyList(field, expected: "a list of GPIO chips (chip, lines, reserved)") else { return nil }
        var chips: [BoardGPIOChip] = []
        var listed: [String: FirstUse] = [:]
        for item in items {
            guard let chip = mapping(item, expected: "a mapping with the GPIO chip's settings (chip, lines, reserved)",
                                     allowedKeys: ["chip", "lines", "reserved"])
            else { continue }
            let path = required(chip, "chip").flatMap { chipField in
                gpioChip(chipField).flatMap { unique($0, chipField, owner: item.path, among: &listed, what: "GPIO chip", scope: "in gpio_chips") }
            }
            let lineCount = required(chip, "lines").flatMap { integer($0, in: 1...1024) }
            var reserved: [Int]? = []
            if let reservedField = chip.optional("reserved") { reserved = decodeReservedLines(reservedField, lineCount: lineCount) }
            guard let path, let lineCount, let reserved else { continue }
            chips.append(BoardGPIOChip(path: path, lineCount: lineCount, reservedLines: reserved))
        }
        return chips.count == items.count ? chips : nil
    }

    private func decodeReservedLines(_ field: Field, lineCount: Int?) -> [Int]? {
        guard let items = possiblyEmptyList(field, expected: "a list of line numbers the board wires to something else") else { return nil }
        var lines: [Int] = []
        for item in items {
            if let line = integer(item, in: 0...((lineCount ?? 1024) - 1)) { lines.append(line) }
        }
        return lines.count == items.count ? lines : nil
    }

    /// `watchdog_timeouts_s: {min: S, max: S}`, the driver's own limits.
    private func decodeTimeoutRange(_ field: Field) -> ClosedRange<Int>? {
        guard let range = mapping(field, expected: "a mapping with the watchdog driver's timeouts in seconds (min, max)",
                                  allowedKeys: ["min", "max"])
        else { return nil }
        let minimum = required(range, "min").flatMap { integer($0, in: 1...86400) }
        guard let maximumField = required(range, "max"), let minimum,
              let maximum = integer(maximumField, in: minimum...86400)
        else { return nil }
        return minimum...maximum
    }

    private func decodeSerialPorts(_ field: Field) -> [BoardSerialPort]? {
        guard let items = possiblyEmptyList(field, expected: "a list of serial ports (device, rs485_rts, rts_delay_us, description)")
        else { return nil }
        var ports: [BoardSerialPort] = []
        var listed: [String: FirstUse] = [:]
        for item in items {
            guard let port = mapping(item, expected: "a mapping with the serial port's settings (device, rs485_rts, rts_delay_us, description)",
                                     allowedKeys: ["device", "rs485_rts", "rts_delay_us", "description"])
            else { continue }
            let device = required(port, "device").flatMap { deviceField in
                serialDevice(deviceField).flatMap { unique($0, deviceField, owner: item.path, among: &listed, what: "serial device", scope: "in serial_ports") }
            }
            // Required: whoever writes the profile must say how the transceiver's direction is switched.
            let rs485RTS = required(port, "rs485_rts").flatMap { boolean($0) }
            let rtsDelay = optionalInteger(port, "rts_delay_us", in: 0...1_000_000, default: 0)
            let description = required(port, "description").flatMap { nonEmptyText($0, what: "a description of the port and its wiring") }
            guard let device, let rs485RTS, let rtsDelay, let description else { continue }
            ports.append(BoardSerialPort(device: device, rs485RTS: rs485RTS, rtsDelayMicroseconds: rtsDelay, description: description))
        }
        return ports.count == items.count ? ports : nil
    }

    private func decodeRealtime(_ field: Field) -> BoardRealtime? {
        guard let realtime = mapping(field, expected: "a mapping with the real-time sampling threads' cpu and priority",
                                     allowedKeys: ["cpu", "priority"])
        else { return nil }
        let cpu = required(realtime, "cpu").flatMap { integer($0, in: RealtimeLimits.cpuRange) }
        let priority = required(realtime, "priority").flatMap { integer($0, in: RealtimeLimits.priorityRange) }
        guard let cpu, let priority else { return nil }
        return BoardRealtime(cpu: cpu, priority: priority)
    }

    /// The path of a serial device: a board's serial port and a configuration's `rtu.device`.
    public func serialDevice(_ field: Field) -> String? {
        guard let text = string(field, expected: "the path of a serial device, like /dev/ttyUSB0") else { return nil }
        if text.utf8.first != UInt8(ascii: "/") {
            report(field, "invalid serial device \(quote(text)): expected an absolute path, like /dev/ttyUSB0 or /dev/ttyAMA0")
            return nil
        }
        if let bad = Self.firstSpaceOrControl(text) {
            report(field, "invalid serial device \(quote(text)) (contains \(Self.describeCharacter(bad))): expected a path like /dev/ttyUSB0")
            return nil
        }
        return text
    }
}
