import CModbus
import CShims
import Platform
import RegisterMaps

/// Parity of a serial line, as libmodbus's RTU backend takes it; the raw value is how a
/// configuration file writes it.
public enum SerialParity: String, Sendable, Equatable {
    case none, even, odd

    /// 'N', 'E' or 'O', the letter libmodbus and most device manuals use.
    public var letter: Character {
        switch self {
        case .none: return "N"
        case .even: return "E"
        case .odd: return "O"
        }
    }

    /// From 'N'/'E'/'O' (either case); nil for anything else.
    public init?(letter: Character) {
        switch letter {
        case "N", "n": self = .none
        case "E", "e": self = .even
        case "O", "o": self = .odd
        default: return nil
        }
    }

    var cValue: CChar {
        switch self {
        case .none: return 78 // 'N'
        case .even: return 69 // 'E'
        case .odd: return 79  // 'O'
        }
    }
}

/// Half-duplex RS-485 with the transceiver's direction driven by RTS, for boards without
/// automatic direction control: the kernel's RS-485 mode (TIOCSRS485) plus libmodbus
/// raising RTS around each request.
public struct RS485Settings: Sendable, Equatable {
    /// Delay between raising RTS and sending, and after sending before dropping it, in µs.
    public var rtsDelayMicroseconds: Int
    /// RTS high while sending (MODBUS_RTU_RTS_UP, the usual wiring); false for RTS_DOWN.
    public var rtsHighWhileSending: Bool

    public init(rtsDelayMicroseconds: Int = 0, rtsHighWhileSending: Bool = true) {
        self.rtsDelayMicroseconds = rtsDelayMicroseconds
        self.rtsHighWhileSending = rtsHighWhileSending
    }
}

/// A Modbus master's connection to one device (TCP) or to one serial line (RTU) that
/// several devices share, each addressed by its unit id per request. Not thread-safe:
/// one bus thread owns it.
///
/// The read path does not allocate once the caller's register buffer is large enough:
/// the bit buffer is sized for the largest read Modbus allows when the client is made.
public final class ModbusClient {
    public enum Transport: Sendable, Equatable { case tcp, rtu }

    /// "host:port unit N" or "/dev/ttyUSB0 unit N" (N: the default unit id).
    public let name: String
    public let transport: Transport
    /// The unit id `read(_:into:)` addresses.
    public let unitID: Int
    public private(set) var isConnected = false
    /// True once RS-485 mode with RTS was set up on the open line.
    public private(set) var isRS485Active = false

    private let context: OpaquePointer
    /// Host:port or device path, for error messages that name the unit actually addressed.
    private let endpoint: String
    private let rs485: RS485Settings?
    /// The unit id the libmodbus context currently addresses.
    private var currentUnit: Int
    private var bitBuffer = [UInt8](repeating: 0, count: ModbusFunction.coils.maximumItemsPerRead)

    /// A Modbus TCP device. `host` may be a name or an IPv4/IPv6 address. The byte timeout
    /// (longest silence inside one reply) defaults to the response timeout.
    public convenience init(tcpHost host: String, port: Int, unitID: Int, responseTimeoutMilliseconds: Int,
                            byteTimeoutMilliseconds: Int? = nil) throws(ModbusError) {
        let endpoint = "\(host):\(port)"
        let name = "\(endpoint) unit \(unitID)"
        guard let context = modbus_new_tcp_pi(host, String(port)) else {
            throw ModbusError("create Modbus TCP context", device: name)
        }
        try self.init(context: context, transport: .tcp, name: name, endpoint: endpoint, unitID: unitID,
                      rs485: nil, responseTimeoutMilliseconds: responseTimeoutMilliseconds,
                      byteTimeoutMilliseconds: byteTimeoutMilliseconds)
    }

    /// A Modbus RTU serial line, e.g. "/dev/ttyUSB0" at 19200 8E1. Devices on the same
    /// line share one client: pass each one's unit id to `read(_:unit:into:)`. `unitID` is
    /// the one `read(_:into:)` addresses. With `rs485`, `connect()` also switches the line
    /// to RS-485 mode with RTS (see there for what happens where the port cannot do it).
    public convenience init(serialDevice device: String, baud: Int, parity: SerialParity, dataBits: Int, stopBits: Int,
                            rs485: RS485Settings? = nil, unitID: Int, responseTimeoutMilliseconds: Int,
                            byteTimeoutMilliseconds: Int? = nil) throws(ModbusError) {
        let name = "\(device) unit \(unitID)"
        guard baud > 0, (5...8).contains(dataBits), (1...2).contains(stopBits) else {
            throw ModbusError("serial settings \(baud) baud \(dataBits)\(parity.letter)\(stopBits)", device: name,
                              code: Errno.invalidArgument.rawValue)
        }
        guard let context = modbus_new_rtu(device, Int32(baud), parity.cValue, Int32(dataBits), Int32(stopBits)) else {
            throw ModbusError("create Modbus RTU context", device: name)
        }
        try self.init(context: context, transport: .rtu, name: name, endpoint: device, unitID: unitID,
                      rs485: rs485, responseTimeoutMilliseconds: responseTimeoutMilliseconds,
                      byteTimeoutMilliseconds: byteTimeoutMilliseconds)
    }

    private init(context: OpaquePointer, transport: Transport, name: String, endpoint: String, unitID: Int,
                 rs485: RS485Settings?, responseTimeoutMilliseconds: Int,
                 byteTimeoutMilliseconds: Int?) throws(ModbusError) {
        if modbus_set_slave(context, Int32(unitID)) != 0 {
            let error = ModbusError("set unit id \(unitID)", device: name)
            modbus_free(context)
            throw error
        }
        self.context = context
        self.transport = transport
        self.name = name
        self.endpoint = endpoint
        self.unitID = unitID
        self.rs485 = rs485
        currentUnit = unitID
        let response = max(1, responseTimeoutMilliseconds)
        let byte = max(1, byteTimeoutMilliseconds ?? response)
        modbus_set_response_timeout(context, UInt32(response / 1000), UInt32(response % 1000) * 1000)
        modbus_set_byte_timeout(context, UInt32(byte / 1000), UInt32(byte % 1000) * 1000)
    }

    deinit {
        if isConnected { modbus_close(context) }
        modbus_free(context)
    }

    /// Connects (TCP) or opens and configures the serial line (RTU).
    ///
    /// RS-485: if the line was asked for RS-485 mode and the port cannot do it (a pty, a
    /// USB adapter without kernel RS-485 support: the ioctl fails with ENOTTY or EINVAL),
    /// this throws a `ModbusError` whose `isRS485Unavailable` is true, and leaves the line
    /// **open in plain RS-232 mode** (`isConnected` true, `isRS485Active` false). A caller
    /// that cannot work without RS-485 calls `disconnect()`; one that can simply goes on
    /// reading. A later `connect()` on the open line does nothing.
    public func connect() throws(ModbusError) {
        if isConnected { return }
        if modbus_connect(context) != 0 {
            throw ModbusError(transport == .tcp ? "connect" : "open serial line", device: name)
        }
        isConnected = true
        isRS485Active = false
        if let rs485 { try enableRS485(rs485) }
    }

    public func disconnect() {
        if isConnected { modbus_close(context) }
        isConnected = false
        isRS485Active = false
    }

    private func enableRS485(_ settings: RS485Settings) throws(ModbusError) {
        if modbus_rtu_set_serial_mode(context, MODBUS_RTU_RS485) != 0 {
            throw ModbusError("enable RS-485 mode (TIOCSRS485)", device: endpoint, code: Errno.current.rawValue,
                              isRS485Unavailable: true)
        }
        let rts = settings.rtsHighWhileSending ? MODBUS_RTU_RTS_UP : MODBUS_RTU_RTS_DOWN
        if modbus_rtu_set_rts(context, rts) != 0 || modbus_rtu_set_rts_delay(context, Int32(settings.rtsDelayMicroseconds)) != 0 {
            let error = ModbusError("drive RS-485 direction with RTS (delay \(settings.rtsDelayMicroseconds) µs)",
                                    device: endpoint, code: Errno.current.rawValue, isRS485Unavailable: true)
            _ = modbus_rtu_set_rts(context, MODBUS_RTU_RTS_NONE)
            _ = modbus_rtu_set_serial_mode(context, MODBUS_RTU_RS232)
            throw error
        }
        isRS485Active = true
    }

    /// Reads one block from the default unit into `registers[0..<block.count]` (bits become 0/1).
    public func read(_ block: ReadBlock, into registers: inout [UInt16]) throws(ModbusError) {
        try read(block, unit: unitID, into: &registers)
    }

    /// Reads one block from `unit` into `registers[0..<block.count]` (bits become 0/1): how
    /// several devices on one RTU line share this client. The buffer is grown only if too
    /// small, so a caller that sizes it once never allocates here.
    ///
    /// After a timeout or a malformed reply an RTU line is flushed and stays open (the next
    /// unit on the bus must not pay for this one); a TCP connection is closed and the next
    /// `connect()` opens a clean one. A Modbus exception is a proper reply: nothing is reset.
    public func read(_ block: ReadBlock, unit: Int, into registers: inout [UInt16]) throws(ModbusError) {
        if unit != currentUnit {
            if modbus_set_slave(context, Int32(unit)) != 0 {
                throw ModbusError("set unit id \(unit)", device: "\(endpoint) unit \(unit)")
            }
            currentUnit = unit
        }
        if registers.count < block.count { registers.append(contentsOf: repeatElement(0, count: block.count - registers.count)) }
        let start = Int32(block.start)
        let count = Int32(block.count)
        var received: Int32 = -1
        switch block.function {
        case .holdingRegisters:
            received = registers.withUnsafeMutableBufferPointer { modbus_read_registers(context, start, count, $0.baseAddress) }
        case .inputRegisters:
            received = registers.withUnsafeMutableBufferPointer { modbus_read_input_registers(context, start, count, $0.baseAddress) }
        case .coils, .discreteInputs:
            if bitBuffer.count < block.count { bitBuffer.append(contentsOf: repeatElement(0, count: block.count - bitBuffer.count)) }
            let isCoils = block.function == .coils
            received = bitBuffer.withUnsafeMutableBufferPointer { bits in
                isCoils ? modbus_read_bits(context, start, count, bits.baseAddress)
                        : modbus_read_input_bits(context, start, count, bits.baseAddress)
            }
            if received == count {
                for index in 0..<block.count { registers[index] = UInt16(bitBuffer[index]) }
            }
        }
        if received != count {
            let error = ModbusError("read \(block.function.rawValue) \(block.start)+\(block.count)",
                                    device: "\(endpoint) unit \(unit)",
                                    code: received < 0 ? Errno.current.rawValue : Int32(MODBUS_ENOBASE) + 13)
            recover(after: error)
            throw error
        }
    }

    private func recover(after error: ModbusError) {
        switch error.kind {
        case .exception:
            return
        case .timeout, .malformedReply:
            if transport == .rtu {
                // Bytes of a late or garbled reply may still be on their way: drop what
                // is there now; anything later fails the next reply's CRC/unit check.
                _ = modbus_flush(context)
            } else {
                disconnect()
            }
        case .connection, .other:
            disconnect()
        }
    }
}
