import CShims

/// mkdir -p: creates every missing directory of `path` with `mode`; fails if what stands at
/// `path` in the end is not a directory.
public func makeDirectories(_ path: String, mode: UInt32, purpose: String = "create directory") throws(SystemError) {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for component in path.split(separator: "/", omittingEmptySubsequences: true) {
        prefix += String(component)
        if mkdir(prefix, mode_t(mode)) != 0 && Errno.current != .fileExists { throw SystemError(purpose, prefix) }
        prefix += "/"
    }
    var status = stat()
    if stat(path, &status) != 0 { throw SystemError(purpose, path) }
    if (status.st_mode & mode_t(S_IFMT)) != mode_t(S_IFDIR) { throw SystemError(purpose, path, errno: .notDirectory) }
}

/// The names in a directory, "." and ".." included, in the order the file system gives them.
public func listDirectory(_ path: String, purpose: String = "list directory") throws(SystemError) -> [String] {
    guard let directory = opendir(path) else { throw SystemError(purpose, path) }
    // A directory stream opened for reading holds nothing to flush: its close cannot lose data.
    defer { _ = closedir(directory) }
    var names: [String] = []
    while true {
        bedside_set_errno(0)
        guard let entry = readdir(directory) else {
            let error = Errno.current
            if error.rawValue != 0 { throw SystemError(purpose, path, errno: error) }
            return names
        }
        let name = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
            tuple.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        names.append(name)
    }
}

/// Replaces the file at `path` with `bytes` so that a crash or power cut leaves either the old
/// or the new content, never a mix: written to `<path>.new`, flushed, renamed over, and the
/// rename flushed in the directory.
public func replaceFile(_ path: String, with bytes: [UInt8], mode: UInt32 = 0o640) throws(SystemError) {
    let temporary = path + ".new"
    let fd = try retryOnInterrupt("create", temporary) {
        ForcedErrno.unlessForced(.open) { bedside_open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode)) }
    }
    do throws(SystemError) {
        try writeAll(bytes, to: fd, temporary)
        try synchroniseData(fd, temporary)
    } catch {
        _ = close(fd)
        _ = unlink(temporary)
        throw error
    }
    try closeFile(fd, temporary)
    if rename(temporary, path) != 0 {
        let error = SystemError("rename", "\(temporary) to \(path)")
        _ = unlink(temporary)
        throw error
    }
    try synchroniseDirectory(containing: path)
}

/// Deletes a file; one that is already gone is no failure.
public func removeFile(_ path: String) throws(SystemError) {
    if unlink(path) != 0 && Errno.current != .noSuchFileOrDirectory { throw SystemError("delete", path) }
}

/// The size of the regular file at `path`; nil when there is none (or something else stands there).
public func regularFileSize(atPath path: String) -> Int? {
    var status = stat()
    guard lstat(path, &status) == 0, (status.st_mode & mode_t(S_IFMT)) == mode_t(S_IFREG) else { return nil }
    return Int(status.st_size)
}
