import FuzzSupport
import Modbus
#if canImport(Glibc)
import Glibc
#endif

// The simulator's Modbus RTU server reading requests off a serial line (a pty here): its own
// framing (request lengths, CRC, resynchronisation on noise) before libmodbus answers. The
// first byte's low bit makes the rest a list of length-prefixed frames that each get a
// correct CRC, so what lies behind the CRC check is reached too. Property: the server counts
// no more answers than requests for its units, and the line stays usable.
func crc16(_ bytes: [UInt8]) -> [UInt8] {
    var crc: UInt16 = 0xFFFF
    for byte in bytes {
        crc ^= UInt16(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
    }
    return [UInt8(crc & 0xFF), UInt8(crc >> 8)]
}

/// A pty pair: the controller side for this target, the path of the line for the server.
/// (/dev/ptmx directly: unlock and number by ioctl, which is what posix_openpt, unlockpt and
/// ptsname do on Linux.)
func openLine() -> (controller: Int32, path: String) {
    let controller = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK)
    let unlockRequest: UInt = 0x4004_5431 // TIOCSPTLCK, _IOW('T', 0x31, int): a macro Swift does not import
    let numberRequest: UInt = 0x8004_5430 // TIOCGPTN, _IOR('T', 0x30, unsigned int)
    var unlock: Int32 = 0
    var number: UInt32 = 0
    guard controller >= 0, ioctl(controller, unlockRequest, &unlock) == 0, ioctl(controller, numberRequest, &number) == 0 else {
        fatalError("cannot open a pty: errno \(errno)")
    }
    return (controller, "/dev/pts/\(number)")
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzRTURequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzBytes(fuzzInput(data, size))
    let withChecksums = input.byte() & 1 == 1
    var line: [UInt8] = []
    if withChecksums {
        while !input.isAtEnd {
            let frame = input.part()
            line += frame + crc16(frame)
        }
    } else {
        line = input.rest()
    }
    if line.count > 2048 { line.removeLast(line.count - 2048) }
    let (controller, path) = openLine()
    defer { close(controller) }
    let server: ModbusRTUServer
    do {
        server = try ModbusRTUServer(device: path, baud: 115_200, parity: .none, units: [1, 17], registers: 256, bits: 256)
    } catch {
        fatalError("cannot serve the pty \(path): \(error)")
    }
    var written = 0
    while written < line.count {
        let count = line[written...].withUnsafeBytes { write(controller, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        written += count
    }
    var answers = [UInt8](repeating: 0, count: 4096)
    if !line.isEmpty {
        server.serve(timeoutMilliseconds: 20)
        for _ in 0..<4 {
            server.serve(timeoutMilliseconds: 0)
            _ = answers.withUnsafeMutableBytes { read(controller, $0.baseAddress, $0.count) } // keep the line's buffer from filling
        }
    }
    fuzzRequire(server.requestsAnswered <= server.requestsReceived, "\(server.requestsAnswered) answers to \(server.requestsReceived) requests")
    fuzzRequire(server.lineError == nil, "the line failed: \(String(describing: server.lineError))")
    return 0
}

runFuzzTarget(fuzzRTURequest, seeds: {
    // Length-prefixed frames (CRC added by the target): read holding registers, write one,
    // write several, a request for another unit, a broadcast.
    let frames: [[UInt8]] = [[1, 3, 0, 0, 0, 10], [1, 6, 0, 5, 0x12, 0x34], [17, 16, 0, 0, 0, 2, 4, 0, 1, 0, 2],
                             [5, 3, 0, 0, 0, 1], [1, 4, 0, 16, 0, 4], [1, 1, 0, 0, 0, 16]]
    var seeds = frames.map { [1, UInt8($0.count)] + $0 }
    seeds.append([1] + frames.flatMap { [UInt8($0.count)] + $0 })
    seeds.append([0] + frames[0] + crc16(frames[0]) + [0xFF, 0x00] + frames[1] + crc16(frames[1]))
    return seeds
})
