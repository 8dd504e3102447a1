// GPIO lines of a development box (board x86_64-dev) that has no buzzer, button or LED:
// the agent runs as a separate process there, so its lines talk through files a test or a
// developer can read and write. Fakes only because /dev/gpiochipN does not exist here.
import CShims
import Platform

/// An output that appends "<CLOCK_MONOTONIC ns> <0|1>\n" to a file at every `set`, so a test
/// in another process measures pulse and gap durations on the agent's own clock (one
/// system-wide clock: the test's CLOCK_MONOTONIC is the same).
public final class FileRecordingOutputLine: GPIOOutputLine {
    private let fd: Int32
    public let path: String

    /// Creates the file (or appends to it) with mode 0644.
    public init(path: String) throws(GPIOError) {
        self.path = path
        fd = bedside_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 { throw GPIOError(.requestOutput, chip: path, line: 0, errno: .current) }
    }

    // Every `set` reported its own write's failure; close has nothing left to report.
    deinit { _ = close(fd) }

    public func set(_ active: Bool) throws(GPIOError) {
        let now = MonotonicInstant.now()
        // One write per edge (a short line is small enough for one), so a reader never sees
        // half a line from this writer.
        do throws(SystemError) {
            try writeAll(Array("\(now.nanoseconds) \(active ? 1 : 0)\n".utf8), to: fd, path)
        } catch {
            throw GPIOError(.setValue, chip: path, line: 0, errno: error.errno)
        }
    }
}

/// An input fed through a FIFO: each "1" line is a press (rising edge), each "0" line a
/// release, timestamped when the agent reads it. Opened read-write so that a writer closing
/// its end never makes the FIFO report end-of-file.
public final class FIFOInputLine: GPIOInputLine {
    private let fd: Int32
    public let path: String
    private var pending: [UInt8] = []

    public init(path: String) throws(GPIOError) {
        self.path = path
        fd = bedside_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0)
        if fd < 0 { throw GPIOError(.requestInput, chip: path, line: 0, errno: .current) }
    }

    // Opened for reading edges; the write end exists only to keep the FIFO open: nothing to lose.
    deinit { releaseDescriptor(fd) }

    public var readinessDescriptor: Int32? { fd }

    public func nextEdge(timeoutMilliseconds: Int) throws(GPIOError) -> GPIOEdgeEvent? {
        if let edge = takeLine() { return edge }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, Int32(clamping: timeoutMilliseconds))
        if ready < 0 {
            let error = Errno.current
            // A signal ends the wait early, as a timeout would: the caller checks for a stop.
            if error == .interrupted { return nil }
            throw GPIOError(.readEvent, chip: path, line: 0, errno: error)
        }
        if ready == 0 { return nil }
        var chunk = [UInt8](repeating: 0, count: 256)
        let count: Int
        do throws(Errno) {
            count = try retryOnInterrupt { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
        } catch where error == .wouldBlock {
            return nil // another reader took the bytes
        } catch {
            throw GPIOError(.readEvent, chip: path, line: 0, errno: error)
        }
        pending.append(contentsOf: chunk[0..<count])
        return takeLine()
    }

    /// The first complete "0"/"1" line; anything else is skipped.
    private func takeLine() -> GPIOEdgeEvent? {
        while let newline = pending.firstIndex(of: 10) {
            let line = pending[0..<newline]
            pending.removeSubrange(0...newline)
            if line.first == UInt8(ascii: "1") { return GPIOEdgeEvent(rising: true, time: MonotonicInstant.now()) }
            if line.first == UInt8(ascii: "0") { return GPIOEdgeEvent(rising: false, time: MonotonicInstant.now()) }
        }
        return nil
    }
}
