import JSON
import Modbus
import Platform
import RegisterMaps

/// What a simulated device is.
public enum DeviceKind: String, Sendable, CaseIterable {
    /// A patient monitor (`patient-monitor` profile) serving a `PatientModel`.
    case monitor
    /// An infusion pump (`infusion-pump` profile) serving a `PumpModel`.
    case pump
    /// A test-pattern device (`TestPattern`) on the options' pattern profile.
    case pattern
}

/// `count` devices of one kind.
public struct DeviceGroup: Sendable, Equatable {
    public var kind: DeviceKind
    public var count: Int

    public init(_ kind: DeviceKind, count: Int) {
        self.kind = kind
        self.count = count
    }

    /// "monitor:32,pump:8,pattern" (a missing count is 1); nil if malformed.
    public static func parseList(_ text: String) -> [DeviceGroup]? {
        var groups: [DeviceGroup] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 1 || parts.count == 2 else { return nil }
            var kind: DeviceKind?
            for candidate in DeviceKind.allCases where candidate.rawValue == String(parts[0]) { kind = candidate }
            guard let kind else { return nil }
            var count = 1
            if parts.count == 2 {
                guard let number = Int(String(parts[1])), number >= 1 else { return nil }
                count = number
            }
            groups.append(DeviceGroup(kind, count: count))
        }
        return groups
    }
}

/// A scenario and the devices it plays on.
public struct ScenarioAssignment: Sendable, Equatable {
    public var scenario: Scenario
    /// Device numbers (1-based: TCP devices in order, then the RTU line's units in order);
    /// nil for every device the scenario concerns.
    public var devices: [Int]?

    public init(_ scenario: Scenario, devices: [Int]? = nil) {
        self.scenario = scenario
        self.devices = devices
    }

    /// "desaturation" or "desaturation@1,3-4"; nil if malformed.
    public static func parse(_ text: String) -> ScenarioAssignment? {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let scenario = Scenario.named(String(parts[0])) else { return nil }
        if parts.count == 1 { return ScenarioAssignment(scenario) }
        guard let devices = parseNumberList(String(parts[1])) else { return nil }
        return ScenarioAssignment(scenario, devices: devices)
    }
}

/// "1-8", "1,3,5-7": the numbers in order, each once; nil if malformed or descending.
public func parseNumberList(_ text: String) -> [Int]? {
    var numbers: [Int] = []
    for item in text.split(separator: ",", omittingEmptySubsequences: false) {
        let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 1 || bounds.count == 2,
              let low = Int(String(bounds[0])), let high = Int(String(bounds[bounds.count - 1])),
              low >= 0, low <= high, high - low < 100_000 else { return nil }
        for number in low...high where !numbers.contains(number) { numbers.append(number) }
    }
    return numbers.isEmpty ? nil : numbers
}

public struct SimulatorOptions {
    public var host = "127.0.0.1"
    /// The first TCP device listens here, the next on the port after, and so on.
    public var firstPort = 1502
    /// Devices served over Modbus TCP, one port each.
    public var tcpDevices: [DeviceGroup] = [DeviceGroup(.monitor, count: 1)]
    /// A serial line (or pty) to serve RTU devices on; nil for none.
    public var rtuDevice: String?
    public var rtuBaud = 19_200
    public var rtuParity: SerialParity = .even
    public var rtuDataBits = 8
    public var rtuStopBits = 1
    /// Unit ids on the RTU line, one device each.
    public var rtuUnits: [Int] = [1]
    /// Kinds on the RTU line, in unit order; empty: a monitor on every unit.
    public var rtuDevices: [DeviceGroup] = []
    public var seed: UInt64 = 1
    /// Real milliseconds per simulated second: 1000 is real time, 100 runs ten times faster.
    /// Registers change once per simulated second.
    public var updateIntervalMilliseconds = 1000
    public var nibpIntervalSeconds = 180
    public var scenarios: [ScenarioAssignment] = []
    public var timing = ScenarioTiming()
    /// The register map `pattern` devices serve.
    public var patternProfile = TestPattern.profile
    /// If set, every register update is appended here as one JSON line, so a test can
    /// compare what the agent published with what was served at that moment.
    public var servedLogPath: String?
    /// If set, every TCP device stamps this register with the time of each reply (for the
    /// throughput benchmark's read-to-subscriber latency; see `ReplyTimeRegister`).
    public var replyTimeRegister: ReplyTimeRegister?
    /// If set, every reply of a TCP device is appended here as one JSON line with the
    /// CLOCK_MONOTONIC time right before it was sent, so the alarm benchmark can time the agent
    /// from the read that carried a value (not only from the value's change) to its buzzer.
    public var replyLogPath: String?

    public init() {}

    /// Patient monitors over TCP: the skeleton's `--count`.
    public var deviceCount: Int {
        get {
            var total = 0
            for group in tcpDevices { total += group.count }
            return total
        }
        set { tcpDevices = [DeviceGroup(.monitor, count: newValue)] }
    }

    /// A built-in profile or the test pattern's, by name.
    public static func knownProfile(named name: String) -> DeviceProfile? {
        if name == TestPattern.profile.name { return TestPattern.profile }
        return BuiltinProfiles.named(name)
    }

    /// The kind of every RTU unit, in unit order.
    var rtuKinds: [DeviceKind] {
        if rtuDevice == nil { return [] }
        if rtuDevices.isEmpty { return [DeviceKind](repeating: .monitor, count: rtuUnits.count) }
        var kinds: [DeviceKind] = []
        for group in rtuDevices { kinds.append(contentsOf: repeatElement(group.kind, count: group.count)) }
        return kinds
    }

    /// Every device's kind, numbered from 1: TCP devices first, then the RTU units.
    public var deviceKinds: [DeviceKind] {
        var kinds: [DeviceKind] = []
        for group in tcpDevices { kinds.append(contentsOf: repeatElement(group.kind, count: group.count)) }
        return kinds + rtuKinds
    }

    /// What is wrong with these options, one message each; empty when they can run.
    public func problems() -> [String] {
        var problems: [String] = []
        let tcpCount = deviceCount
        let kinds = deviceKinds
        if kinds.isEmpty { problems.append("no devices to simulate") }
        if tcpCount > 0 && firstPort + tcpCount - 1 > 65_535 {
            problems.append("--port \(firstPort) + \(tcpCount) TCP devices goes past port 65535")
        }
        if rtuDevice != nil {
            for unit in rtuUnits where !(1...247).contains(unit) { problems.append("--units: unit id \(unit) is not in 1...247") }
            if !rtuDevices.isEmpty {
                var count = 0
                for group in rtuDevices { count += group.count }
                if count != rtuUnits.count {
                    problems.append("--rtu-devices lists \(count) device(s) for \(rtuUnits.count) unit id(s)")
                }
            }
        }
        // At most one patient or pump scenario per device (`unplugged` combines with any).
        var assigned = [Scenario?](repeating: nil, count: kinds.count)
        for assignment in scenarios {
            for number in assignment.devices ?? [] where number < 1 || number > kinds.count {
                problems.append("--scenario \(assignment.scenario.rawValue)@\(number): there are \(kinds.count) device(s), numbered from 1")
            }
            if assignment.scenario == .unplugged || assignment.scenario == .normal { continue }
            for number in 1...max(1, kinds.count) where number <= kinds.count && applies(assignment, to: number, kind: kinds[number - 1]) {
                if let earlier = assigned[number - 1], earlier != assignment.scenario {
                    problems.append("device \(number) would play both \(earlier.rawValue) and \(assignment.scenario.rawValue)")
                }
                assigned[number - 1] = assignment.scenario
            }
        }
        return problems
    }

    func applies(_ assignment: ScenarioAssignment, to number: Int, kind: DeviceKind) -> Bool {
        if let devices = assignment.devices { if !devices.contains(number) { return false } }
        switch kind {
        case .monitor: return assignment.scenario.concernsMonitors
        case .pump: return assignment.scenario.concernsPumps
        case .pattern: return assignment.scenario == .unplugged
        }
    }

    /// The patient or pump scenario device `number` plays, and whether it gets unplugged.
    func script(ofDevice number: Int, kind: DeviceKind) -> (scenario: Scenario, unplugged: Bool) {
        var scenario = Scenario.normal
        var unplugged = false
        for assignment in scenarios where applies(assignment, to: number, kind: kind) {
            if assignment.scenario == .unplugged { unplugged = true } else { scenario = assignment.scenario }
        }
        return (scenario, unplugged)
    }
}

/// A device's behaviour behind its registers.
enum DeviceModel {
    case monitor(PatientModel)
    case pump(PumpModel)
    case pattern

    mutating func advance() {
        switch self {
        case var .monitor(patient):
            patient.advance()
            self = .monitor(patient)
        case var .pump(pump):
            pump.advance()
            self = .pump(pump)
        case .pattern:
            break
        }
    }

    /// The value `point` serves: the model's value by point name, or for a status word the
    /// bits of its named flags (bit numbers from the profile); nil where the model has none.
    func value(for point: Point) -> Double? {
        switch self {
        case .pattern:
            return TestPattern.value(of: point)
        case let .monitor(patient):
            if !point.bitFields.isEmpty { return Self.statusWord(point) { patient.flag($0) } }
            return patient.value(of: point.name)
        case let .pump(pump):
            if !point.bitFields.isEmpty { return Self.statusWord(point) { pump.flag($0) } }
            return pump.value(of: point.name)
        }
    }

    static func statusWord(_ point: Point, flag: (String) -> Bool) -> Double {
        var word: UInt64 = 0
        for field in point.bitFields where field.bit >= 0 && field.bit < 64 && flag(field.name) {
            word |= UInt64(1) << UInt64(field.bit)
        }
        return Double(word) * point.scale + point.offset
    }
}

/// Serves simulated bedside devices (patient monitors, infusion pumps, test patterns) over
/// Modbus TCP, one port each, and over one Modbus RTU line with several unit ids, all from
/// one thread with one poll over every socket and the serial line.
public final class DeviceSimulator {
    enum Endpoint {
        case tcp(server: Int)
        case rtu(unit: Int)
    }

    struct Device {
        var number: Int
        var kind: DeviceKind
        var profile: DeviceProfile
        var model: DeviceModel
        var endpoint: Endpoint
        var bank: ModbusRegisterBank
        var unpluggable: Bool
        var isUnplugged = false
    }

    private let options: SimulatorOptions
    private let pool = ModbusServerPool()
    private var tcpServers: [ModbusTCPServer] = []
    private var rtuServer: ModbusRTUServer?
    private var devices: [Device] = []
    private var scratch = [UInt16](repeating: 0, count: 4)
    /// Simulated seconds since the start.
    public private(set) var elapsedSeconds = 0

    public init(options: SimulatorOptions) throws(ModbusError) {
        self.options = options
        if let problem = options.problems().first {
            throw ModbusError("simulator options: \(problem)", device: "simulator", code: Errno.invalidArgument.rawValue)
        }
        let kinds = options.deviceKinds
        let startUnixSeconds = wallClockMilliseconds() / 1000
        var tcpIndex = 0
        var rtuUnitIndex = 0
        let rtuKinds = options.rtuKinds
        if let path = options.rtuDevice, !rtuKinds.isEmpty {
            var size = 256
            for kind in rtuKinds { size = max(size, Self.tableSize(for: Self.profile(of: kind, options: options))) }
            let server = try ModbusRTUServer(device: path, baud: options.rtuBaud, parity: options.rtuParity,
                                             dataBits: options.rtuDataBits, stopBits: options.rtuStopBits,
                                             units: Array(options.rtuUnits.prefix(rtuKinds.count)),
                                             registers: size, bits: size)
            rtuServer = server
            pool.add(server)
        }
        for (offset, kind) in kinds.enumerated() {
            let number = offset + 1
            let profile = Self.profile(of: kind, options: options)
            let script = options.script(ofDevice: number, kind: kind)
            let seed = options.seed &+ UInt64(offset)
            let model: DeviceModel
            switch kind {
            case .monitor:
                model = .monitor(PatientModel(seed: seed, nibpIntervalSeconds: options.nibpIntervalSeconds,
                                              scenario: script.scenario, timing: options.timing,
                                              startUnixSeconds: startUnixSeconds))
            case .pump:
                model = .pump(PumpModel(seed: seed, scenario: script.scenario, timing: options.timing))
            case .pattern:
                model = .pattern
            }
            let endpoint: Endpoint
            let bank: ModbusRegisterBank
            if offset < kinds.count - rtuKinds.count {
                let size = Self.tableSize(for: profile)
                let server = try ModbusTCPServer(host: options.host, port: options.firstPort + tcpIndex,
                                                 registers: size, bits: size)
                server.replyTimeRegister = options.replyTimeRegister
                tcpServers.append(server)
                pool.add(server)
                endpoint = .tcp(server: tcpIndex)
                bank = server.registers
                tcpIndex += 1
            } else {
                let unit = options.rtuUnits[rtuUnitIndex]
                endpoint = .rtu(unit: unit)
                // The server was made with every unit of the line.
                bank = rtuServer!.registers(unit: unit)!
                rtuUnitIndex += 1
            }
            devices.append(Device(number: number, kind: kind, profile: profile, model: model, endpoint: endpoint,
                                  bank: bank, unpluggable: script.unplugged))
        }
        applyUnplugged()
        publishRegisters()
    }

    static func profile(of kind: DeviceKind, options: SimulatorOptions) -> DeviceProfile {
        switch kind {
        case .monitor: return BuiltinProfiles.patientMonitor
        case .pump: return BuiltinProfiles.infusionPump
        case .pattern: return options.patternProfile
        }
    }

    /// Registers (and bits) per table a profile needs, at least libmodbus's usual 256.
    static func tableSize(for profile: DeviceProfile) -> Int {
        var size = 256
        for point in profile.points { size = max(size, point.address + point.itemCount) }
        return min(size, 65_536)
    }

    // MARK: Running

    /// Serves until SIGINT or SIGTERM.
    public func run() {
        StopSignal.install()
        logDevices()
        run(until: { StopSignal.requested })
        log(.info, "simulator stopped")
    }

    /// Serves, stepping the models once per `updateIntervalMilliseconds`, until `shouldStop`
    /// returns true (checked at least every 50 ms).
    public func run(until shouldStop: () -> Bool) {
        let interval = max(1, options.updateIntervalMilliseconds)
        var nextStep = MonotonicInstant.now().adding(milliseconds: interval)
        while !shouldStop() {
            let now = MonotonicInstant.now()
            if now >= nextStep {
                step()
                nextStep = nextStep.adding(milliseconds: interval)
                // Far behind (a stopped process, a loaded machine): do not race to catch up.
                if MonotonicInstant.now().milliseconds(since: nextStep) > Int64(10 * interval) {
                    nextStep = MonotonicInstant.now().adding(milliseconds: interval)
                }
                continue
            }
            let wait = max(1, min(50, nextStep.milliseconds(since: now)))
            let answered = pool.serve(timeoutMilliseconds: Int32(wait))
            if answered > 0, options.replyLogPath != nil { logReplies() }
        }
    }

    private var loggedReplies: [MonotonicInstant?] = []

    /// Appends a line per TCP device that replied since the last call: {"mono_ns","device","port"}.
    private func logReplies() {
        guard let path = options.replyLogPath else { return }
        if loggedReplies.count != tcpServers.count { loggedReplies = [MonotonicInstant?](repeating: nil, count: tcpServers.count) }
        var lines = ""
        for device in devices {
            guard case let .tcp(index) = device.endpoint, let sent = tcpServers[index].lastReplySent,
                  sent != loggedReplies[index] else { continue }
            loggedReplies[index] = sent
            var json = JSONWriter()
            json.beginObject()
            json.member("mono_ns", sent.nanoseconds)
            json.member("device", device.number)
            json.member("port", tcpServers[index].port)
            json.endObject()
            lines += json.text + "\n"
        }
        if lines.isEmpty { return }
        do {
            try appendToFile(path, lines)
        } catch {
            log(.warning, "cannot write reply log: \(error.description)")
        }
    }

    /// Answers whatever requests are waiting, for at most `timeoutMilliseconds`.
    @discardableResult
    public func serve(timeoutMilliseconds: Int32) -> Int { pool.serve(timeoutMilliseconds: timeoutMilliseconds) }

    /// One simulated second: every model moves on, unplugged devices go or come back, and
    /// the registers (and the served log) are updated.
    public func step() {
        elapsedSeconds += 1
        for index in devices.indices { devices[index].model.advance() }
        applyUnplugged()
        publishRegisters()
    }

    // MARK: What tests and benchmarks look at

    public var deviceCount: Int { devices.count }

    /// Requests device `number` (1-based) answered.
    public func requestsAnswered(device number: Int) -> Int {
        guard number >= 1 && number <= devices.count else { return 0 }
        switch devices[number - 1].endpoint {
        case let .tcp(server): return tcpServers[server].requestsAnswered
        case let .rtu(unit): return rtuServer?.requestsAnswered(unit: unit) ?? 0
        }
    }

    /// Requests answered by every device together.
    public var requestsAnswered: Int { pool.requestsAnswered }

    /// TCP port of device `number`, nil for an RTU device.
    public func port(device number: Int) -> Int? {
        guard number >= 1 && number <= devices.count, case let .tcp(server) = devices[number - 1].endpoint else { return nil }
        return tcpServers[server].port
    }

    public func isUnplugged(device number: Int) -> Bool {
        number >= 1 && number <= devices.count && devices[number - 1].isUnplugged
    }

    // MARK: Internals

    private func applyUnplugged() {
        let away = options.timing.isUnplugged(atSecond: elapsedSeconds)
        for index in devices.indices where devices[index].unpluggable && devices[index].isUnplugged != away {
            devices[index].isUnplugged = away
            let device = devices[index]
            switch device.endpoint {
            case let .tcp(server):
                if away {
                    tcpServers[server].unplug()
                } else {
                    do {
                        try tcpServers[server].plugIn()
                    } catch {
                        log(.warning, "device \(device.number) cannot listen again: \(error.description)")
                        devices[index].isUnplugged = true
                        continue
                    }
                }
            case let .rtu(unit):
                rtuServer?.setSilent(away, unit: unit)
            }
            log(.info, "device \(device.number) (\(describe(device.endpoint))) "
                + (away ? "unplugged for \(options.timing.unpluggedSeconds) s" : "plugged in again"))
        }
    }

    private func publishRegisters() {
        let now = wallClockMilliseconds()
        let monotonic = MonotonicInstant.now().nanoseconds
        var logLines = ""
        let logging = options.servedLogPath != nil
        for device in devices {
            for point in device.profile.points {
                guard let value = device.model.value(for: point) else { continue }
                let count = point.itemCount
                if scratch.count < count { scratch = [UInt16](repeating: 0, count: count) }
                point.encode(value, into: &scratch, at: 0)
                for item in 0..<count { device.bank.set(point.function, point.address + item, scratch[item]) }
            }
            if logging { logLines += servedLine(device, time: now, monotonicNanoseconds: monotonic) + "\n" }
        }
        if let path = options.servedLogPath {
            do {
                try appendToFile(path, logLines)
            } catch {
                log(.warning, "cannot write served log: \(error.description)")
            }
        }
    }

    /// One served-log line: what every point of the device decodes to from its registers now.
    /// `mono_ns` (CLOCK_MONOTONIC, the same clock as the agent's) lets a test time the agent's
    /// reaction, e.g. from the first SpO2 below a limit to the buzzer's first edge.
    private func servedLine(_ device: Device, time: Int64, monotonicNanoseconds: Int64) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("t_ms", time)
        json.member("mono_ns", monotonicNanoseconds)
        json.member("device", device.number)
        switch device.endpoint {
        case let .tcp(server):
            json.member("port", tcpServers[server].port)
        case let .rtu(unit):
            json.member("rtu", options.rtuDevice ?? "")
            json.member("unit", unit)
        }
        if device.isUnplugged { json.member("unplugged", true) }
        json.key("values")
        json.beginObject()
        for point in device.profile.points {
            json.key(point.name)
            json.rawNumber(formatDecimal(readBack(point, from: device.bank), decimals: point.decimals))
        }
        json.endObject()
        json.endObject()
        return json.text
    }

    private func readBack(_ point: Point, from bank: ModbusRegisterBank) -> Double {
        let count = point.itemCount
        if scratch.count < count { scratch = [UInt16](repeating: 0, count: count) }
        for item in 0..<count { scratch[item] = bank.get(point.function, point.address + item) }
        return point.decode(scratch, at: 0)
    }

    private func describe(_ endpoint: Endpoint) -> String {
        switch endpoint {
        case let .tcp(server): return "\(options.host):\(tcpServers[server].port)"
        case let .rtu(unit): return "\(options.rtuDevice ?? "") unit \(unit)"
        }
    }

    private func logDevices() {
        var index = 0
        while index < devices.count {
            // One line per run of same-kind devices on the same transport.
            var end = index + 1
            while end < devices.count && devices[end].kind == devices[index].kind
                && isTCP(devices[end].endpoint) == isTCP(devices[index].endpoint) { end += 1 }
            let first = devices[index], last = devices[end - 1]
            let numbers = end - index == 1 ? "device \(first.number)" : "devices \(first.number)-\(last.number)"
            let place: String
            switch (first.endpoint, last.endpoint) {
            case let (.tcp(a), .tcp(b)):
                place = a == b ? "\(options.host):\(tcpServers[a].port)"
                    : "\(options.host):\(tcpServers[a].port)-\(tcpServers[b].port)"
            case let (.rtu(a), .rtu(b)):
                place = "RTU \(options.rtuDevice ?? "") \(options.rtuBaud) \(options.rtuDataBits)"
                    + "\(options.rtuParity.letter)\(options.rtuStopBits) unit" + (a == b ? " \(a)" : "s \(a)...\(b)")
            default:
                place = ""
            }
            let noun: String
            switch first.kind {
            case .monitor: noun = "patient monitor"
            case .pump: noun = "infusion pump"
            case .pattern: noun = "test-pattern device"
            }
            log(.info, "\(numbers): \(end - index) \(noun)\(end - index == 1 ? "" : "s") (\(first.profile.name)) on \(place)")
            index = end
        }
        for device in devices {
            let script = options.script(ofDevice: device.number, kind: device.kind)
            if script.scenario != .normal {
                log(.info, "device \(device.number): scenario \(script.scenario.rawValue) from second \(options.timing.onsetSeconds)")
            }
            if script.unplugged {
                log(.info, "device \(device.number): unplugged from second \(options.timing.unpluggedAfterSeconds)"
                    + " for \(options.timing.unpluggedSeconds) s")
            }
        }
        log(.info, "one simulated second every \(options.updateIntervalMilliseconds) ms")
    }

    private func isTCP(_ endpoint: Endpoint) -> Bool {
        if case .tcp = endpoint { return true }
        return false
    }
}
