import Foundation
import Testing

/// A small tmpfs mounted for one test, where a real "No space left on device" can be had
/// (mounting needs root, as CI runs). Unmount it when the test ends.
struct MountedTmpfs {
    let path: String

    /// Mounts `size` (e.g. "64k") at a new directory `path`.
    init(at path: String, size: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let mounted = MountedTmpfs.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path])
        try #require(mounted.status == 0, "cannot mount a tmpfs: \(mounted.output)")
    }

    func unmount() { _ = MountedTmpfs.run("/bin/umount", [path]) }

    static func run(_ tool: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
