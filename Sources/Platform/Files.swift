import CShims

/// Reads a whole file, refusing anything larger than `limit` bytes so a wrong path
/// (a device node, a huge log) cannot exhaust memory.
public func readFile(_ path: String, limit: Int = 4 << 20) throws(SystemError) -> [UInt8] {
    let fd = bedside_open(path, O_RDONLY | O_CLOEXEC, 0)
    if fd < 0 { throw SystemError("open", path) }
    defer { close(fd) }
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if bedside_errno() == EINTR { continue }
            throw SystemError("read", path)
        }
        if n == 0 { return contents }
        if contents.count + n > limit { throw SystemError("read", path, errno: EFBIG) }
        contents.append(contentsOf: chunk[0..<n])
    }
}

/// Appends text to a file, creating it (mode 0644) if needed.
public func appendToFile(_ path: String, _ text: String) throws(SystemError) {
    let fd = bedside_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    if fd < 0 { throw SystemError("open", path) }
    writeAll(text, to: fd)
    close(fd)
}
