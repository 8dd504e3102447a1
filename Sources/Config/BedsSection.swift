import Acquisition
import Alarms
import HL7
import Modbus
import Profiles
import RegisterMaps
import YAMLReader

/// `beds:` and their devices: ids, profiles, how each device is reached, and the serial lines they share.
extension ConfigDecoder {
    /// `alarmDefaults`: the box-wide alarm settings, nil when they had errors.
    func decodeBeds(_ field: Field, alarmDefaults: BedAlarmSettings?) -> [BedConfig]? {
        guard let items = sequence(field, expected: "a list of beds", emptyMessage: "the list is empty; add at least one bed")
        else { return nil }
        var beds: [BedConfig] = []
        var complete = true
        for item in items {
            if let bed = decodeBed(item, alarmDefaults: alarmDefaults) { beds.append(bed) } else { complete = false }
        }
        return complete ? beds : nil
    }

    func decodeBed(_ field: Field, alarmDefaults: BedAlarmSettings?) -> BedConfig? {
        guard let bed = mapping(field, expected: "a mapping with the bed's id and devices",
                                allowedKeys: ["id", "alarms", "devices", "location"])
        else { return nil }
        let id = required(bed, "id").flatMap { idField in
            self.id(idField).flatMap {
                unique($0, idField, owner: field.path, among: &bedIDs, what: "bed id", scope: "among the beds")
            }
        }
        let alarms = decodeBedAlarms(bed.optional("alarms"), base: alarmDefaults)
        let devices = required(bed, "devices").flatMap { decodeDevices($0) }
        let location = decodeBedLocation(bed.optional("location"), bedID: id ?? "")
        guard let id, let devices, let alarms, let location else { return nil }
        return BedConfig(id: id, devices: devices, alarms: alarms, location: location)
    }

    func decodeDevices(_ field: Field) -> [DeviceSettings]? {
        guard let items = sequence(field, expected: "a list of devices",
                                   emptyMessage: "the list is empty; add at least one device")
        else { return nil }
        var devices: [DeviceSettings] = []
        var complete = true
        for item in items {
            if let device = decodeDevice(item) { devices.append(device) } else { complete = false }
        }
        return complete ? devices : nil
    }

    func decodeDevice(_ field: Field) -> DeviceSettings? {
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
        return DeviceSettings(id: id, profile: profile, endpoint: endpoint, unitID: unitID,
                            responseTimeoutMilliseconds: timeout, byteTimeoutMilliseconds: byteTimeout)
    }

    /// Exactly one of `tcp` and `rtu`.
    func decodeTransport(_ device: MappingFields) -> DeviceEndpoint? {
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

    func decodeRTU(_ field: Field) -> DeviceEndpoint? {
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

    /// Devices sharing a serial line must agree on its settings and use distinct unit ids (1...247).
    func checkSerialBus(_ line: SerialLineSettings, unitID: Int, device: MappingFields, owner: String) -> Bool {
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

    func decodeTCP(_ field: Field) -> DeviceEndpoint? {
        guard let tcp = mapping(field, expected: "a mapping with the device's host and port", allowedKeys: ["host", "port"])
        else { return nil }
        let host = required(tcp, "host").flatMap { self.host($0) }
        let port = optionalInteger(tcp, "port", in: 1...65535, default: 502)
        guard let host, let port else { return nil }
        return .tcp(host: host, port: port)
    }


    func profile(_ field: Field) -> String? {
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
}
