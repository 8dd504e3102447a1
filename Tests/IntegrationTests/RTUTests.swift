import AllocationCounter
import Foundation
import Testing
import TestSupport
import Modbus
import RegisterMaps

/// A pair of connected pseudo-terminals from socat: what one side writes, the other reads,
/// like the two ends of an RS-485 pair.
final class PtyPair {
    let process = Process()
    let directory: URL
    let serverEnd: String
    let clientEnd: String

    init() throws {
        directory = try temporaryDirectory("pty")
        serverEnd = directory.appendingPathComponent("server").path
        clientEnd = directory.appendingPathComponent("client").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
        process.arguments = ["-d", "-d", "pty,raw,echo=0,link=\(serverEnd)", "pty,raw,echo=0,link=\(clientEnd)"]
        let log = directory.appendingPathComponent("socat.log").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: serverEnd) && FileManager.default.fileExists(atPath: clientEnd) { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        stop()
        throw TestFailure("socat did not create both ptys: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    /// SIGKILL, not SIGTERM: Foundation's Process starts children with the parent's signal
    /// mask, in which SIGTERM is blocked here, so socat would never see a SIGTERM.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Runs `step` over and over on its own thread until `stop()`: a server's serve loop.
final class LoopThread: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private let finished = DispatchSemaphore(value: 0)

    init(_ step: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            while lock.withLock({ running }) { step() }
            finished.signal()
        }
        thread.start()
    }

    func stop() {
        let wasRunning = lock.withLock { () -> Bool in
            let was = running
            running = false
            return was
        }
        if wasRunning { finished.wait() }
    }

    deinit { stop() }
}

/// The Modbus CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF), low byte first on the wire.
func modbusCRC(_ bytes: [UInt8]) -> [UInt8] {
    var crc: UInt16 = 0xFFFF
    for byte in bytes {
        crc ^= UInt16(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
    }
    return [UInt8(crc & 0xFF), UInt8(crc >> 8)]
}

/// Modbus RTU between libmodbus's client and our multi-unit RTU server over a socat pty pair.
@Suite(.serialized)
struct RTUTests {
    static let units = [1, 2, 7]

    /// A server on the pair's server end serving `units`, each with its own values:
    /// input register a of unit u holds u * 1000 + a, holding register a holds 0xB000 + u * 16 + a,
    /// discrete input a is set when (a + u) is odd.
    static func startServer(on pair: PtyPair, units: [Int] = units) throws -> (ModbusRTUServer, LoopThread) {
        let server = try ModbusRTUServer(device: pair.serverEnd, baud: 19_200, parity: .even, units: units)
        for unit in units {
            let bank = try #require(server.registers(unit: unit))
            for address in 0..<32 {
                bank.set(.inputRegisters, address, UInt16(unit * 1000 + address))
                bank.set(.holdingRegisters, address, UInt16(0xB000 + unit * 16 + address))
                bank.set(.discreteInputs, address, UInt16((address + unit) % 2))
            }
        }
        nonisolated(unsafe) let served = server
        let loop = LoopThread { served.serve(timeoutMilliseconds: 10) }
        return (server, loop)
    }

    static func client(on pair: PtyPair, unitID: Int = 1, timeout: Int = 300, rs485: RS485Settings? = nil) throws -> ModbusClient {
        try ModbusClient(serialDevice: pair.clientEnd, baud: 19_200, parity: .even, dataBits: 8, stopBits: 1,
                         rs485: rs485, unitID: unitID, responseTimeoutMilliseconds: timeout,
                         byteTimeoutMilliseconds: 50)
    }

    @Test func eachUnitOnTheLineAnswersWithItsOwnValues() throws {
        let pair = try PtyPair()
        defer { pair.stop() }
        let (server, loop) = try Self.startServer(on: pair)
        defer { loop.stop() }
        let client = try Self.client(on: pair)
        try client.connect()
        #expect(client.transport == .rtu)
        var registers = [UInt16](repeating: 0, count: 125)
        var reads = 0
        for round in 0..<3 {
            for unit in Self.units {
                try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 10), unit: unit, into: &registers)
                #expect(Array(registers[0..<10]) == (0..<10).map { UInt16(unit * 1000 + $0) }, "unit \(unit) round \(round)")
                try client.read(ReadBlock(function: .holdingRegisters, start: 5, count: 3), unit: unit, into: &registers)
                #expect(Array(registers[0..<3]) == (5..<8).map { UInt16(0xB000 + unit * 16 + $0) }, "unit \(unit)")
                try client.read(ReadBlock(function: .discreteInputs, start: 0, count: 9), unit: unit, into: &registers)
                #expect(Array(registers[0..<9]) == (0..<9).map { UInt16(($0 + unit) % 2) }, "unit \(unit)")
                reads += 3
            }
        }
        // The default unit, without naming it.
        try client.read(ReadBlock(function: .inputRegisters, start: 3, count: 1), into: &registers)
        #expect(registers[0] == 1003)
        reads += 1
        loop.stop()
        #expect(server.requestsAnswered == reads)
        #expect(server.requestsForOtherUnits == 0)
        #expect(server.bytesDiscarded == 0)
    }

    @Test func aMissingUnitTimesOutWithoutDisturbingTheOthers() throws {
        let pair = try PtyPair()
        defer { pair.stop() }
        let (server, loop) = try Self.startServer(on: pair)
        defer { loop.stop() }
        let client = try Self.client(on: pair, timeout: 200)
        try client.connect()
        var registers = [UInt16](repeating: 0, count: 125)
        let block = ReadBlock(function: .inputRegisters, start: 0, count: 4)
        for round in 0..<3 {
            let started = Date()
            do {
                try client.read(block, unit: 5, into: &registers)
                Issue.record("unit 5 is not on the line and must not answer")
            } catch {
                #expect(error.kind == .timeout, "\(error.description)")
                #expect(error.description.contains("unit 5"), "\(error.description)")
            }
            #expect(Date().timeIntervalSince(started) < 2, "a missing unit costs one response timeout")
            #expect(client.isConnected, "a timeout on one unit keeps the shared line open")
            for unit in Self.units {
                try client.read(block, unit: unit, into: &registers)
                #expect(registers[0] == UInt16(unit * 1000) && registers[3] == UInt16(unit * 1000 + 3), "unit \(unit) round \(round)")
            }
        }
        loop.stop()
        #expect(server.requestsForOtherUnits == 3)
        #expect(server.requestsAnswered == 9)
    }

    @Test func aReadPastTheMapIsAnExceptionFromThatUnit() throws {
        let pair = try PtyPair()
        defer { pair.stop() }
        let (_, loop) = try Self.startServer(on: pair)
        defer { loop.stop() }
        let client = try Self.client(on: pair)
        try client.connect()
        var registers: [UInt16] = []
        do {
            try client.read(ReadBlock(function: .inputRegisters, start: 250, count: 20), unit: 2, into: &registers)
            Issue.record("a read beyond the 256-register map must fail")
        } catch {
            #expect(error.kind == .exception(code: 2), "\(error.description)")
        }
        try client.read(ReadBlock(function: .inputRegisters, start: 1, count: 1), unit: 2, into: &registers)
        #expect(registers[0] == 2001)
    }

    /// A device that answers with rubbish: random bytes, a reply with a broken CRC, a
    /// well-formed reply from the wrong unit, a truncated reply. Each read fails with a
    /// malformed-reply or timeout error, and the same client then reads the real server.
    @Test func garbageRepliesAreErrorsNeverACrashAndTheLineRecovers() throws {
        let pair = try PtyPair()
        defer { pair.stop() }
        let client = try Self.client(on: pair, timeout: 300)
        try client.connect()

        let fd = open(pair.serverEnd, O_RDWR | O_NOCTTY)
        try #require(fd >= 0)
        let replies: [[UInt8]] = {
            var random = SystemRandomNumberGenerator()
            let noise = (0..<40).map { _ in UInt8.random(in: 0...255, using: &random) }
            let good: [UInt8] = [0x01, 0x04, 0x04, 0x00, 0x61, 0x00, 0x48]
            var badCRC = good + modbusCRC(good)
            badCRC[badCRC.count - 1] ^= 0xFF
            let otherUnit: [UInt8] = [0x09, 0x04, 0x04, 0x00, 0x61, 0x00, 0x48]
            let wrongCount: [UInt8] = [0x01, 0x04, 0x02, 0x00, 0x61]
            return [noise, badCRC, otherUnit + modbusCRC(otherUnit), Array(good.prefix(5)),
                    wrongCount + modbusCRC(wrongCount), [0x01, 0x84] + [0xFF] + modbusCRC([0x01, 0x84, 0xFF])]
        }()
        // The fake device: for each request it reads, it writes the next garbage reply.
        nonisolated(unsafe) var index = 0
        let fake = LoopThread {
            var pollEntry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollEntry, 1, 10) > 0 else { return }
            var request = [UInt8](repeating: 0, count: 256)
            let count = read(fd, &request, request.count)
            guard count > 0, index < replies.count else { return }
            // A device's turnaround time before it answers.
            Thread.sleep(forTimeInterval: 0.005)
            _ = replies[index].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            index += 1
        }
        var registers = [UInt16](repeating: 0, count: 125)
        var kinds: [ModbusFailureKind] = []
        for _ in replies.indices {
            do {
                try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 2), unit: 1, into: &registers)
                Issue.record("a garbage reply must not read as values \(registers[0]), \(registers[1])")
            } catch {
                kinds.append(error.kind)
                #expect(error.kind == .malformedReply || error.kind == .timeout || error.kind == .exception(code: 0xFF) || error.kind == .other,
                        "\(error.description)")
            }
            // Let late garbage bytes arrive before the next request (they are flushed then): a
            // quiet line has no event to wait for, so this is a fixed window.
            Thread.sleep(forTimeInterval: 0.05)
        }
        fake.stop()
        close(fd)
        #expect(kinds.contains(.malformedReply), "kinds seen: \(kinds)")

        // The real server on the same line: the same open client reads correct values.
        let (server, loop) = try Self.startServer(on: pair)
        defer { loop.stop() }
        #expect(client.isConnected)
        var answered = false
        for _ in 0..<3 where !answered {
            do {
                try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 2), unit: 7, into: &registers)
                answered = true
            } catch {
                // A stray byte from the fake may still have been in the line; one retry is fair.
            }
        }
        #expect(answered)
        #expect(registers[0] == 7000 && registers[1] == 7001)
        _ = server
    }

    /// Noise written onto the line towards the server: it resynchronises on the next valid
    /// frame (noise immediately followed by a request) or drops it after the inter-frame gap.
    @Test func noiseOnTheLineDoesNotConfuseTheServer() throws {
        let pair = try PtyPair()
        defer { pair.stop() }
        let (server, loop) = try Self.startServer(on: pair)
        defer { loop.stop() }
        let client = try Self.client(on: pair)
        try client.connect()
        // A second writer on the client's end, like a babbling device on the bus.
        let noise = open(pair.clientEnd, O_RDWR | O_NOCTTY)
        try #require(noise >= 0)
        defer { close(noise) }
        var registers = [UInt16](repeating: 0, count: 125)
        let patterns: [[UInt8]] = [[0x00], [0x01, 0x03], [0x02, 0x10, 0x00, 0x00, 0x00, 0x02, 0x04], [0xFF, 0xFF, 0xFF], [0x07, 0x04, 0x00]]
        var failures = 0
        for (round, pattern) in patterns.enumerated() {
            _ = pattern.withUnsafeBytes { write(noise, $0.baseAddress, $0.count) }
            if round % 2 == 0 { Thread.sleep(forTimeInterval: 0.1) } // a silence longer than the gap
            do {
                try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 3), unit: 2, into: &registers)
                #expect(Array(registers[0..<3]) == [2000, 2001, 2002])
            } catch {
                // A partial frame of noise right before the request can swallow it (a real
                // bus loses that request too); the server must recover by the next one.
                failures += 1
            }
            try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 3), unit: 7, into: &registers)
            #expect(Array(registers[0..<3]) == [7000, 7001, 7002], "round \(round)")
        }
        #expect(failures <= 2)
        #expect(server.bytesDiscarded > 0)
    }

    @Test func rs485OnAPtyIsReportedAndTheLineStaysUsable() throws {
        let pair = try PtyPair()
        defer { pair.stop() }
        let (_, loop) = try Self.startServer(on: pair)
        defer { loop.stop() }
        let client = try Self.client(on: pair, rs485: RS485Settings(rtsDelayMicroseconds: 100))
        do {
            try client.connect()
            Issue.record("a pty has no RS-485 mode")
        } catch {
            #expect(error.isRS485Unavailable, "\(error.description)")
            #expect(error.description.contains("RS-485"), "\(error.description)")
        }
        #expect(client.isConnected && !client.isRS485Active)
        var registers = [UInt16](repeating: 0, count: 125)
        try client.read(ReadBlock(function: .inputRegisters, start: 4, count: 1), unit: 7, into: &registers)
        #expect(registers[0] == 7004)
        client.disconnect()
        #expect(!client.isConnected)
    }

    @Test func badSettingsAreRefused() throws {
        #expect(throws: ModbusError.self) {
            _ = try ModbusClient(serialDevice: "/dev/null", baud: 19_200, parity: .none, dataBits: 9, stopBits: 1,
                                 unitID: 1, responseTimeoutMilliseconds: 100)
        }
        #expect(throws: ModbusError.self) {
            _ = try ModbusRTUServer(device: "/nonexistent/tty", units: [1])
        }
        let pair = try PtyPair()
        defer { pair.stop() }
        #expect(throws: ModbusError.self) { _ = try ModbusRTUServer(device: pair.serverEnd, units: [1, 1]) }
        #expect(throws: ModbusError.self) { _ = try ModbusRTUServer(device: pair.serverEnd, units: [0]) }
        let absent = try ModbusClient(serialDevice: "/nonexistent/tty", baud: 9600, parity: .none, dataBits: 8, stopBits: 1,
                                      unitID: 1, responseTimeoutMilliseconds: 100)
        do {
            try absent.connect()
            Issue.record("opening a missing serial device must fail")
        } catch {
            #expect(error.description.contains("/nonexistent/tty"), "\(error.description)")
        }
        #expect(SerialParity(letter: "E") == .even && SerialParity(letter: "x") == nil && SerialParity.odd.letter == "O")
    }

    /// The client's read path, switching units on a shared line and reading registers and
    /// bits, makes no heap allocation once its buffers are sized (counted by interposed malloc).
    @Test(.countsAllocations) func readsDoNotAllocateInTheSteadyState() throws {
        let pair = try PtyPair()
        defer { pair.stop() }
        let (_, loop) = try Self.startServer(on: pair)
        defer { loop.stop() }
        let tcpPort = freeLoopbackPort()
        let tcpServer = try ModbusTCPServer(host: "127.0.0.1", port: tcpPort)
        nonisolated(unsafe) let served = tcpServer
        let tcpLoop = LoopThread { served.serve(timeoutMilliseconds: 10) }
        defer { tcpLoop.stop() }

        let line = try Self.client(on: pair)
        try line.connect()
        let tcp = try ModbusClient(tcpHost: "127.0.0.1", port: tcpPort, unitID: 1, responseTimeoutMilliseconds: 1000)
        try tcp.connect()
        var registers = [UInt16](repeating: 0, count: 125)
        let registerBlock = ReadBlock(function: .inputRegisters, start: 0, count: 12)
        let bitBlock = ReadBlock(function: .discreteInputs, start: 0, count: 16)
        // Warm up: first calls may size lazily-created runtime structures.
        for unit in Self.units { try line.read(registerBlock, unit: unit, into: &registers) }
        try tcp.read(registerBlock, into: &registers)

        allocation_counter_start()
        for cycle in 0..<1000 {
            let unit = Self.units[cycle % Self.units.count]
            try line.read(cycle % 2 == 0 ? registerBlock : bitBlock, unit: unit, into: &registers)
            try tcp.read(cycle % 2 == 0 ? registerBlock : bitBlock, into: &registers)
        }
        let allocations = allocation_counter_stop()
        #expect(allocations == 0, "\(allocations) allocations in 2,000 reads")
    }
}
