import CShims

/// Reads a whole file, refusing anything larger than `limit` bytes so a wrong path
/// (a device node, a huge log) cannot exhaust memory.
public func readFile(_ path: String, limit: Int = 4 << 20) throws(SystemError) -> [UInt8] {
    let fd = try retryOnInterrupt("open", path) { bedside_open(path, O_RDONLY | O_CLOEXEC, 0) }
    defer { releaseDescriptor(fd) }
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = try retryOnInterrupt("read", path) { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
        if n == 0 { return contents }
        if contents.count + n > limit { throw SystemError("read", path, errno: .fileTooLarge) }
        contents.append(contentsOf: chunk[0..<n])
    }
}

/// Appends text to a file, creating it (mode 0644) if needed. With `durable`, it returns
/// only once the text is on the storage (fdatasync), and a file it had to create is
/// recorded in its directory too, so a power cut right after cannot take the text back.
/// Every failure throws: a short write, a full disk, a failing device, a failed sync or close.
public func appendToFile(_ path: String, _ text: String, durable: Bool = false) throws(SystemError) {
    var created = false
    let fd: Int32
    do throws(Errno) {
        fd = try retryOnInterrupt { ForcedErrno.unlessForced(.open) { bedside_open(path, O_WRONLY | O_APPEND | O_CLOEXEC, 0) } }
    } catch where error == .noSuchFileOrDirectory {
        fd = try retryOnInterrupt("create", path) {
            ForcedErrno.unlessForced(.open) { bedside_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644) }
        }
        created = true
    } catch {
        throw SystemError("open", path, errno: error)
    }
    do throws(SystemError) {
        try writeAll(Array(text.utf8), to: fd, path)
        if durable { try synchroniseData(fd, path) }
    } catch {
        // The write's failure is the one to report; close's own result adds nothing to it.
        _ = close(fd)
        throw error
    }
    try closeFile(fd, path)
    if durable && created { try synchroniseDirectory(containing: path) }
}

/// Writes all of `bytes` to a file descriptor. A short write is followed by another, which
/// reports why the kernel stopped (ENOSPC, EFBIG, EIO); EINTR is retried.
public func writeAll(_ bytes: [UInt8], to fd: Int32, _ subject: String) throws(SystemError) {
    var offset = 0
    while offset < bytes.count {
        let written = try retryOnInterrupt("write", subject) {
            ForcedErrno.unlessForced(.write) { bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) } }
        }
        // write(2) of a non-empty buffer to a file returns 0 only on a broken device: no progress.
        if written == 0 { throw SystemError("write", subject, errno: .ioError) }
        offset += written
    }
}

/// fdatasync: the data and the file size on the storage, without the timestamps a full fsync also writes.
public func synchroniseData(_ fd: Int32, _ subject: String) throws(SystemError) {
    _ = try retryOnInterrupt("flush to disk", subject) { ForcedErrno.unlessForced(.synchronise) { fdatasync(fd) } }
}

/// fsync of the directory holding `path`: makes the creation of a file in it durable.
public func synchroniseDirectory(containing path: String) throws(SystemError) {
    let directory = directoryName(of: path)
    let fd = try retryOnInterrupt("open directory", directory) { bedside_open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) }
    do throws(SystemError) {
        _ = try retryOnInterrupt("flush directory to disk", directory) { ForcedErrno.unlessForced(.synchronise) { fsync(fd) } }
    } catch {
        releaseDescriptor(fd)
        throw error
    }
    try closeFile(fd, directory)
}

/// close(2), reporting its failure: on some file systems (NFS, a failing device) a delayed
/// write error shows only here. Not retried on EINTR: Linux has released the descriptor by
/// then, and a second close could close one another thread just opened.
public func closeFile(_ fd: Int32, _ subject: String) throws(SystemError) {
    // The descriptor is closed even when a test forces the failure, as Linux does.
    let result = close(fd)
    if ForcedErrno.unlessForced(.close, { result }) != 0 {
        let error = Errno.current
        if error == .interrupted { return }
        throw SystemError("close", subject, errno: error)
    }
}

/// "/var/lib/x/alarms.log" -> "/var/lib/x"; "alarms.log" -> "."; "/alarms.log" -> "/".
func directoryName(of path: String) -> String {
    let bytes = Array(path.utf8)
    var lastSlash: Int?
    for index in bytes.indices where bytes[index] == UInt8(ascii: "/") { lastSlash = index }
    guard let lastSlash else { return "." }
    if lastSlash == 0 { return "/" }
    return String(decoding: bytes[..<lastSlash], as: UTF8.self)
}

/// Closes a descriptor that holds no data of ours still to be written: a socket, a file or
/// directory opened for reading. Its result is ignored on purpose: Linux frees the descriptor
/// whatever close returns, and a failure could only concern data the kernel already took.
public func releaseDescriptor(_ fd: Int32) {
    _ = close(fd)
}
