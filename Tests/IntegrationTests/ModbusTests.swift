import Foundation
import Testing
import TestSupport
import Modbus
import Platform
import RegisterMaps

/// libmodbus on both ends over TCP on loopback: the server the simulator uses and the
/// client the agent uses.
@Suite(.serialized)
struct ModbusTests {
    /// Runs a server on its own thread until the test ends.
    final class ServerThread: @unchecked Sendable {
        let server: ModbusTCPServer
        private let lock = NSLock()
        private var running = true
        private var thread: OSThread?

        init(port: Int, replyTimeRegister: ReplyTimeRegister? = nil) throws {
            server = try ModbusTCPServer(host: "127.0.0.1", port: port)
            server.replyTimeRegister = replyTimeRegister
            thread = try OSThread(name: "test-modbus") { [self] in
                while lock.withLock({ running }) { server.serve(timeoutMilliseconds: 20) }
            }
        }

        func stop() {
            lock.withLock { running = false }
            thread?.join()
            thread = nil
        }
    }

    @Test func clientReadsWhatTheServerHolds() throws {
        let port = freeLoopbackPort()
        let fixture = try ServerThread(port: port)
        defer { fixture.stop() }
        for (address, value) in [(0, UInt16(97)), (1, 72), (7, 385)] { fixture.server.setInputRegister(address, value) }
        fixture.server.setHoldingRegister(3, 0xBEEF)

        let client = try ModbusClient(tcpHost: "127.0.0.1", port: port, unitID: 1, responseTimeoutMilliseconds: 1000)
        try client.connect()
        var registers: [UInt16] = []
        try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 8), into: &registers)
        #expect(registers[0] == 97 && registers[1] == 72 && registers[7] == 385)
        try client.read(ReadBlock(function: .holdingRegisters, start: 3, count: 1), into: &registers)
        #expect(registers[0] == 0xBEEF)
    }

    /// The throughput benchmark's latency stamp: the register holds the reply's own time, for
    /// every unit id on the port (the benchmark puts 32 devices behind one endpoint).
    @Test func replyTimeRegisterCarriesTheTimeOfEachReply() throws {
        let port = freeLoopbackPort()
        let fixture = try ServerThread(port: port, replyTimeRegister: ReplyTimeRegister.parse("holding:1"))
        defer { fixture.stop() }
        fixture.server.setHoldingRegister(0, 1234)
        for unit in [1, 7, 32] {
            let client = try ModbusClient(tcpHost: "127.0.0.1", port: port, unitID: unit, responseTimeoutMilliseconds: 1000)
            try client.connect()
            var registers: [UInt16] = []
            for _ in 0..<3 {
                let before = ReplyTimeRegister.stampNow()
                try client.read(ReadBlock(function: .holdingRegisters, start: 0, count: 2), into: &registers)
                let after = ReplyTimeRegister.stampNow()
                #expect(registers[0] == 1234, "the stamp leaves the other registers alone")
                // Modulo 65536: the stamp lies between the two local stamps (generous: 2 s).
                let sinceBefore = registers[1] &- before, untilAfter = after &- registers[1]
                #expect(sinceBefore < 20_000 && untilAfter < 20_000,
                        "unit \(unit): stamp \(registers[1]) not between \(before) and \(after)")
            }
        }
        #expect(ReplyTimeRegister.parse("input:0") == ReplyTimeRegister(function: .inputRegisters, address: 0))
        for bad in ["", "holding", "coils:1", "holding:-1", "holding:65536", "holding:1:2"] {
            #expect(ReplyTimeRegister.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func readingPastTheMapIsAModbusExceptionAndTheConnectionSurvives() throws {
        let port = freeLoopbackPort()
        let fixture = try ServerThread(port: port)
        defer { fixture.stop() }
        let client = try ModbusClient(tcpHost: "127.0.0.1", port: port, unitID: 1, responseTimeoutMilliseconds: 1000)
        try client.connect()
        var registers: [UInt16] = []
        do {
            try client.read(ReadBlock(function: .inputRegisters, start: 250, count: 20), into: &registers)
            Issue.record("a read beyond the 256-register map must fail")
        } catch {
            // Exception 2: illegal data address.
            #expect(error.kind == .exception(code: 2), "\(error.description)")
            #expect(error.description.contains("exception 2"))
        }
        #expect(client.isConnected)
        try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 1), into: &registers)
    }

    @Test func aSilentDeviceTimesOutAndAnAbsentOneRefuses() throws {
        let port = freeLoopbackPort()
        let fixture = try ServerThread(port: port)
        defer { fixture.stop() }
        fixture.server.isSilent = true
        let client = try ModbusClient(tcpHost: "127.0.0.1", port: port, unitID: 1, responseTimeoutMilliseconds: 200)
        try client.connect()
        var registers: [UInt16] = []
        do {
            try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 1), into: &registers)
            Issue.record("a silent device must time out")
        } catch {
            #expect(error.kind == .timeout, "\(error.description)")
        }

        let absent = try ModbusClient(tcpHost: "127.0.0.1", port: freeLoopbackPort(), unitID: 1, responseTimeoutMilliseconds: 200)
        do {
            try absent.connect()
            Issue.record("connecting to a closed port must fail")
        } catch {
            #expect(error.kind == .connection, "\(error.description)")
        }
    }

    @Test func anUnpluggedServerRefusesAndComesBackOnTheSamePort() throws {
        let port = freeLoopbackPort()
        let server = try ModbusTCPServer(host: "127.0.0.1", port: port)
        server.setInputRegister(0, 42)
        nonisolated(unsafe) let served = server
        let lock = NSLock()
        nonisolated(unsafe) var action: ((ModbusTCPServer) -> Void)?
        // The serving thread is the only one touching the server; the test hands it actions.
        let loop = LoopThread {
            if let pending = lock.withLock({ () -> ((ModbusTCPServer) -> Void)? in defer { action = nil }; return action }) {
                pending(served)
            }
            served.serve(timeoutMilliseconds: 10)
        }
        defer { loop.stop() }
        func perform(_ work: @escaping (ModbusTCPServer) -> Void) {
            let done = DispatchSemaphore(value: 0)
            lock.withLock { action = { work($0); done.signal() } }
            done.wait()
        }

        let client = try ModbusClient(tcpHost: "127.0.0.1", port: port, unitID: 1, responseTimeoutMilliseconds: 300)
        try client.connect()
        var registers: [UInt16] = []
        try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 1), into: &registers)
        #expect(registers[0] == 42)

        perform { $0.unplug() }
        do {
            try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 1), into: &registers)
            Issue.record("an unplugged device must not answer")
        } catch {
            #expect(error.kind == .connection || error.kind == .timeout, "\(error.description)")
        }
        #expect(!client.isConnected)
        do {
            try client.connect()
            Issue.record("an unplugged device must refuse connections")
        } catch {
            #expect(error.kind == .connection, "\(error.description)")
        }

        perform { server in
            do throws(ModbusError) { try server.plugIn() } catch { Issue.record("\(error.description)") }
        }
        try client.connect()
        try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 1), into: &registers)
        #expect(registers[0] == 42)

        // Unplugged for 400 ms: it comes back by itself.
        client.disconnect()
        perform { $0.unplug(forMilliseconds: 400) }
        let unplugged = Date()
        #expect(throws: ModbusError.self) { try client.connect() }
        var back: TimeInterval?
        while back == nil && Date().timeIntervalSince(unplugged) < 5 {
            do throws(ModbusError) {
                try client.connect()
                back = Date().timeIntervalSince(unplugged)
            } catch {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        #expect(back.map { $0 >= 0.35 && $0 < 2 } == true, "back after \(String(describing: back)) s")
        try client.read(ReadBlock(function: .inputRegisters, start: 0, count: 1), into: &registers)
        loop.stop()
        #expect(!server.isUnplugged)
        #expect(server.requestsAnswered == 3)
    }

    /// One poll over several servers: each answers its own clients, and counts them.
    @Test func aPoolServesManyServersFromOneThread() throws {
        let pool = ModbusServerPool()
        var ports: [Int] = []
        for index in 0..<6 {
            let port = freeLoopbackPort()
            let server = try ModbusTCPServer(host: "127.0.0.1", port: port)
            server.setHoldingRegister(1, UInt16(100 + index))
            pool.add(server)
            ports.append(port)
        }
        nonisolated(unsafe) let served = pool
        let loop = LoopThread { served.serve(timeoutMilliseconds: 10) }
        defer { loop.stop() }
        var registers: [UInt16] = []
        for round in 0..<4 {
            for (index, port) in ports.enumerated() {
                let client = try ModbusClient(tcpHost: "127.0.0.1", port: port, unitID: 1, responseTimeoutMilliseconds: 1000)
                try client.connect()
                try client.read(ReadBlock(function: .holdingRegisters, start: 0, count: 2), into: &registers)
                #expect(registers[1] == UInt16(100 + index), "server \(index) round \(round)")
            }
        }
        loop.stop()
        #expect(pool.requestsAnswered == 24)
        #expect(pool.tcpServers.allSatisfy { $0.requestsAnswered == 4 })
    }

    @Test func bitsAndRegistersOfTheBankReadBack() throws {
        let bank = try ModbusRegisterBank(registers: 16, bits: 16)
        bank.set(.coils, 3, 7)
        bank.set(.discreteInputs, 4, 1)
        bank.set(.holdingRegisters, 15, 0xFFFF)
        bank.set(.inputRegisters, 16, 9) // outside: ignored
        #expect(bank.get(.coils, 3) == 1 && bank.get(.discreteInputs, 4) == 1)
        #expect(bank.get(.holdingRegisters, 15) == 0xFFFF && bank.get(.inputRegisters, 16) == 0 && bank.get(.coils, -1) == 0)
    }
}
