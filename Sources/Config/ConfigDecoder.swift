import Alarms
import CShims
import MQTT
import Platform
import RegisterMaps

/// A value in the file together with its key path and where its key was written: a missing
/// value has no text of its own to point at, so its errors point at the key.
struct Field {
    var node: YAMLNode
    var path: String
    var line: Int
    var column: Int

    init(node: YAMLNode, path: String, line: Int, column: Int) {
        self.node = node
        self.path = path
        self.line = line
        self.column = column
    }

    init(pair: YAMLPair, parentPath: String) {
        self.init(node: pair.value, path: parentPath.isEmpty ? pair.key : parentPath + "." + pair.key,
                  line: pair.keyLine, column: pair.keyColumn)
    }
}

/// The keys of one mapping in the file, already checked against the keys the schema allows.
struct MappingFields {
    var path: String
    var line: Int
    var column: Int
    var pairs: [YAMLPair]

    func optional(_ key: String) -> Field? {
        for pair in pairs where pair.key == key { return Field(pair: pair, parentPath: path) }
        return nil
    }
}

enum IntegerText: Equatable {
    case value(Int)
    case outOfRange
    case notAnInteger
}

/// Checks a YAML tree against the configuration schema. It never stops at the first problem:
/// every check reports into `errors` and returns nil, and decoding carries on with the rest.
final class ConfigDecoder {
    let file: String
    private(set) var errors: [ConfigError] = []
    /// Profiles loaded from `device_profiles` files so far, in file order.
    private(set) var profiles: [DeviceProfile] = []
    /// Every file read besides this one (resolved paths: the board profile, then the device
    /// profile files in listing order): errors sort by file in this order.
    private(set) var includedFiles: [String] = []
    /// The profile `board:` names, once it checked out: the defaults of the hardware parts, the
    /// real-time settings and the serial lines' RS-485 settings.
    var board: BoardProfile?
    /// Where `board` was read from, for messages about values taken from it.
    var boardFile: String?
    /// Profile names declared in files that had errors: devices naming them are not reported
    /// a second time as using an unknown profile.
    private var brokenProfileNames: [String] = []
    /// Where each file profile's name was written, for collisions between files.
    private var profileNameUses: [String: FirstUse] = [:]

    init(file: String) { self.file = file }

    func report(line: Int, column: Int, path: String, _ message: String) {
        errors.append(ConfigError(file: file, line: line, column: column, keyPath: path, message: message))
    }

    func report(line: Int, column: Int, path: String, file: String, _ message: String) {
        errors.append(ConfigError(file: file, line: line, column: column, keyPath: path, message: message))
    }

    /// Problems found in a file this one names, already positioned in that file.
    func record(_ found: [ConfigError]) { errors += found }

    /// Problems with a value point at the value itself.
    func report(_ field: Field, _ message: String) {
        report(line: field.node.line, column: field.node.column, path: field.path, message)
    }

    // MARK: The schema

    func decodeRoot(_ root: YAMLNode?) -> GatewayConfig? {
        guard let root, !root.isNull else {
            report(line: 1, column: 1, path: "", "the file is empty")
            return nil
        }
        let rootField = Field(node: root, path: "", line: root.line, column: root.column)
        guard let settings = mapping(rootField, expected: "a mapping of settings (site, box, mqtt, sampling, device_profiles, beds)",
                                     allowedKeys: ["site", "box", "board", "mqtt", "sampling", "queue", "health", "commands",
                                                   "alarms", "hardware", "device_profiles", "beds"]) else { return nil }

        // The board first: it gives the defaults of sampling, hardware and the serial lines.
        if let boardField = settings.optional("board") { decodeBoardFile(boardField) }

        let site = required(settings, "site").flatMap { id($0) }
        let box = required(settings, "box").flatMap { id($0) }
        let mqtt = required(settings, "mqtt").flatMap { decodeMQTT($0, site: site ?? "", box: box ?? "") }
        let sampling = decodeSampling(settings.optional("sampling"))
        let queue = decodeQueue(settings.optional("queue"))
        let health = decodeHealth(settings.optional("health"))
        let commands = decodeCommands(settings.optional("commands"))
        // Box-wide alarm settings first: each bed's own start from them.
        let alarms = decodeAlarms(settings.optional("alarms"), queueDirectory: queue?.directory)
        let hardware = decodeHardware(settings.optional("hardware"), base: hardwareBase())
        // Profiles first: devices may name them.
        decodeProfileFiles(settings.optional("device_profiles"))
        let beds = required(settings, "beds").flatMap { decodeBeds($0, alarmDefaults: alarms?.defaults) }

        guard let site, let box, let mqtt, let sampling, let beds, let queue, let health, let commands, let alarms,
              let hardware, errors.isEmpty
        else { return nil }
        return GatewayConfig(site: site, box: box, mqtt: mqtt, sampling: sampling, beds: beds, profiles: profiles,
                             queue: queue, health: health, commands: commands, alarms: alarms, hardware: hardware,
                             board: board)
    }

    private func decodeMQTT(_ field: Field, site: String, box: String) -> MQTTSettings? {
        guard let mqtt = mapping(field, expected: "a mapping with the MQTT broker settings",
                                 allowedKeys: ["host", "port", "client_id", "keepalive_s", "topic_prefix",
                                               "session_expiry_s", "credentials_file", "tls"])
        else { return nil }
        let host = required(mqtt, "host").flatMap { self.host($0) }
        let port = optionalInteger(mqtt, "port", in: 1...65535, default: 1883)
        let clientID = optionalString(mqtt, "client_id", default: "bedside-gateway-\(site)-\(box)") { Self.clientIDProblem($0) }
        let keepalive = optionalInteger(mqtt, "keepalive_s", in: 5...3600, default: 30)
        let topicPrefix = optionalString(mqtt, "topic_prefix", default: "bedside/\(site)/\(box)") { Self.topicPrefixProblem($0) }
        // A week: long enough for a box to ride out a weekend's network work.
        let sessionExpiry = optionalInteger(mqtt, "session_expiry_s", in: 0...604_800, default: 3600)
        var credentials: MQTTCredentials?? = .some(nil)
        if let field = mqtt.optional("credentials_file") { credentials = decodeCredentialsFile(field).map { $0 } }
        var tls: MQTTTLSOptions?? = .some(nil)
        if let field = mqtt.optional("tls") { tls = decodeTLS(field).map { $0 } }
        guard let host, let port, let clientID, let keepalive, let topicPrefix, let sessionExpiry,
              let credentials, let tls else { return nil }
        return MQTTSettings(host: host, port: port, clientID: clientID, keepaliveSeconds: keepalive, topicPrefix: topicPrefix,
                            sessionExpirySeconds: sessionExpiry, credentials: credentials, tls: tls)
    }

    /// A board's `realtime:` gives the defaults of `priority` and `cpu`.
    private func decodeSampling(_ field: Field?) -> SamplingSettings? {
        let defaultInterval = 1000
        let defaultPriority = board?.realtime.priority ?? SamplingSettings.defaultPriority
        let defaultCPU = board?.realtime.cpu
        // An empty `sampling:` (every line commented out) means "all defaults", not a mistake.
        guard let field, !field.node.isNull else {
            return SamplingSettings(intervalMilliseconds: defaultInterval, realtimePriority: defaultPriority, cpu: defaultCPU)
        }
        guard let sampling = mapping(field, expected: "a mapping with the sampling settings",
                                     allowedKeys: ["interval_ms", "priority", "cpu"])
        else { return nil }
        let interval = optionalInteger(sampling, "interval_ms", in: 10...60000, default: defaultInterval)
        let priority = optionalInteger(sampling, "priority", in: SamplingSettings.priorityRange, default: defaultPriority)
        var cpu = defaultCPU
        if let field = sampling.optional("cpu") {
            guard let pinned = integer(field, in: SamplingSettings.cpuRange, defaultHint: defaultCPU.map { "\($0)" } ?? "none")
            else { return nil }
            cpu = pinned
        }
        guard let interval, let priority else { return nil }
        return SamplingSettings(intervalMilliseconds: interval, realtimePriority: priority, cpu: cpu)
    }

    struct FirstUse {
        var path: String
        var line: Int
    }

    /// A serial line as first configured, with the unit ids already on it.
    private struct SerialLineUse {
        var settings: SerialLineSettings
        var owner: String
        var line: Int
        var unitIDs: [Int: FirstUse]
    }

    private var serialLines: [String: SerialLineUse] = [:]

    private var bedIDs: [String: FirstUse] = [:]
    private var deviceIDs: [String: FirstUse] = [:]

    /// `alarmDefaults`: the box-wide alarm settings, nil when they had errors.
    private func decodeBeds(_ field: Field, alarmDefaults: BedAlarmSettings?) -> [BedConfig]? {
        guard let items = sequence(field, expected: "a list of beds", emptyMessage: "the list is empty; add at least one bed")
        else { return nil }
        var beds: [BedConfig] = []
        var complete = true
        for item in items {
            if let bed = decodeBed(item, alarmDefaults: alarmDefaults) { beds.append(bed) } else { complete = false }
        }
        return complete ? beds : nil
    }

    private func decodeBed(_ field: Field, alarmDefaults: BedAlarmSettings?) -> BedConfig? {
        guard let bed = mapping(field, expected: "a mapping with the bed's id and devices",
                                allowedKeys: ["id", "alarms", "devices"])
        else { return nil }
        let id = required(bed, "id").flatMap { idField in
            self.id(idField).flatMap {
                unique($0, idField, owner: field.path, among: &bedIDs, what: "bed id", scope: "among the beds")
            }
        }
        let alarms = decodeBedAlarms(bed.optional("alarms"), base: alarmDefaults)
        let devices = required(bed, "devices").flatMap { decodeDevices($0) }
        guard let id, let devices, let alarms else { return nil }
        return BedConfig(id: id, devices: devices, alarms: alarms)
    }

    private func decodeDevices(_ field: Field) -> [DeviceConfig]? {
        guard let items = sequence(field, expected: "a list of devices",
                                   emptyMessage: "the list is empty; add at least one device")
        else { return nil }
        var devices: [DeviceConfig] = []
        var complete = true
        for item in items {
            if let device = decodeDevice(item) { devices.append(device) } else { complete = false }
        }
        return complete ? devices : nil
    }

    private func decodeDevice(_ field: Field) -> DeviceConfig? {
        guard let device = mapping(field, expected: "a mapping with the device's settings",
                                   allowedKeys: ["id", "profile", "tcp", "rtu", "unit_id", "response_timeout_ms",
                                                 "byte_timeout_ms"])
        else { return nil }
        let id = required(device, "id").flatMap { idField in
            self.id(idField).flatMap {
                unique($0, idField, owner: field.path, among: &deviceIDs, what: "device id", scope: "across all beds")
            }
        }
        let profile = required(device, "profile").flatMap { self.profile($0) }
        let endpoint = decodeTransport(device)
        var unitID = optionalInteger(device, "unit_id", in: 0...247, default: 1)
        if unitID == 0, device.optional("tcp") == nil, device.optional("rtu") != nil, let unitField = device.optional("unit_id") {
            report(unitField, "0 is the broadcast address, which no device on a serial line answers; use 1...247")
            unitID = nil
        }
        let timeout = optionalInteger(device, "response_timeout_ms", in: 10...10000, default: 500)
        let byteTimeout = optionalInteger(device, "byte_timeout_ms", in: 1...10000, default: 100)
        // The bus is checked even when other settings of this device are wrong, so that all
        // conflicts on a line show up in one round.
        var busIsConsistent = true
        if case .rtu(let line)? = endpoint, let unitID {
            busIsConsistent = checkSerialBus(line, unitID: unitID, device: device, owner: field.path)
        }
        guard let id, let profile, let endpoint, let unitID, let timeout, let byteTimeout, busIsConsistent else { return nil }
        return DeviceConfig(id: id, profile: profile, endpoint: endpoint, unitID: unitID,
                            responseTimeoutMilliseconds: timeout, byteTimeoutMilliseconds: byteTimeout)
    }

    /// Exactly one of `tcp` and `rtu`.
    private func decodeTransport(_ device: MappingFields) -> DeviceEndpoint? {
        let tcp = device.optional("tcp")
        let rtu = device.optional("rtu")
        if let tcp, let rtu {
            let second = tcp.line > rtu.line || (tcp.line == rtu.line && tcp.column > rtu.column) ? tcp : rtu
            report(line: second.line, column: second.column, path: second.path,
                   "a device is reached either over 'tcp' or over 'rtu', not both; remove one")
            return nil
        }
        if let tcp { return decodeTCP(tcp) }
        if let rtu { return decodeRTU(rtu) }
        report(line: device.line, column: device.column, path: device.path,
               "missing required key 'tcp' or 'rtu' (how the device is reached: Modbus TCP, or Modbus RTU on a serial line)")
        return nil
    }

    private func decodeRTU(_ field: Field) -> DeviceEndpoint? {
        guard let rtu = mapping(field, expected: "a mapping with the device's serial line settings",
                                allowedKeys: ["device", "baud", "parity", "data_bits", "stop_bits", "rs485_rts", "rts_delay_us"])
        else { return nil }
        let device = required(rtu, "device").flatMap { serialDevice($0) }
        // A port the board describes starts from its RS-485 wiring.
        let port = device.flatMap { board?.serialPort($0) }
        let defaults = SerialLineSettings(device: "", rs485RTS: port?.rs485RTS ?? false,
                                          rtsDelayMicroseconds: port?.rtsDelayMicroseconds ?? 0)
        var baud: Int? = defaults.baud
        if let baudField = rtu.optional("baud") {
            baud = integer(baudField, in: Int.min...Int.max, defaultHint: "\(defaults.baud)").flatMap { value in
                if SerialLineSettings.standardBaudRates.contains(value) { return value }
                var rates: [String] = []
                for rate in SerialLineSettings.standardBaudRates { rates.append("\(rate)") }
                report(baudField, "\(value) is not a standard baud rate (one of: \(rates.joined(separator: ", ")))")
                return nil
            }
        }
        var parity: SerialParity? = defaults.parity
        if let parityField = rtu.optional("parity") {
            parity = choice(parityField, ["none", "even", "odd"], what: "parity", defaultHint: defaults.parity.rawValue)
                .flatMap { SerialParity(rawValue: $0) }
        }
        let dataBits = optionalInteger(rtu, "data_bits", in: 7...8, default: defaults.dataBits)
        let stopBits = optionalInteger(rtu, "stop_bits", in: 1...2, default: defaults.stopBits)
        var rs485RTS: Bool? = defaults.rs485RTS
        if let rtsField = rtu.optional("rs485_rts") { rs485RTS = boolean(rtsField, defaultHint: defaults.rs485RTS ? "true" : "false") }
        let rtsDelay = optionalInteger(rtu, "rts_delay_us", in: 0...1_000_000, default: defaults.rtsDelayMicroseconds)
        guard let device, let baud, let parity, let dataBits, let stopBits, let rs485RTS, let rtsDelay else { return nil }
        return .rtu(SerialLineSettings(device: device, baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits,
                                       rs485RTS: rs485RTS, rtsDelayMicroseconds: rtsDelay))
    }

    func serialDevice(_ field: Field) -> String? {
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

    /// Devices sharing a serial line must agree on its settings and use distinct unit ids (1...247).
    private func checkSerialBus(_ line: SerialLineSettings, unitID: Int, device: MappingFields, owner: String) -> Bool {
        let rtuField = device.optional("rtu")
        let unitField = device.optional("unit_id")
        guard var use = serialLines[line.device] else {
            serialLines[line.device] = SerialLineUse(settings: line, owner: owner, line: rtuField?.node.line ?? device.line,
                                                     unitIDs: [unitID: FirstUse(path: owner, line: unitField?.node.line ?? device.line)])
            return true
        }
        if use.settings != line {
            let here = line
            let there = use.settings
            var differences: [String] = []
            if here.baud != there.baud { differences.append("baud \(here.baud) here, \(there.baud) there") }
            if here.parity != there.parity { differences.append("parity \(here.parity.rawValue) here, \(there.parity.rawValue) there") }
            if here.dataBits != there.dataBits { differences.append("data_bits \(here.dataBits) here, \(there.dataBits) there") }
            if here.stopBits != there.stopBits { differences.append("stop_bits \(here.stopBits) here, \(there.stopBits) there") }
            if here.rs485RTS != there.rs485RTS {
                differences.append("rs485_rts \(here.rs485RTS ? "true" : "false") here, \(there.rs485RTS ? "true" : "false") there")
            }
            if here.rtsDelayMicroseconds != there.rtsDelayMicroseconds {
                differences.append("rts_delay_us \(here.rtsDelayMicroseconds) here, \(there.rtsDelayMicroseconds) there")
            }
            if let rtuField {
                report(rtuField, "serial line \(quote(line.device)) is set up differently by \(use.owner) (line \(use.line)): "
                    + differences.joined(separator: ", ") + "; all devices on one serial line must use the same settings")
            }
            return false
        }
        if let first = use.unitIDs[unitID] {
            let message = "unit id \(unitID) is already used on serial line \(quote(line.device)) by \(first.path) (line \(first.line)); "
                + "devices on one serial line need distinct unit ids"
            if let unitField { report(unitField, message) } else if let rtuField { report(rtuField, message) }
            return false
        }
        use.unitIDs[unitID] = FirstUse(path: owner, line: unitField?.node.line ?? device.line)
        serialLines[line.device] = use
        return true
    }

    private func decodeTCP(_ field: Field) -> DeviceEndpoint? {
        guard let tcp = mapping(field, expected: "a mapping with the device's host and port", allowedKeys: ["host", "port"])
        else { return nil }
        let host = required(tcp, "host").flatMap { self.host($0) }
        let port = optionalInteger(tcp, "port", in: 1...65535, default: 502)
        guard let host, let port else { return nil }
        return .tcp(host: host, port: port)
    }

    // MARK: Node kinds

    func mapping(_ field: Field, expected: String, allowedKeys: [String]) -> MappingFields? {
        switch field.node.content {
        case .invalid:
            return nil
        case .mapping(let pairs):
            let fields = MappingFields(path: field.path, line: field.node.line, column: field.node.column, pairs: pairs)
            for pair in pairs where !allowedKeys.contains(pair.key) {
                report(line: pair.keyLine, column: pair.keyColumn, path: Field(pair: pair, parentPath: field.path).path,
                       "unknown key (expected one of: \(allowedKeys.joined(separator: ", ")))")
            }
            return fields
        case .scalar, .sequence:
            reportWrongKind(field, expected: expected)
            return nil
        }
    }

    func sequence(_ field: Field, expected: String, emptyMessage: String) -> [Field]? {
        switch field.node.content {
        case .invalid:
            return nil
        case .sequence(let nodes):
            if nodes.isEmpty {
                report(field, emptyMessage)
                return nil
            }
            var items: [Field] = []
            for (index, node) in nodes.enumerated() {
                items.append(Field(node: node, path: "\(field.path)[\(index)]", line: node.line, column: node.column))
            }
            return items
        case .scalar, .mapping:
            reportWrongKind(field, expected: expected)
            return nil
        }
    }

    /// The text of a scalar, or nil after reporting a null or a list/mapping in its place.
    func scalarText(_ field: Field, expected: String, defaultHint: String? = nil) -> (text: String, quoted: Bool)? {
        switch field.node.content {
        case .invalid:
            return nil
        case .scalar(let text, let quoted):
            if field.node.isNull {
                reportWrongKind(field, expected: expected, defaultHint: defaultHint)
                return nil
            }
            return (text, quoted)
        case .sequence, .mapping:
            reportWrongKind(field, expected: expected)
            return nil
        }
    }

    func reportWrongKind(_ field: Field, expected: String, defaultHint: String? = nil) {
        if field.node.isNull {
            var message = "missing value (expected \(expected)"
            if let defaultHint { message += "; remove the line to use the default, \(defaultHint)" }
            report(line: field.line, column: field.column, path: field.path, message + ")")
        } else {
            report(field, "expected \(expected), found \(describe(field.node))")
        }
    }

    func describe(_ node: YAMLNode) -> String {
        switch node.content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .invalid: return "an alias"
        case .scalar(let text, let quoted): return quoted ? "a quoted string \(quote(text))" : quote(text)
        }
    }

    // MARK: Scalars

    func required(_ mapping: MappingFields, _ key: String) -> Field? {
        if let field = mapping.optional(key) { return field }
        let message = mapping.path.isEmpty ? "missing required top-level key '\(key)'" : "missing required key '\(key)'"
        report(line: mapping.line, column: mapping.column, path: mapping.path, message)
        return nil
    }

    func integer(_ field: Field, in range: ClosedRange<Int>, defaultHint: String? = nil) -> Int? {
        guard let scalar = scalarText(field, expected: "an integer", defaultHint: defaultHint) else { return nil }
        let text = scalar.text
        if scalar.quoted {
            report(field, "expected an integer, found a quoted string \(quote(text)) (write numbers without quotes)")
            return nil
        }
        switch Self.parseInteger(text) {
        case .value(let value) where range.contains(value):
            return value
        case .value, .outOfRange:
            report(field, "\(text) is out of range (\(range.lowerBound)...\(range.upperBound))")
        case .notAnInteger:
            report(field, "expected an integer, found \(quote(text))")
        }
        return nil
    }

    func optionalInteger(_ mapping: MappingFields, _ key: String, in range: ClosedRange<Int>, default value: Int) -> Int? {
        guard let field = mapping.optional(key) else { return value }
        return integer(field, in: range, defaultHint: "\(value)")
    }

    /// An optional string setting; `problem` returns why a value is unacceptable, or nil.
    func optionalString(_ mapping: MappingFields, _ key: String, default value: String,
                                _ problem: (String) -> String?) -> String? {
        guard let field = mapping.optional(key) else { return value }
        guard let text = scalarText(field, expected: "a string", defaultHint: quote(value))?.text else { return nil }
        if let problem = problem(text) {
            report(field, problem)
            return nil
        }
        return text
    }

    /// Decimal digits with an optional leading '-', parsed by hand so that no input can trap on overflow.
    static func parseInteger(_ text: String) -> IntegerText {
        var negative = false
        var sawDigit = false
        var overflowed = false
        var value = 0
        for (index, byte) in text.utf8.enumerated() {
            if index == 0 && byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return .notAnInteger }
            sawDigit = true
            if overflowed { continue }  // keep scanning: "99999999999999999999x" is still not a number
            let digit = Int(byte - UInt8(ascii: "0"))
            let (shifted, shiftOverflow) = value.multipliedReportingOverflow(by: 10)
            // Accumulate negatives downwards so Int.min itself stays representable.
            let (next, addOverflow) = negative ? shifted.subtractingReportingOverflow(digit)
                                               : shifted.addingReportingOverflow(digit)
            if shiftOverflow || addOverflow { overflowed = true } else { value = next }
        }
        if !sawDigit { return .notAnInteger }
        return overflowed ? .outOfRange : .value(value)
    }

    func string(_ field: Field, expected: String) -> String? {
        scalarText(field, expected: expected)?.text
    }

    func id(_ field: Field) -> String? {
        guard let text = string(field, expected: "an id") else { return nil }
        if let problem = Self.idProblem(text) {
            report(field, "invalid id \(quote(text)) (\(problem)): use 1 to 64 ASCII letters, digits, '-', '_' or '.'; "
                + "ids are opaque labels that go into MQTT topics, so no '/', '+', '#' or spaces, and never a patient's name")
            return nil
        }
        return text
    }

    static func idProblem(_ text: String) -> String? {
        if text.isEmpty { return "it is empty" }
        for scalar in text.unicodeScalars {
            let isLetterOrDigit = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z")
                || (scalar >= "0" && scalar <= "9")
            if !isLetterOrDigit && scalar != "-" && scalar != "_" && scalar != "." {
                return "contains \(describeCharacter(scalar))"
            }
        }
        let length = text.utf8.count  // only ASCII is left, so bytes are characters
        if length > 64 { return "it is \(length) characters long" }
        return nil
    }

    func unique(_ id: String, _ field: Field, owner: String, among used: inout [String: FirstUse],
                        what: String, scope: String) -> String? {
        if let first = used[id] {
            report(field, "duplicate \(what) \(quote(id)) (\(first.path) at line \(first.line) already uses it); \(what)s must be unique \(scope)")
            return nil
        }
        used[id] = FirstUse(path: owner, line: field.node.line)
        return id
    }

    private func host(_ field: Field) -> String? {
        guard let text = string(field, expected: "a host name or IP address") else { return nil }
        if text.isEmpty {
            report(field, "the host is empty (expected a host name or IP address)")
            return nil
        }
        if let bad = Self.firstSpaceOrControl(text) {
            report(field, "invalid host \(quote(text)) (contains \(Self.describeCharacter(bad))): expected a host name or IP address")
            return nil
        }
        return text
    }

    private func profile(_ field: Field) -> String? {
        guard let name = string(field, expected: "a device profile name") else { return nil }
        if BuiltinProfiles.named(name) != nil { return name }
        for profile in profiles where profile.name == name { return name }
        // Its file has errors, already reported there.
        if brokenProfileNames.contains(name) { return nil }
        var builtin: [String] = []
        for profile in BuiltinProfiles.all { builtin.append(profile.name) }
        var message = "unknown device profile \(quote(name)) (built-in profiles: \(builtin.joined(separator: ", "))"
        if !profiles.isEmpty {
            var loaded: [String] = []
            for profile in profiles { loaded.append(profile.name) }
            message += "; from device_profiles files: \(loaded.joined(separator: ", "))"
        }
        report(field, message + ")")
        return nil
    }

    // MARK: Profile files

    /// Reads every file listed under `device_profiles` (paths relative to this file's directory)
    /// and keeps the profiles that check out; their problems are reported against their own file.
    private func decodeProfileFiles(_ field: Field?) {
        // An empty `device_profiles:` (every entry commented out) means none.
        guard let field, !field.node.isNull else { return }
        if case .sequence(let nodes) = field.node.content, nodes.isEmpty { return }
        guard let items = sequence(field, expected: "a list of device profile file paths", emptyMessage: "") else { return }
        var listed: [String: FirstUse] = [:]
        for item in items {
            guard let text = string(item, expected: "the path of a device profile file") else { continue }
            if text.isEmpty {
                report(item, "the path is empty (expected the path of a device profile file)")
                continue
            }
            let path = Self.resolve(text, relativeTo: file)
            if let first = listed[path] {
                report(item, "\(quote(text)) is already listed (\(first.path) at line \(first.line))")
                continue
            }
            listed[path] = FirstUse(path: item.path, line: item.node.line)
            loadProfileFile(path, listedAt: item)
        }
    }

    /// The YAML of a file this configuration names (`what`: "device profile file"), or nil
    /// after reporting at `item` why it cannot be read.
    func loadIncludedFile(_ path: String, what: String, listedAt item: Field) -> YAMLLoadResult? {
        let bytes: [UInt8]
        do throws(SystemError) {
            bytes = try readFile(path, limit: YAMLLoader.maximumSize)
        } catch {
            report(item, error.errno == .fileTooLarge
                ? "cannot read \(what) \(path): it is larger than the 1 MiB limit; a profile is a few KiB, so check that this is the right file"
                : "cannot read \(what): \(error.description)")
            return nil
        }
        includedFiles.append(path)
        return YAMLLoader.load(bytes, file: path)
    }

    private func loadProfileFile(_ path: String, listedAt item: Field) {
        guard let loaded = loadIncludedFile(path, what: "device profile file", listedAt: item) else { return }
        errors += loaded.errors
        guard loaded.isComplete else { return }
        let decoder = ConfigDecoder(file: path)
        let decoded = decoder.decodeProfile(loaded.root)
        errors += decoder.errors
        var usable = loaded.errors.isEmpty && decoder.errors.isEmpty
        if let name = decoded.name {
            if let first = profileNameUses[name.text] {
                report(line: name.line, column: name.column, path: "name",
                       file: path, "duplicate profile name \(quote(name.text)) (\(first.path) at line \(first.line) already uses it); "
                        + "profile names must be unique")
                usable = false
            } else {
                profileNameUses[name.text] = FirstUse(path: path, line: name.line)
            }
        }
        if usable, let profile = decoded.profile {
            profiles.append(profile)
        } else if let name = decoded.name {
            brokenProfileNames.append(name.text)
        }
    }

    /// `path` as written in `configFile`: absolute paths as they are, relative ones from the
    /// directory the configuration file is in.
    static func resolve(_ path: String, relativeTo configFile: String) -> String {
        if path.utf8.first == UInt8(ascii: "/") { return path }
        var lastSlash: String.Index? = nil
        var index = configFile.startIndex
        while index < configFile.endIndex {
            if configFile[index] == "/" { lastSlash = index }
            index = configFile.index(after: index)
        }
        guard let lastSlash else { return path }
        return String(configFile[...lastSlash]) + path
    }

    static func clientIDProblem(_ text: String) -> String? {
        let length = text.unicodeScalars.count
        if length < 1 || length > 128 {
            return "invalid client id \(quote(text)) (it is \(length) characters long): use 1 to 128 characters without spaces"
        }
        if let bad = firstSpaceOrControl(text) {
            return "invalid client id \(quote(text)) (contains \(describeCharacter(bad))): use 1 to 128 characters without spaces"
        }
        return nil
    }

    static func topicPrefixProblem(_ text: String) -> String? {
        let reason: String
        if text.isEmpty {
            reason = "it is empty"
        } else if text.utf8.contains(UInt8(ascii: "+")) || text.utf8.contains(UInt8(ascii: "#")) {
            reason = "it contains the MQTT wildcard '+' or '#'"
        } else if text.utf8.first == UInt8(ascii: "/") || text.utf8.last == UInt8(ascii: "/") {
            reason = "it starts or ends with '/'"
        } else if containsEmptyLevel(text) {
            reason = "it has an empty level ('//')"
        } else if let bad = firstControl(text) {
            reason = "it contains \(describeCharacter(bad))"
        } else {
            return nil
        }
        return "invalid topic prefix \(quote(text)) (\(reason)): use levels separated by single '/', like \"bedside/clinic-a/edge-01\""
    }

    private static func containsEmptyLevel(_ text: String) -> Bool {
        var previousWasSlash = false
        for byte in text.utf8 {
            let isSlash = byte == UInt8(ascii: "/")
            if isSlash && previousWasSlash { return true }
            previousWasSlash = isSlash
        }
        return false
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0)
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    static func firstSpaceOrControl(_ text: String) -> Unicode.Scalar? {
        for scalar in text.unicodeScalars where isSpace(scalar) || isControl(scalar) { return scalar }
        return nil
    }

    static func firstControl(_ text: String) -> Unicode.Scalar? {
        for scalar in text.unicodeScalars where isControl(scalar) { return scalar }
        return nil
    }

    static func describeCharacter(_ scalar: Unicode.Scalar) -> String {
        if scalar == " " { return "a space" }
        if scalar == "\t" { return "a tab" }
        if isSpace(scalar) || isControl(scalar) { return "the invisible character U+\(hex(scalar.value, digits: 4))" }
        var character = ""
        character.unicodeScalars.append(scalar)
        return "'\(character)'"
    }
}

/// Shows text from the file on one line, escaped and shortened, so a stray newline or a
/// pasted paragraph cannot garble the error message.
func quote(_ text: String) -> String {
    let limit = 40
    var result = "\""
    var count = 0
    for scalar in text.unicodeScalars {
        if count == limit {
            result += "..."
            break
        }
        count += 1
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += "\\u{\(hex(scalar.value, digits: 1))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
