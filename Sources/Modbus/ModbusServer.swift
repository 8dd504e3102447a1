import CModbus
import CShims

/// A Modbus TCP server (slave) holding a register map, for the device simulator and tests.
/// Single-threaded: the owner calls `serve(timeoutMilliseconds:)` in its loop and changes
/// registers between calls, so a reply never sees a half-written value.
public final class ModbusTCPServer {
    public let port: Int
    private let context: OpaquePointer
    private let mapping: UnsafeMutablePointer<modbus_mapping_t>
    private let listeningSocket: Int32
    private var clients: [Int32] = []
    private var request = [UInt8](repeating: 0, count: 260) // MODBUS_TCP_MAX_ADU_LENGTH
    private var pollSet: [pollfd] = []
    /// Set to make the server stop answering (a device unplugged) while keeping its port.
    public var isSilent = false

    public init(host: String, port: Int, registers: Int = 256, bits: Int = 256) throws(ModbusError) {
        self.port = port
        let name = "server \(host):\(port)"
        guard let context = modbus_new_tcp_pi(host, String(port)) else {
            throw ModbusError("create Modbus TCP context", device: name)
        }
        guard let mapping = modbus_mapping_new(Int32(bits), Int32(bits), Int32(registers), Int32(registers)) else {
            let error = ModbusError("allocate register map", device: name)
            modbus_free(context)
            throw error
        }
        let socket = modbus_tcp_pi_listen(context, 32)
        if socket < 0 {
            let error = ModbusError("listen", device: name)
            modbus_mapping_free(mapping)
            modbus_free(context)
            throw error
        }
        self.context = context
        self.mapping = mapping
        listeningSocket = socket
    }

    deinit {
        for client in clients { close(client) }
        close(listeningSocket)
        modbus_mapping_free(mapping)
        modbus_free(context)
    }

    public func setInputRegister(_ address: Int, _ value: UInt16) {
        mapping.pointee.tab_input_registers[address] = value
    }

    public func setHoldingRegister(_ address: Int, _ value: UInt16) {
        mapping.pointee.tab_registers[address] = value
    }

    public func inputRegister(_ address: Int) -> UInt16 { mapping.pointee.tab_input_registers[address] }

    /// Accepts connections and answers requests until `timeoutMilliseconds` pass without
    /// activity, or after one round of activity. Returns the number of requests answered.
    @discardableResult
    public func serve(timeoutMilliseconds: Int32) -> Int {
        pollSet.removeAll(keepingCapacity: true)
        pollSet.append(pollfd(fd: listeningSocket, events: Int16(POLLIN), revents: 0))
        for client in clients { pollSet.append(pollfd(fd: client, events: Int16(POLLIN), revents: 0)) }
        let ready = pollSet.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
        if ready <= 0 { return 0 }
        var answered = 0
        var closed: [Int32] = []
        for entry in pollSet where entry.revents != 0 {
            if entry.fd == listeningSocket {
                var socket = listeningSocket
                let client = modbus_tcp_pi_accept(context, &socket)
                if client >= 0 { clients.append(client) }
                continue
            }
            modbus_set_socket(context, entry.fd)
            let length = request.withUnsafeMutableBufferPointer { modbus_receive(context, $0.baseAddress) }
            if length < 0 {
                closed.append(entry.fd)
            } else if length > 0 && !isSilent {
                _ = request.withUnsafeBufferPointer { modbus_reply(context, $0.baseAddress, length, mapping) }
                answered += 1
            }
        }
        for fd in closed {
            close(fd)
            clients.removeAll { $0 == fd }
        }
        return answered
    }
}
