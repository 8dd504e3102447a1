import FuzzSupport
import Modbus
import RegisterMaps
#if canImport(Glibc)
import Glibc
#endif

// Modbus TCP replies as libmodbus receives them from a device, then decoded as the sampling
// loop decodes them. A loopback peer accepts each connection and has the input waiting as
// the reply (its transaction id set to the request's unless the first byte's top bit says
// otherwise), then closes; the client reads one block of a built-in profile. Property: a read
// that succeeds fills the block, and its points decode.
let blocks: [(ReadBlock, [Point])] = BuiltinProfiles.all.flatMap { profile in
    planReads(profile).map { block in (block, profile.points.filter { block.contains($0) }) }
}

let listener: Int32 = {
    signal(SIGPIPE, SIG_IGN)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { fatalError("cannot listen on loopback: errno \(errno)") }
    return fd
}()

let port: Int = {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}()

var registers = [UInt16](repeating: 0, count: 256)

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzModbusTCP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzBytes(fuzzInput(data, size))
    let choice = input.byte()
    var reply = input.rest()
    if choice & 0x80 == 0 && reply.count >= 2 { reply[0] = 0; reply[1] = 1 } // libmodbus's first transaction id
    let (block, points) = blocks[Int(choice & 0x7F) % blocks.count]
    guard let client = try? ModbusClient(tcpHost: "127.0.0.1", port: port, unitID: 1, responseTimeoutMilliseconds: 200) else {
        fatalError("cannot make a Modbus TCP client")
    }
    do {
        try client.connect()
    } catch {
        fatalError("cannot connect to the loopback peer: \(error)")
    }
    let peer = accept(listener, nil, nil)
    guard peer >= 0 else { fatalError("accept failed: errno \(errno)") }
    var written = 0
    while written < reply.count {
        let count = reply[written...].withUnsafeBytes { write(peer, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        written += count
    }
    shutdown(peer, Int32(SHUT_WR))
    defer {
        client.disconnect()
        close(peer)
    }
    for index in 0..<block.count { registers[index] = 0xA5A5 }
    do {
        try client.read(block, into: &registers)
    } catch {
        return 0
    }
    for point in points {
        let offset = point.address - block.start
        fuzzRequire(offset >= 0 && offset + point.itemCount <= block.count, "\(point.name) outside its block")
        if let bits = point.rawBits(registers, at: offset) {
            let value = point.value(ofRawBits: bits)
            _ = point.isInRange(value)
            for field in point.bitFields { _ = point.bit(field, ofRaw: bits) }
        }
    }
    return 0
}

runFuzzTarget(fuzzModbusTCP, seeds: {
    // A correct reply to each block: MBAP header, function, byte count, the registers (or bits).
    blocks.indices.map { index in
        let block = blocks[index].0
        let bitTable = block.function.isBitTable
        let dataBytes = bitTable ? (block.count + 7) / 8 : block.count * 2
        let function: UInt8
        switch block.function {
        case .coils: function = 1
        case .discreteInputs: function = 2
        case .holdingRegisters: function = 3
        case .inputRegisters: function = 4
        }
        let length = 3 + dataBytes
        var reply: [UInt8] = [0, 1, 0, 0, UInt8(length >> 8), UInt8(length & 0xFF), 1, function, UInt8(dataBytes)]
        for byte in 0..<dataBytes { reply.append(UInt8(truncatingIfNeeded: byte * 7 + 60)) }
        return [UInt8(index)] + reply
    }
})
