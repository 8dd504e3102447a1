import CShims

/// The few system calls the queue makes, each turning failure into a QueueError that names
/// the file. EINTR is retried everywhere.
enum QueueFiles {
    /// mkdir -p with `mode` for every directory it creates.
    static func makeDirectories(_ path: String, mode: mode_t) throws(QueueError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += String(component)
            if mkdir(prefix, mode) != 0 && bedside_errno() != EEXIST {
                throw QueueError("create queue directory", prefix)
            }
            prefix += "/"
        }
        var status = stat()
        if stat(path, &status) != 0 { throw QueueError("open queue directory", path) }
        if (status.st_mode & mode_t(S_IFMT)) != mode_t(S_IFDIR) { throw QueueError("open queue directory", path, errno: ENOTDIR) }
    }

    static func listDirectory(_ path: String) throws(QueueError) -> [String] {
        guard let directory = opendir(path) else { throw QueueError("list queue directory", path) }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            bedside_set_errno(0)
            guard let entry = readdir(directory) else {
                let error = bedside_errno()
                if error != 0 { throw QueueError("list queue directory", path, errno: error) }
                return names
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            names.append(name)
        }
    }

    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0o640,
                         operation: String) throws(QueueError) -> Int32 {
        while true {
            let fd = bedside_open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if bedside_errno() != EINTR { throw QueueError(operation, path) }
        }
    }

    static func fileSize(_ fd: Int32, path: String) throws(QueueError) -> Int {
        var status = stat()
        if fstat(fd, &status) != 0 { throw QueueError("examine queue file", path) }
        return Int(status.st_size)
    }

    static func readBytes(_ fd: Int32, count: Int, offset: Int, path: String) throws(QueueError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { buffer in
                pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
            }
            if n < 0 {
                if bedside_errno() == EINTR { continue }
                throw QueueError("read queue file", path)
            }
            if n == 0 { throw QueueError("read queue file", path, errno: EIO, detail: "the file ended early") }
            done += n
        }
        return bytes
    }

    static func writeBytes(_ fd: Int32, _ bytes: [UInt8], offset: Int, path: String,
                           operation: String) throws(QueueError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                pwrite(fd, buffer.baseAddress! + done, bytes.count - done, off_t(offset + done))
            }
            if n < 0 {
                if bedside_errno() == EINTR { continue }
                throw QueueError(operation, path)
            }
            // A short write means the next attempt reports why (ENOSPC, EFBIG); loop to get it.
            done += n
        }
    }

    static func truncateFile(_ fd: Int32, length: Int, path: String) throws(QueueError) {
        while ftruncate(fd, off_t(length)) != 0 {
            if bedside_errno() != EINTR { throw QueueError("truncate queue file", path) }
        }
    }

    /// fdatasync: the data and the file size, without the timestamps a full fsync also writes.
    static func syncData(_ fd: Int32, path: String) throws(QueueError) {
        while fdatasync(fd) != 0 {
            if bedside_errno() != EINTR { throw QueueError("flush queue file to disk", path) }
        }
    }

    /// fsync of a directory makes file creations and renames in it durable.
    static func syncDirectory(_ fd: Int32, path: String) throws(QueueError) {
        while fsync(fd) != 0 {
            if bedside_errno() != EINTR { throw QueueError("flush queue directory to disk", path) }
        }
    }

    static func removeFile(_ path: String) throws(QueueError) {
        if unlink(path) != 0 && bedside_errno() != ENOENT { throw QueueError("delete queue file", path) }
    }

    static func renameFile(_ from: String, to: String) throws(QueueError) {
        if rename(from, to) != 0 { throw QueueError("rename queue file", "\(from) to \(to)") }
    }

    static func closeFile(_ fd: Int32) {
        if fd >= 0 { _ = close(fd) }
    }
}
