// The GPIO seam: what the buzzer, button and LED need from a line, and nothing more.
// Backends: the Linux GPIO character device (GPIOCharacterDevice.swift) and the recording
// stand-in for tests (RecordingGPIO.swift). Protocols are class-bound so `any` works in
// Embedded Swift.
import CShims
import Platform

/// A GPIO line driven by the agent.
public protocol GPIOOutputLine: AnyObject {
    /// Drives the line: true = active (buzzer sounding, LED lit).
    func set(_ active: Bool) throws(GPIOError)
}

/// One edge on an input line, timestamped on CLOCK_MONOTONIC.
public struct GPIOEdgeEvent: Equatable, Sendable {
    /// true: the line became active (rising, after any active-low inversion).
    public var rising: Bool
    public var time: MonotonicInstant

    public init(rising: Bool, time: MonotonicInstant) {
        self.rising = rising
        self.time = time
    }
}

/// A GPIO line read through edge events.
public protocol GPIOInputLine: AnyObject {
    /// Waits up to `timeoutMilliseconds` (negative: forever) for the next edge; nil on timeout.
    func nextEdge(timeoutMilliseconds: Int) throws(GPIOError) -> GPIOEdgeEvent?
    /// A descriptor that poll(2) reports readable when an edge may be waiting, so a thread can
    /// wait for the line and other work at once; nil when the line has none (a scripted line).
    var readinessDescriptor: Int32? { get }
}

/// A failed GPIO operation, naming the chip and the line.
public struct GPIOError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Operation: String, Sendable {
        case openChip = "open GPIO chip"
        case requestOutput = "request output line"
        case requestInput = "request input line"
        case setValue = "set value of line"
        case readEvent = "read edge event of line"
        case closed = "use closed line"
    }

    public var operation: Operation
    /// The chip's path, e.g. /dev/gpiochip0.
    public var chip: String
    /// The line offset on that chip.
    public var line: UInt32
    public var errno: Errno

    public init(_ operation: Operation, chip: String, line: UInt32, errno: Errno) {
        self.operation = operation
        self.chip = chip
        self.line = line
        self.errno = errno
    }

    public var description: String {
        return "\(operation.rawValue) \(chip) line \(line) failed: \(errno.descriptionWithNumber)"
    }
}
