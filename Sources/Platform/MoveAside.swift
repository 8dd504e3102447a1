import CShims

/// What stands at a path, without following a symbolic link.
public enum FileKind: Equatable, Sendable {
    case missing, regularFile, directory
    /// A symbolic link, FIFO, socket or device: never one of the agent's own state files.
    case other

    public init(atPath path: String) {
        var status = stat()
        if lstat(path, &status) != 0 {
            self = .missing
            return
        }
        switch status.st_mode & mode_t(S_IFMT) {
        case mode_t(S_IFREG): self = .regularFile
        case mode_t(S_IFDIR): self = .directory
        default: self = .other
        }
    }

    /// For messages: "a directory stands where ...".
    public var description: String {
        switch self {
        case .missing: return "nothing"
        case .regularFile: return "a file"
        case .directory: return "a directory"
        case .other: return "a link, pipe, socket or device"
        }
    }
}

/// Moves a damaged state file (or directory) aside under a name no one else uses (`stem`,
/// else `stem-2`, ...) and writes `<destination>.reason` next to it, for whoever looks later.
/// Returns the destination, or nil when it could not be moved (it then stays where it is).
/// Never deletes anything.
public func moveAside(_ source: String, to stem: String, reason: String) -> String? {
    var destination = stem
    var attempt = 1
    while FileKind(atPath: destination) != .missing || FileKind(atPath: destination + ".reason") != .missing {
        attempt += 1
        if attempt > 100 { return nil }
        destination = "\(stem)-\(attempt)"
    }
    if rename(source, destination) != 0 { return nil }
    let text = "moved here from \(source) by bedside-gateway: \(reason)\n"
    let fd = bedside_open(destination + ".reason", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
    if fd >= 0 {
        // Best effort: the log and the health documents carry the same reason.
        _ = try? writeAll(Array(text.utf8), to: fd, destination + ".reason")
        _ = close(fd)
    }
    return destination
}

/// A time for the names of moved-aside files that sorts and needs no quoting: 20261203T123456.789Z.
public func moveAsideStamp(wallClockMilliseconds milliseconds: Int64 = wallClockMilliseconds()) -> String {
    var bytes: [UInt8] = []
    for byte in formatUTCTimestamp(millisecondsSinceEpoch: milliseconds).utf8 where byte != 0x3A && byte != 0x2D {
        bytes.append(byte)
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension Errno {
    /// What reading or writing a directory as a file gives.
    public static var isDirectory: Errno { Errno(EISDIR) }
    /// What positioned I/O on a pipe gives.
    public static var illegalSeek: Errno { Errno(ESPIPE) }
}
