import CModbus
import CShims
import Platform
import RegisterMaps

/// A Modbus RTU server on one serial line answering for several unit ids, each with its own
/// register map: the simulator's stand-in for a bus of bedside devices on one RS-485 pair.
///
/// How several unit ids share one line: libmodbus's own receive (`modbus_receive`) drops
/// every request whose address byte is not the context's one slave id, and cannot be asked
/// which id it saw. So this server reads the raw bytes itself and frames requests the way
/// libmodbus does (length from the function code and, for writes, the byte count), checks the
/// CRC, looks the address byte up among its units, and hands the complete frame to
/// `modbus_reply` with that unit's mapping; libmodbus builds and sends the reply (with the
/// request's address and a fresh CRC). libmodbus still opens and configures the line.
/// Requests for other ids are ignored, as on a real bus; so are broadcasts (id 0).
/// Bytes that do not make a valid frame (noise, a partial frame followed by silence) are
/// dropped one at a time until a frame with a good CRC starts, or all at once after a
/// silence longer than the inter-frame gap.
public final class ModbusRTUServer {
    public let device: String
    /// Served unit ids, in the order given.
    public let units: [Int]
    private let banks: [ModbusRegisterBank]
    private var silent: [Bool]
    private var answeredPerUnit: [Int]
    private let context: OpaquePointer
    private let descriptor: Int32
    /// Received bytes not yet framed. Fixed capacity: at most two maximal frames.
    private var buffer = [UInt8](repeating: 0, count: 512)
    private var buffered = 0
    private var lastByte = MonotonicInstant(nanoseconds: 0)
    private let frameGapNanoseconds: Int64
    private var pollSet: [pollfd] = []

    /// Requests answered (replies sent, Modbus exceptions included), all units together.
    public private(set) var requestsAnswered = 0
    /// Well-formed requests addressed to one of this server's units, answered or not.
    public private(set) var requestsReceived = 0
    /// Well-formed requests for unit ids this server does not serve (other devices' traffic).
    public private(set) var requestsForOtherUnits = 0
    /// Bytes dropped because they did not form a frame with a valid CRC.
    public private(set) var bytesDiscarded = 0
    /// Set when reading the line failed for good (the pty's other side is gone, the USB
    /// adapter was pulled): the line is no longer polled, instead of spinning on the error.
    public private(set) var lineError: ModbusError?

    /// Opens `device` (e.g. a pty from socat) at the given settings and serves `units`
    /// (1...247, no duplicates), each with a register map of `registers` registers and
    /// `bits` bits per table.
    public init(device: String, baud: Int = 19_200, parity: SerialParity = .even, dataBits: Int = 8, stopBits: Int = 1,
                units: [Int], registers: Int = 256, bits: Int = 256) throws(ModbusError) {
        self.device = device
        let name = "RTU server \(device)"
        if units.isEmpty { throw ModbusError("serve no unit ids", device: name, code: Errno.invalidArgument.rawValue) }
        for (index, unit) in units.enumerated() {
            if !(1...247).contains(unit) || units[..<index].contains(unit) {
                throw ModbusError("serve unit id \(unit) (1...247, each once)", device: name, code: Errno.invalidArgument.rawValue)
            }
        }
        var banks: [ModbusRegisterBank] = []
        for _ in units { banks.append(try ModbusRegisterBank(registers: registers, bits: bits)) }
        guard baud > 0, let context = modbus_new_rtu(device, Int32(baud), parity.cValue, Int32(dataBits), Int32(stopBits)) else {
            throw ModbusError("create Modbus RTU context", device: name, code: baud > 0 ? Errno.current.rawValue : Errno.invalidArgument.rawValue)
        }
        if modbus_set_slave(context, Int32(units[0])) != 0 || modbus_connect(context) != 0 {
            let error = ModbusError("open serial line", device: name)
            modbus_free(context)
            throw error
        }
        // libmodbus sleeps for the response timeout before flushing after some malformed
        // requests: keep that short so one bad request does not stall the whole loop.
        modbus_set_response_timeout(context, 0, 20_000)
        self.units = units
        self.banks = banks
        self.context = context
        descriptor = modbus_get_socket(context)
        silent = [Bool](repeating: false, count: units.count)
        answeredPerUnit = [Int](repeating: 0, count: units.count)
        // Modbus RTU ends a frame after 3.5 character times of silence (11 bits a character);
        // at least 20 ms here, because a pty or a USB adapter delivers bytes in bursts.
        let characterNanoseconds = Int64(11_000_000_000) / Int64(baud)
        frameGapNanoseconds = max(20_000_000, characterNanoseconds * 7 / 2)
    }

    deinit {
        modbus_close(context)
        modbus_free(context)
    }

    /// The register map of `unit`, nil if this server does not serve it.
    public func registers(unit: Int) -> ModbusRegisterBank? {
        guard let index = units.firstIndex(of: unit) else { return nil }
        return banks[index]
    }

    /// A silent unit receives its requests but never answers (unplugged from the bus).
    public func setSilent(_ isSilent: Bool, unit: Int) {
        if let index = units.firstIndex(of: unit) { silent[index] = isSilent }
    }

    /// Requests `unit` answered.
    public func requestsAnswered(unit: Int) -> Int {
        guard let index = units.firstIndex(of: unit) else { return 0 }
        return answeredPerUnit[index]
    }

    public func isSilent(unit: Int) -> Bool {
        guard let index = units.firstIndex(of: unit) else { return false }
        return silent[index]
    }

    /// Waits up to `timeoutMilliseconds` for requests and answers what arrived. Returns
    /// the number of requests answered.
    @discardableResult
    public func serve(timeoutMilliseconds: Int32) -> Int {
        pollSet.removeAll(keepingCapacity: true)
        appendPollDescriptors(to: &pollSet)
        if pollSet.isEmpty {
            sleep(milliseconds: Int(max(0, timeoutMilliseconds)))
            return 0
        }
        let ready = pollSet.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
        var answered = 0
        if ready > 0 && pollSet[0].revents != 0 { answered = handle(pollSet[0]) }
        finishRound()
        return answered
    }

    func appendPollDescriptors(to set: inout [pollfd]) {
        if lineError == nil { set.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)) }
    }

    /// Reads what the line holds and answers every complete request in it.
    func handle(_ entry: pollfd) -> Int {
        guard entry.fd == descriptor else { return 0 }
        if buffered == buffer.count { discard(buffered) }
        let room = buffer.count - buffered
        var failure: Errno?
        do throws(Errno) {
            let count = try retryOnInterrupt { buffer.withUnsafeMutableBufferPointer { read(descriptor, $0.baseAddress! + buffered, room) } }
            if count > 0 {
                buffered += count
                lastByte = MonotonicInstant.now()
            } else {
                failure = .ioError // end of file: the serial line is gone
            }
        } catch where error == .wouldBlock {
            // Nothing to read after all: answer what is already complete.
        } catch {
            failure = error
        }
        if let failure {
            let error = ModbusError("read", device: "RTU server \(device)", code: failure.rawValue)
            lineError = error
            log(.warning, "\(error.description); no longer serving this line")
            return 0
        }
        return answerCompleteFrames()
    }

    /// Called after every poll round: drops a partial frame once the line has been silent
    /// for longer than the inter-frame gap.
    func finishRound() {
        if buffered > 0 && MonotonicInstant.now().nanoseconds - lastByte.nanoseconds > frameGapNanoseconds {
            discard(buffered)
        }
    }

    private func answerCompleteFrames() -> Int {
        var answered = 0
        while buffered >= 2 {
            guard let length = requestLength() else {
                // Not a function code a request can have: noise. Resynchronise on the next byte.
                discard(1)
                continue
            }
            if length > buffer.count / 2 { discard(1); continue }
            if buffered < length { break } // wait for the rest (or the gap)
            if !crcMatches(length: length) { discard(1); continue }
            answered += answer(length: length)
            drop(length, asNoise: false)
        }
        return answered
    }

    /// The whole length of the request at the start of the buffer (address, PDU, CRC), as
    /// libmodbus computes it, or the shortest it can be while its byte count has not arrived;
    /// nil for a function code no request has.
    private func requestLength() -> Int? {
        switch buffer[1] {
        case 0x01, 0x02, 0x03, 0x04, 0x05, 0x06: return 8
        case 0x07, 0x0B, 0x0C, 0x11: return 4
        case 0x0F, 0x10:
            // address, function, start (2), quantity (2), byte count, data, CRC (2)
            return buffered >= 7 ? 9 + Int(buffer[6]) : 9
        case 0x16: return 10
        case 0x17:
            // address, function, read start/quantity, write start/quantity, byte count, data, CRC
            return buffered >= 11 ? 13 + Int(buffer[10]) : 13
        default: return nil
        }
    }

    private func crcMatches(length: Int) -> Bool {
        var crc: UInt16 = 0xFFFF
        for index in 0..<(length - 2) {
            crc ^= UInt16(buffer[index])
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        // Sent low byte first.
        return buffer[length - 2] == UInt8(crc & 0xFF) && buffer[length - 1] == UInt8(crc >> 8)
    }

    private func answer(length: Int) -> Int {
        let unit = Int(buffer[0])
        guard let index = units.firstIndex(of: unit) else {
            requestsForOtherUnits += 1
            return 0
        }
        requestsReceived += 1
        if silent[index] { return 0 }
        _ = modbus_set_slave(context, Int32(unit))
        let sent = buffer.withUnsafeBufferPointer { modbus_reply(context, $0.baseAddress, Int32(length), banks[index].mapping) }
        if sent < 0 { return 0 }
        requestsAnswered += 1
        answeredPerUnit[index] += 1
        return 1
    }

    private func discard(_ count: Int) { drop(count, asNoise: true) }

    private func drop(_ count: Int, asNoise: Bool) {
        let count = min(count, buffered)
        if count == 0 { return }
        if asNoise { bytesDiscarded += count }
        buffered -= count
        if buffered > 0 {
            buffer.withUnsafeMutableBufferPointer { bytes in
                for index in 0..<buffered { bytes[index] = bytes[index + count] }
            }
        }
    }
}
