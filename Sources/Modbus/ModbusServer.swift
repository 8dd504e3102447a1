import CModbus
import CShims
import Platform
import RegisterMaps
import Synchronization

/// A Modbus TCP server (slave) holding one device's register map, for the device simulator
/// and tests. Single-threaded: the owner calls `serve(timeoutMilliseconds:)` (or a
/// `ModbusServerPool` that polls many servers at once) in its loop and changes registers
/// between calls, so a reply never sees a half-written value.
public final class ModbusTCPServer {
    public let host: String
    public let port: Int
    public let registers: ModbusRegisterBank
    private let context: OpaquePointer
    /// -1 while unplugged.
    private var listeningSocket: Int32
    private var clients: [Int32] = []
    private var closed: [Int32] = []
    private var request = [UInt8](repeating: 0, count: 260) // MODBUS_TCP_MAX_ADU_LENGTH
    private var pollSet: [pollfd] = []
    /// When an `unplug(forMilliseconds:)` ends.
    private var replugAt: MonotonicInstant?
    /// Set to make the server read requests but never answer them (a hung device) while
    /// keeping its connections. See `unplug()` for a device that is gone altogether.
    public var isSilent = false
    /// A register stamped right before every reply with the wall-clock time in units of
    /// 100 µs modulo 65536, so a benchmark's subscriber can tell when the value it receives
    /// was read (receipt time minus stamp, modulo 65536) whatever the polling phase. Nil
    /// (the default) for a device that serves only its register map.
    public var replyTimeRegister: ReplyTimeRegister?
    /// Requests answered (replies sent, Modbus exceptions included) since the server started;
    /// an atomic, so that another thread (a test waiting for a count) may read it while serving.
    public var requestsAnswered: Int { answeredCount.load(ordering: .relaxed) }
    private let answeredCount = Atomic<Int>(0)
    /// When the last reply was sent (taken right before the send, so never after the client
    /// has it), nil before the first.
    public private(set) var lastReplySent: MonotonicInstant?
    /// Requests received, answered or not.
    public private(set) var requestsReceived = 0

    public init(host: String, port: Int, registers: Int = 256, bits: Int = 256) throws(ModbusError) {
        self.host = host
        self.port = port
        let name = "server \(host):\(port)"
        let bank = try ModbusRegisterBank(registers: registers, bits: bits)
        guard let context = modbus_new_tcp_pi(host, String(port)) else {
            throw ModbusError("create Modbus TCP context", device: name)
        }
        let socket = modbus_tcp_pi_listen(context, 32)
        if socket < 0 {
            let error = ModbusError("listen", device: name)
            modbus_free(context)
            throw error
        }
        self.registers = bank
        self.context = context
        listeningSocket = socket
        // Short timeouts: a client that sends half a request must not stall every other
        // device served from the same loop for libmodbus's default half second.
        modbus_set_byte_timeout(context, 0, 100_000)
        modbus_set_response_timeout(context, 0, 100_000)
    }

    deinit {
        for client in clients { releaseDescriptor(client) }
        if listeningSocket >= 0 { releaseDescriptor(listeningSocket) }
        modbus_free(context)
    }

    public func setInputRegister(_ address: Int, _ value: UInt16) { registers.set(.inputRegisters, address, value) }
    public func setHoldingRegister(_ address: Int, _ value: UInt16) { registers.set(.holdingRegisters, address, value) }

    /// True between `unplug()` and `plugIn()`.
    public var isUnplugged: Bool { listeningSocket < 0 }

    /// Simulates the device's cable being pulled: every client connection is closed and
    /// the port stops listening, so new connections are refused until `plugIn()`.
    public func unplug() {
        replugAt = nil
        for client in clients { releaseDescriptor(client) }
        clients.removeAll(keepingCapacity: true)
        if listeningSocket >= 0 { releaseDescriptor(listeningSocket) }
        listeningSocket = -1
    }

    /// `unplug()` now, and `plugIn()` again by itself once `milliseconds` have passed (checked
    /// by `serve` or the pool serving this server; a failure to listen again is retried there).
    public func unplug(forMilliseconds milliseconds: Int) {
        unplug()
        replugAt = MonotonicInstant.now().adding(milliseconds: milliseconds)
    }

    /// Listens again on the same address and port after `unplug()`.
    public func plugIn() throws(ModbusError) {
        replugAt = nil
        if listeningSocket >= 0 { return }
        let socket = modbus_tcp_pi_listen(context, 32)
        if socket < 0 { throw ModbusError("listen again", device: "server \(host):\(port)") }
        listeningSocket = socket
    }

    /// Accepts connections and answers requests until `timeoutMilliseconds` pass without
    /// activity, or after one round of activity. Returns the number of requests answered.
    @discardableResult
    public func serve(timeoutMilliseconds: Int32) -> Int {
        pollSet.removeAll(keepingCapacity: true)
        appendPollDescriptors(to: &pollSet)
        if pollSet.isEmpty {
            // Unplugged: nothing to wait on but the time.
            sleep(milliseconds: Int(max(0, timeoutMilliseconds)))
            finishRound()
            return 0
        }
        let ready = pollSet.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
        var answered = 0
        if ready > 0 {
            for entry in pollSet where entry.revents != 0 { answered += handle(entry) }
        }
        finishRound()
        return answered
    }

    func appendPollDescriptors(to set: inout [pollfd]) {
        if listeningSocket >= 0 { set.append(pollfd(fd: listeningSocket, events: Int16(POLLIN), revents: 0)) }
        for client in clients { set.append(pollfd(fd: client, events: Int16(POLLIN), revents: 0)) }
    }

    /// Handles one ready descriptor of this server; returns the requests answered (0 or 1).
    func handle(_ entry: pollfd) -> Int {
        if entry.fd == listeningSocket {
            var socket = listeningSocket
            let client = modbus_tcp_pi_accept(context, &socket)
            if client >= 0 { clients.append(client) }
            return 0
        }
        // The descriptor may belong to a connection `unplug()` closed in this round.
        guard clients.contains(entry.fd) else { return 0 }
        modbus_set_socket(context, entry.fd)
        let length = request.withUnsafeMutableBufferPointer { modbus_receive(context, $0.baseAddress) }
        if length < 0 {
            closed.append(entry.fd)
            return 0
        }
        if length == 0 { return 0 }
        requestsReceived += 1
        if isSilent { return 0 }
        if let stamp = replyTimeRegister { registers.set(stamp.function, stamp.address, ReplyTimeRegister.stampNow()) }
        let replying = MonotonicInstant.now()
        let sent = request.withUnsafeBufferPointer { modbus_reply(context, $0.baseAddress, length, registers.mapping) }
        if sent < 0 {
            closed.append(entry.fd)
            return 0
        }
        lastReplySent = replying
        answeredCount.store(answeredCount.load(ordering: .relaxed) + 1, ordering: .relaxed)
        return 1
    }

    /// Closes the connections that ended during the round; plugs in again when a timed
    /// unplug is over.
    func finishRound() {
        if let replugAt, MonotonicInstant.now() >= replugAt {
            do throws(ModbusError) {
                try plugIn()
            } catch {
                // The port may be briefly taken; try again in a moment.
                self.replugAt = MonotonicInstant.now().adding(milliseconds: 100)
            }
        }
        if closed.isEmpty { return }
        for fd in closed {
            if let index = clients.firstIndex(of: fd) {
                releaseDescriptor(fd)
                clients.remove(at: index)
            }
        }
        closed.removeAll(keepingCapacity: true)
    }
}

/// Where a served device stamps the time of each reply (see `ModbusTCPServer.replyTimeRegister`).
public struct ReplyTimeRegister: Sendable, Equatable {
    public var function: ModbusFunction
    public var address: Int

    public init(function: ModbusFunction, address: Int) {
        self.function = function
        self.address = address
    }

    /// Stamps count in units of this many nanoseconds (100 µs): 65536 of them wrap after
    /// 6.5 s, far longer than any latency the benchmark measures.
    public static let unitNanoseconds: Int64 = 100_000

    /// The wall-clock time now, in 100 µs units modulo 65536.
    public static func stampNow() -> UInt16 { UInt16(truncatingIfNeeded: (wallClockNanoseconds() / unitNanoseconds) & 0xFFFF) }

    /// "holding:1" or "input:0" (the register table and the address); nil if malformed.
    public static func parse(_ text: String) -> ReplyTimeRegister? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = Int(String(parts[1])), address >= 0, address <= 65_535 else { return nil }
        switch String(parts[0]) {
        case "holding": return ReplyTimeRegister(function: .holdingRegisters, address: address)
        case "input": return ReplyTimeRegister(function: .inputRegisters, address: address)
        default: return nil
        }
    }
}
