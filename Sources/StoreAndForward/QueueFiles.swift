import CShims
import Platform

/// The few system calls the queue makes, each turning failure into a QueueError that names
/// the file. EINTR is retried everywhere.
enum QueueFiles {
    /// Runs a system call through Platform's EINTR retry, naming the queue's operation and file.
    private static func call<Result: FixedWidthInteger>(_ operation: String, _ path: String,
                                                        _ systemCall: () -> Result) throws(QueueError) -> Result {
        do throws(Errno) {
            return try retryOnInterrupt(systemCall)
        } catch {
            throw QueueError(operation, path, errno: error)
        }
    }

    /// mkdir -p with `mode` for every directory it creates.
    static func makeDirectories(_ path: String, mode: mode_t) throws(QueueError) {
        do throws(SystemError) {
            try Platform.makeDirectories(path, mode: UInt32(mode), purpose: "create queue directory")
        } catch {
            throw QueueError(error)
        }
    }

    static func listDirectory(_ path: String) throws(QueueError) -> [String] {
        do throws(SystemError) {
            return try Platform.listDirectory(path, purpose: "list queue directory")
        } catch {
            throw QueueError(error)
        }
    }

    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0o640,
                         operation: String) throws(QueueError) -> Int32 {
        try call(operation, path) { bedside_open(path, flags | O_CLOEXEC, mode) }
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
            let n = try call("read queue file", path) {
                bytes.withUnsafeMutableBytes { buffer in pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done)) }
            }
            if n == 0 { throw QueueError("read queue file", path, errno: .ioError, detail: "the file ended early") }
            done += n
        }
        return bytes
    }

    static func writeBytes(_ fd: Int32, _ bytes: [UInt8], offset: Int, path: String,
                           operation: String) throws(QueueError) {
        var done = 0
        while done < bytes.count {
            // A short write means the next attempt reports why (ENOSPC, EFBIG); loop to get it.
            done += try call(operation, path) {
                bytes.withUnsafeBytes { buffer in pwrite(fd, buffer.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            }
        }
    }

    static func truncateFile(_ fd: Int32, length: Int, path: String) throws(QueueError) {
        _ = try call("truncate queue file", path) { ftruncate(fd, off_t(length)) }
    }

    /// fdatasync: the data and the file size, without the timestamps a full fsync also writes.
    static func syncData(_ fd: Int32, path: String) throws(QueueError) {
        _ = try call("flush queue file to disk", path) { fdatasync(fd) }
    }

    /// fsync of a directory makes file creations and renames in it durable.
    static func syncDirectory(_ fd: Int32, path: String) throws(QueueError) {
        _ = try call("flush queue directory to disk", path) { fsync(fd) }
    }

    static func removeFile(_ path: String) throws(QueueError) {
        if unlink(path) != 0 && Errno.current != .noSuchFileOrDirectory { throw QueueError("delete queue file", path) }
    }

    static func renameFile(_ from: String, to: String) throws(QueueError) {
        if rename(from, to) != 0 { throw QueueError("rename queue file", "\(from) to \(to)") }
    }

    /// close(2), its result ignored: Linux reports a lost write-back on the next fsync of the
    /// file as well (which the queue makes by its fsync policy), and every record carries a CRC
    /// that recovery checks, so a failed close tells the queue nothing it could act on.
    static func closeFile(_ fd: Int32) {
        if fd >= 0 { _ = close(fd) }
    }
}
