import Foundation
import Testing
import TestSupport
import Modbus
import Platform
import RegisterMaps
import Simulator

/// `count` consecutive TCP ports on loopback that nothing listens on right now.
func freeLoopbackPortRange(count: Int) throws -> Int {
    for _ in 0..<50 {
        let base = Int.random(in: 20_000...(60_000 - count))
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        var allFree = true
        for port in base..<(base + count) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if result != 0 { allFree = false; break }
        }
        if allFree { return base }
    }
    throw TestFailure("no \(count) consecutive free ports on loopback")
}

/// A simulator running on its own thread until `stop()`.
final class RunningSimulator: @unchecked Sendable {
    let simulator: DeviceSimulator
    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(_ options: SimulatorOptions) throws {
        simulator = try DeviceSimulator(options: options)
        let thread = Thread { [self] in
            simulator.run(until: { self.lock.withLock { self.stopping } })
            finished.signal()
        }
        thread.start()
    }

    /// Stops the loop; after this the simulator may be inspected from the test's thread.
    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopping = true }
            return !stopping
        }
        if first { finished.wait() }
    }

    deinit { stop() }
}

/// What the agent does per cycle, without the agent: read every planned block of a profile
/// and decode every point.
func readAllPoints(_ client: ModbusClient, profile: DeviceProfile, blocks: [ReadBlock], unit: Int? = nil,
                   registers: inout [UInt16]) throws(ModbusError) -> [String: Double] {
    var values: [String: Double] = [:]
    for block in blocks {
        if let unit { try client.read(block, unit: unit, into: &registers) } else { try client.read(block, into: &registers) }
        for point in profile.points where block.contains(point) {
            values[point.name] = point.decode(registers, at: point.address - block.start)
        }
    }
    return values
}

/// The test pattern's raw value, from its documented table, written out again here so the
/// decoding tests do not take the simulator's word for it.
func expectedPatternRaw(_ type: PointType, _ a: Int) -> Double {
    let k = Double(a)
    switch type {
    case .bool: return a % 2 == 1 ? 1 : 0
    case .int16: return -(1000 + k)
    case .uint16: return 40_000 + k
    case .int32: return -(100_000 * (k + 1) + k)
    case .uint32: return 3_000_000_000 + k
    case .int64: return -(1_099_511_627_776 * (k + 1) + k)
    case .uint64: return 4_503_599_627_370_496 + k
    case .float32: return -(4 * k + 1.5)
    case .float64: return k + 0.1
    }
}

/// The registers a value's big-endian bytes A B C D ... occupy on the wire in `order`,
/// straight from the definition (cdab/dcba reverse the registers, badc/dcba swap each one's bytes).
func wireRegisters(bigEndianBytes bytes: [UInt8], order: WordOrder) -> [UInt16] {
    var registers: [UInt16] = stride(from: 0, to: bytes.count, by: 2).map { index in
        order == .badc || order == .dcba ? UInt16(bytes[index + 1]) << 8 | UInt16(bytes[index])
                                         : UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
    }
    if order == .cdab || order == .dcba { registers.reverse() }
    return registers
}

func bigEndianBytes(of value: Double, type: PointType) -> [UInt8] {
    let bits: UInt64
    switch type {
    case .int16: bits = UInt64(UInt16(bitPattern: Int16(value)))
    case .uint16, .bool: bits = UInt64(UInt16(value))
    case .int32: bits = UInt64(UInt32(bitPattern: Int32(value)))
    case .uint32: bits = UInt64(UInt32(value))
    case .int64: bits = UInt64(bitPattern: Int64(value))
    case .uint64: bits = UInt64(value)
    case .float32: bits = UInt64(Float(value).bitPattern)
    case .float64: bits = value.bitPattern
    }
    let width = type.width * 2
    return (0..<width).map { UInt8(truncatingIfNeeded: bits >> UInt64(8 * (width - 1 - $0))) }
}

@Suite(.serialized)
struct SimulatorTests {
    /// 32 monitors and 8 pumps on 40 ports, one poll loop: every device answers with its own
    /// profile's values, and each sees exactly the planned number of requests per cycle.
    @Test func fortyDevicesOverTCPAllAnswerWithPlannedRequestCounts() throws {
        let base = try freeLoopbackPortRange(count: 40)
        var options = SimulatorOptions()
        options.firstPort = base
        options.tcpDevices = [DeviceGroup(.monitor, count: 32), DeviceGroup(.pump, count: 8)]
        options.seed = 40
        let running = try RunningSimulator(options)
        defer { running.stop() }

        let cycles = 3
        let monitorBlocks = planReads(BuiltinProfiles.patientMonitor)
        let pumpBlocks = planReads(BuiltinProfiles.infusionPump)
        // Without the profile's bridged gap the pump takes two requests per cycle.
        let uncoalescedPumpBlocks = planReads(BuiltinProfiles.infusionPump.points, largestGap: 0)
        #expect(monitorBlocks.count == 1 && pumpBlocks.count == 1 && uncoalescedPumpBlocks.count == 2)

        var clients: [ModbusClient] = []
        for index in 0..<40 {
            let client = try ModbusClient(tcpHost: "127.0.0.1", port: base + index, unitID: 1, responseTimeoutMilliseconds: 2000)
            try client.connect()
            clients.append(client)
        }
        var registers = [UInt16](repeating: 0, count: 125)
        let started = Date()
        for _ in 0..<cycles {
            for (index, client) in clients.enumerated() {
                let isPump = index >= 32
                let profile = isPump ? BuiltinProfiles.infusionPump : BuiltinProfiles.patientMonitor
                let blocks = isPump ? (index == 39 ? uncoalescedPumpBlocks : pumpBlocks) : monitorBlocks
                let values = try readAllPoints(client, profile: profile, blocks: blocks, registers: &registers)
                #expect(values.count == profile.points.count, "device \(index + 1)")
                for point in profile.points {
                    let value = values[point.name] ?? .nan
                    #expect(point.isInRange(value), "device \(index + 1) \(point.name) = \(value)")
                }
                if isPump {
                    #expect(values["state"] == 1, "pump \(index + 1) runs")
                } else {
                    #expect((93...100).contains(values["spo2"] ?? 0), "monitor \(index + 1)")
                    #expect(values["nibp_time"].map { $0 > 1_700_000_000 } == true)
                }
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        running.stop()
        let simulator = running.simulator
        #expect(simulator.deviceCount == 40)
        for number in 1...40 {
            let expected = cycles * (number <= 32 ? monitorBlocks.count : number == 40 ? uncoalescedPumpBlocks.count : pumpBlocks.count)
            #expect(simulator.requestsAnswered(device: number) == expected, "device \(number)")
        }
        #expect(simulator.requestsAnswered == cycles * (32 + 7 + 2))
        print("40 devices x \(cycles) cycles over TCP: \(String(format: "%.3f", elapsed)) s")
    }

    /// Every register type in every word order, over TCP and over RTU: the raw registers match
    /// the byte layout computed here from the definition, and decoding gives the documented values.
    @Test func thePatternDecodesToIndependentlyComputedValuesOverTCPAndRTU() throws {
        let pair = try PtyPair()
        defer { pair.stop() }
        let port = freeLoopbackPort()
        var options = SimulatorOptions()
        options.firstPort = port
        options.tcpDevices = [DeviceGroup(.pattern, count: 1)]
        options.rtuDevice = pair.serverEnd
        options.rtuUnits = [3, 9]
        options.rtuDevices = [DeviceGroup(.pattern, count: 1), DeviceGroup(.monitor, count: 1)]
        let running = try RunningSimulator(options)
        defer { running.stop() }

        let tcp = try ModbusClient(tcpHost: "127.0.0.1", port: port, unitID: 1, responseTimeoutMilliseconds: 2000)
        try tcp.connect()
        let rtu = try ModbusClient(serialDevice: pair.clientEnd, baud: 19_200, parity: .even, dataBits: 8, stopBits: 1,
                                   unitID: 3, responseTimeoutMilliseconds: 1000)
        try rtu.connect()
        let profile = TestPattern.profile
        let blocks = planReads(profile)
        var registers = [UInt16](repeating: 0, count: 125)
        for (transport, client) in [("tcp", tcp), ("rtu", rtu)] {
            var checked = 0
            for block in blocks {
                try client.read(block, into: &registers)
                for point in profile.points where block.contains(point) {
                    let offset = point.address - block.start
                    let type: PointType = point.function.isBitTable ? .bool : point.type
                    let expected = expectedPatternRaw(type, point.address) * point.scale + point.offset
                    let decoded = point.decode(registers, at: offset)
                    if point.scale == 1 && point.offset == 0 {
                        #expect(decoded == expected, "\(transport) \(point.name): \(decoded) != \(expected)")
                    } else {
                        #expect(abs(decoded - expected) < 1e-9 * max(1, abs(expected)), "\(transport) \(point.name)")
                    }
                    if !point.function.isBitTable && type != .bool {
                        let wire = wireRegisters(bigEndianBytes: bigEndianBytes(of: expectedPatternRaw(type, point.address), type: type),
                                                 order: point.wordOrder)
                        #expect(Array(registers[offset..<(offset + type.width)]) == wire, "\(transport) \(point.name) on the wire")
                    }
                    checked += 1
                }
            }
            #expect(checked == profile.points.count)
        }
        // The other unit on the same line is a monitor with its own values.
        let monitor = try readAllPoints(rtu, profile: BuiltinProfiles.patientMonitor,
                                        blocks: planReads(BuiltinProfiles.patientMonitor), unit: 9, registers: &registers)
        #expect((93...100).contains(monitor["spo2"] ?? 0))
        running.stop()
        #expect(running.simulator.requestsAnswered(device: 1) == blocks.count)
        #expect(running.simulator.requestsAnswered(device: 2) == blocks.count)
        #expect(running.simulator.requestsAnswered(device: 3) == 1)
    }

    /// `unplugged` over TCP and over RTU: the device stops answering for its window and comes
    /// back without anyone reconnecting by hand; its neighbours answer throughout.
    @Test func anUnpluggedDeviceStopsAnsweringAndRecovers() throws {
        let pair = try PtyPair()
        defer { pair.stop() }
        let base = try freeLoopbackPortRange(count: 2)
        var options = SimulatorOptions()
        options.firstPort = base
        options.tcpDevices = [DeviceGroup(.monitor, count: 2)]
        options.rtuDevice = pair.serverEnd
        options.rtuUnits = [1, 2]
        options.rtuDevices = [DeviceGroup(.pump, count: 2)]
        // Ten simulated seconds a real second: away from 1.0 s to 2.0 s.
        options.updateIntervalMilliseconds = 100
        options.timing = ScenarioTiming(onsetSeconds: 0, unpluggedAfterSeconds: 10, unpluggedSeconds: 10)
        options.scenarios = [ScenarioAssignment(.unplugged, devices: [2, 4])]
        let running = try RunningSimulator(options)
        defer { running.stop() }

        let steady = try ModbusClient(tcpHost: "127.0.0.1", port: base, unitID: 1, responseTimeoutMilliseconds: 300)
        let tcp = try ModbusClient(tcpHost: "127.0.0.1", port: base + 1, unitID: 1, responseTimeoutMilliseconds: 300)
        let line = try ModbusClient(serialDevice: pair.clientEnd, baud: 19_200, parity: .even, dataBits: 8, stopBits: 1,
                                    unitID: 1, responseTimeoutMilliseconds: 150)
        try line.connect()
        var registers = [UInt16](repeating: 0, count: 125)
        let monitorBlock = planReads(BuiltinProfiles.patientMonitor)[0]
        let pumpBlock = planReads(BuiltinProfiles.infusionPump)[0]
        // A timeline per device: answered or not, every 50 ms for 3.5 s.
        var timelines: [String: [Bool]] = ["steady": [], "tcp": [], "rtu1": [], "rtu2": []]
        var kinds: [ModbusFailureKind] = []
        let end = Date().addingTimeInterval(3.5)
        while Date() < end {
            for (name, attempt) in [
                ("steady", { () throws(ModbusError) in try steady.connect(); try steady.read(monitorBlock, into: &registers) }),
                ("tcp", { () throws(ModbusError) in try tcp.connect(); try tcp.read(monitorBlock, into: &registers) }),
                ("rtu1", { () throws(ModbusError) in try line.read(pumpBlock, unit: 1, into: &registers) }),
                ("rtu2", { () throws(ModbusError) in try line.read(pumpBlock, unit: 2, into: &registers) }),
            ] as [(String, () throws(ModbusError) -> Void)] {
                do throws(ModbusError) {
                    try attempt()
                    timelines[name]!.append(true)
                } catch {
                    timelines[name]!.append(false)
                    if name == "tcp" || name == "rtu2" { kinds.append(error.kind) } else { Issue.record("\(name): \(error.description)") }
                }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        // Answered, then a run of silence, then answered again.
        for name in ["tcp", "rtu2"] {
            let timeline = timelines[name]!
            let firstLoss = timeline.firstIndex(of: false)
            let recovered = firstLoss.flatMap { loss in timeline[loss...].firstIndex(of: true) }
            #expect(timeline.first == true, "\(name) answers before the unplug: \(timeline)")
            #expect(firstLoss != nil && recovered != nil, "\(name) went away and came back: \(timeline)")
            #expect(timeline.last == true, "\(name) answers at the end: \(timeline)")
            #expect(timeline.filter { !$0 }.count >= 3, "\(name): \(timeline)")
        }
        #expect(timelines["steady"]!.allSatisfy { $0 } && timelines["rtu1"]!.allSatisfy { $0 })
        #expect(kinds.allSatisfy { $0 == .connection || $0 == .timeout }, "\(kinds)")
        #expect(kinds.contains(.connection), "TCP refuses while unplugged: \(kinds)")
    }

    /// The command line: `simulate` with a mix of devices and a scenario, as a process; the
    /// served log carries what each device served.
    @Test func theCommandLineServesAMixAndLogsWhatItServed() throws {
        let directory = try temporaryDirectory("simulate")
        let pair = try PtyPair()
        defer { pair.stop() }
        let base = try freeLoopbackPortRange(count: 3)
        let servedLog = directory.appendingPathComponent("served.jsonl").path
        let process = try ChildProcess(
            name: "simulator",
            command: [simulatorBinary(), "--devices", "monitor:2,pump", "--port", String(base),
                      "--rtu", pair.serverEnd, "--units", "5-6", "--rtu-devices", "pump,monitor",
                      "--scenario", "desaturation@1", "--scenario", "occlusion@3", "--scenario", "unplugged@2",
                      "--unplugged-after-s", "1000", "--update-ms", "100", "--served-log", servedLog],
            directory: directory)
        defer { process.stop() }
        #expect(waitForListener(port: base + 2), "simulator did not listen: \(process.output)")
        // Simulated time: at ten simulated seconds per real second (update 100 ms), four seconds
        // bring the scenarios to the 40 s the checks below are written for.
        Thread.sleep(forTimeInterval: 4.0)

        var registers = [UInt16](repeating: 0, count: 125)
        let monitor = try ModbusClient(tcpHost: "127.0.0.1", port: base, unitID: 1, responseTimeoutMilliseconds: 1000)
        try monitor.connect()
        let values = try readAllPoints(monitor, profile: BuiltinProfiles.patientMonitor,
                                       blocks: planReads(BuiltinProfiles.patientMonitor), registers: &registers)
        // 40 simulated seconds in: desaturated to 85, and the monitor alarms.
        #expect(values["spo2"] == 85, "\(values)")
        #expect(values["device_status"].map { Int($0) & 1 == 1 } == true, "\(values)")
        let pump = try ModbusClient(tcpHost: "127.0.0.1", port: base + 2, unitID: 1, responseTimeoutMilliseconds: 1000)
        try pump.connect()
        let pumpValues = try readAllPoints(pump, profile: BuiltinProfiles.infusionPump,
                                           blocks: planReads(BuiltinProfiles.infusionPump), registers: &registers)
        #expect(pumpValues["state"] == 2 && pumpValues["pump_status"] == 1 && pumpValues["rate"] == 0, "\(pumpValues)")
        let line = try ModbusClient(serialDevice: pair.clientEnd, baud: 19_200, parity: .even, dataBits: 8, stopBits: 1,
                                    unitID: 5, responseTimeoutMilliseconds: 1000)
        try line.connect()
        let rtuPump = try readAllPoints(line, profile: BuiltinProfiles.infusionPump,
                                        blocks: planReads(BuiltinProfiles.infusionPump), unit: 5, registers: &registers)
        #expect(rtuPump["state"] == 1 && (rtuPump["volume_infused"] ?? 0) > 0, "\(rtuPump)")
        let rtuMonitor = try readAllPoints(line, profile: BuiltinProfiles.patientMonitor,
                                           blocks: planReads(BuiltinProfiles.patientMonitor), unit: 6, registers: &registers)
        #expect((93...100).contains(rtuMonitor["spo2"] ?? 0), "\(rtuMonitor)")
        #expect(process.stop() == 0, "\(process.output)")

        let output = process.output
        #expect(output.contains("devices 1-2: 2 patient monitors (patient-monitor) on 127.0.0.1:\(base)-\(base + 1)"), "\(output)")
        #expect(output.contains("device 5: 1 patient monitor (patient-monitor) on RTU \(pair.serverEnd) 19200 8E1 unit 6"), "\(output)")
        #expect(output.contains("device 3: scenario occlusion"), "\(output)")
        let lines = try String(contentsOfFile: servedLog, encoding: .utf8).split(separator: "\n")
        var ports = Set<Int>(), units = Set<Int>()
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["t_ms"] is NSNumber && object["values"] is [String: NSNumber], "\(line)")
            if let port = object["port"] as? Int { ports.insert(port) }
            if let unit = object["unit"] as? Int {
                units.insert(unit)
                #expect(object["rtu"] as? String == pair.serverEnd)
            }
        }
        #expect(ports == [base, base + 1, base + 2] && units == [5, 6])
    }

    /// The benchmarks' options: a line per reply with the CLOCK_MONOTONIC time it was sent (the
    /// alarm benchmark's read time), and a register stamped with the wall-clock time of each
    /// reply (the throughput benchmark's read time).
    @Test func repliesAreLoggedAndStampedForTheBenchmarks() throws {
        let directory = try temporaryDirectory("simulate-replies")
        let port = try freeLoopbackPortRange(count: 1)
        let replyLog = directory.appendingPathComponent("replies.jsonl").path
        let process = try ChildProcess(
            name: "simulator",
            command: [simulatorBinary(), "--devices", "pattern", "--port", String(port), "--reply-log", replyLog,
                      "--reply-time-register", "input:1"],
            directory: directory)
        defer { process.stop() }
        #expect(waitForListener(port: port), "simulator did not listen: \(process.output)")
        let client = try ModbusClient(tcpHost: "127.0.0.1", port: port, unitID: 1, responseTimeoutMilliseconds: 1000)
        try client.connect()
        var registers: [UInt16] = []
        var windows: [(MonotonicInstant, MonotonicInstant)] = []
        for _ in 0..<3 {
            let before = MonotonicInstant.now(), stampBefore = ReplyTimeRegister.stampNow()
            try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 2), into: &registers)
            let after = MonotonicInstant.now()
            windows.append((before, after))
            #expect(registers[1] &- stampBefore < 20_000, "stamp \(registers[1]) is not the reply's time (\(stampBefore) before)")
        }
        #expect(waitUntil(timeout: 5) {
            ((try? String(contentsOfFile: replyLog, encoding: .utf8)) ?? "").split(separator: "\n").count >= 3
        }, "reply log: \((try? String(contentsOfFile: replyLog, encoding: .utf8)) ?? "missing")")
        let lines = try String(contentsOfFile: replyLog, encoding: .utf8).split(separator: "\n")
        for (line, window) in zip(lines, windows) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let sent = try #require((object["mono_ns"] as? NSNumber)?.int64Value)
            #expect(sent >= window.0.nanoseconds && sent <= window.1.nanoseconds, "\(line) outside its read")
            #expect(object["device"] as? Int == 1 && object["port"] as? Int == port, "\(line)")
        }
    }

    @Test func badCommandLinesAreRefusedWithTheReason() throws {
        let cases: [([String], String)] = [
            (["--devices", "ventilator:2"], "--devices 'ventilator:2'"),
            (["--scenario", "sneeze"], "--scenario 'sneeze'"),
            (["--devices", "monitor:2", "--scenario", "unplugged@3"], "there are 2 device(s)"),
            (["--rtu", "/dev/null", "--units", "1-3", "--rtu-devices", "pump"], "1 device(s) for 3 unit id(s)"),
            (["--parity", "X"], "--parity 'X'"),
            (["--units", "5-1"], "--units '5-1'"),
        ]
        for (arguments, message) in cases {
            let result = try runToCompletion([simulatorBinary()] + arguments, timeout: 20)
            #expect(result.status == 2, "\(arguments): \(result.output)")
            #expect(result.output.contains(message), "\(arguments): \(result.output)")
        }
    }
}
