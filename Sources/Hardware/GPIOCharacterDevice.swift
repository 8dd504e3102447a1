// Linux GPIO character device, v2 uAPI, through the C wrappers in CShims/gpio.c.
// This machine has no /dev/gpiochipN: only the error paths run here; the emulated arm64
// box (Deploy/emulated-box.sh: a PL061 on qemu's virt machine) exercises the real thing.
import CShims
import Platform

/// Requests lines from one chip. The chip fd is opened per request and closed after it:
/// the line fd the kernel returns lives on by itself.
public struct GPIOChip: Sendable {
    /// e.g. "/dev/gpiochip0".
    public var path: String
    /// The consumer label the kernel shows in `gpioinfo`.
    public var consumer: String

    public init(path: String, consumer: String = "bedside-gateway") {
        self.path = path
        self.consumer = consumer
    }

    /// Requests `line` as an output, initially inactive; `activeLow`: active drives the pin low.
    public func requestOutput(line: UInt32, initiallyActive: Bool = false,
                              activeLow: Bool = false) throws(GPIOError) -> GPIOCharacterDeviceOutput {
        let chipFD = try open(line: line)
        defer { releaseDescriptor(chipFD) }
        let fd = bedside_gpio_request_output(chipFD, line, initiallyActive ? 1 : 0, activeLow ? 1 : 0, consumer)
        if fd < 0 { throw GPIOError(.requestOutput, chip: path, line: line, errno: Errno(-fd)) }
        return GPIOCharacterDeviceOutput(fd: fd, chip: path, line: line)
    }

    /// Requests `line` as an input reporting both edges, with the kernel's debounce
    /// (`debounceMicroseconds`, 0 for none) and optional active-low inversion.
    public func requestInput(line: UInt32, debounceMicroseconds: UInt32 = 0,
                             activeLow: Bool = false) throws(GPIOError) -> GPIOCharacterDeviceInput {
        let chipFD = try open(line: line)
        defer { releaseDescriptor(chipFD) }
        let fd = bedside_gpio_request_input(chipFD, line, BEDSIDE_GPIO_EDGE_BOTH, debounceMicroseconds,
                                            activeLow ? 1 : 0, consumer)
        if fd < 0 { throw GPIOError(.requestInput, chip: path, line: line, errno: Errno(-fd)) }
        return GPIOCharacterDeviceInput(fd: fd, chip: path, line: line)
    }

    private func open(line: UInt32) throws(GPIOError) -> Int32 {
        let fd = bedside_gpio_open_chip(path)
        if fd < 0 { throw GPIOError(.openChip, chip: path, line: line, errno: Errno(-fd)) }
        return fd
    }
}

/// An output line held through its request fd; released on deinit.
public final class GPIOCharacterDeviceOutput: GPIOOutputLine {
    private let fd: Int32
    public let chip: String
    public let line: UInt32

    init(fd: Int32, chip: String, line: UInt32) {
        self.fd = fd
        self.chip = chip
        self.line = line
    }

    deinit { releaseDescriptor(fd) }

    public func set(_ active: Bool) throws(GPIOError) {
        let rc = bedside_gpio_set_value(fd, active ? 1 : 0)
        if rc < 0 { throw GPIOError(.setValue, chip: chip, line: line, errno: Errno(-rc)) }
    }
}

/// An input line with edge detection; events carry the kernel's CLOCK_MONOTONIC timestamps.
public final class GPIOCharacterDeviceInput: GPIOInputLine {
    private let fd: Int32
    public let chip: String
    public let line: UInt32

    init(fd: Int32, chip: String, line: UInt32) {
        self.fd = fd
        self.chip = chip
        self.line = line
    }

    deinit { releaseDescriptor(fd) }

    public var readinessDescriptor: Int32? { fd }

    public func nextEdge(timeoutMilliseconds: Int) throws(GPIOError) -> GPIOEdgeEvent? {
        var event = bedside_gpio_event()
        let rc = bedside_gpio_read_event(fd, Int32(clamping: timeoutMilliseconds), &event)
        if rc < 0 {
            // A signal ends the wait early, as a timeout would: the caller checks for a stop.
            if Errno(-rc) == .interrupted { return nil }
            throw GPIOError(.readEvent, chip: chip, line: line, errno: Errno(-rc))
        }
        if rc == 0 { return nil }
        return GPIOEdgeEvent(rising: event.rising != 0,
                             time: MonotonicInstant(nanoseconds: Int64(bitPattern: event.timestamp_ns)))
    }
}
