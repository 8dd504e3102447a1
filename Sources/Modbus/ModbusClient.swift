import CModbus
import CShims
import RegisterMaps

/// A Modbus master's connection to one device. Not thread-safe: one bus thread owns it.
public final class ModbusClient {
    public let name: String
    private let context: OpaquePointer
    public private(set) var isConnected = false
    private var bitBuffer: [UInt8] = []

    /// A Modbus TCP device. `host` may be a name or an IPv4/IPv6 address.
    public init(tcpHost host: String, port: Int, unitID: Int, responseTimeoutMilliseconds: Int) throws(ModbusError) {
        name = "\(host):\(port) unit \(unitID)"
        guard let context = modbus_new_tcp_pi(host, String(port)) else {
            throw ModbusError("create Modbus TCP context", device: name)
        }
        self.context = context
        if modbus_set_slave(context, Int32(unitID)) != 0 {
            let error = ModbusError("set unit id", device: name)
            modbus_free(context)
            throw error
        }
        let timeout = max(1, responseTimeoutMilliseconds)
        modbus_set_response_timeout(context, UInt32(timeout / 1000), UInt32(timeout % 1000) * 1000)
        modbus_set_byte_timeout(context, UInt32(timeout / 1000), UInt32(timeout % 1000) * 1000)
    }

    deinit {
        if isConnected { modbus_close(context) }
        modbus_free(context)
    }

    public func connect() throws(ModbusError) {
        if isConnected { return }
        if modbus_connect(context) != 0 { throw ModbusError("connect", device: name) }
        isConnected = true
    }

    public func disconnect() {
        if isConnected { modbus_close(context) }
        isConnected = false
    }

    /// Reads one block into `registers[0..<block.count]` (bits become 0/1). The buffer is
    /// grown only if too small, so a caller that sizes it once never allocates here.
    public func read(_ block: ReadBlock, into registers: inout [UInt16]) throws(ModbusError) {
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
            let error = ModbusError("read \(block.function.rawValue) \(block.start)+\(block.count)", device: name,
                                    code: received < 0 ? bedside_errno() : Int32(MODBUS_ENOBASE) + 13)
            // After a timeout or a garbled reply the stream may hold stale bytes: start clean.
            // An exception is a proper reply, so the connection stays usable after it.
            if case .exception = error.kind {} else { disconnect() }
            throw error
        }
    }
}
