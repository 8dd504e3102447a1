import Foundation
import Testing
import TestSupport
import Modbus
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
        private var thread: Thread?

        init(port: Int) throws {
            server = try ModbusTCPServer(host: "127.0.0.1", port: port)
            let thread = Thread { [self] in
                while lock.withLock({ running }) { server.serve(timeoutMilliseconds: 20) }
            }
            self.thread = thread
            thread.start()
        }

        func stop() {
            lock.withLock { running = false }
            Thread.sleep(forTimeInterval: 0.1)
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
}
