/// The hardware facts of one kind of edge board (Boards/<id>.yaml): which GPIO lines the alarm
/// parts use, the watchdog and the timeouts its driver accepts, the serial ports and their
/// RS-485 wiring, and where the real-time threads run. A configuration's `board:` takes its
/// defaults from here; see Boards/README.md.
public struct BoardProfile: Sendable, Equatable {
    /// The file's name without `.yaml`, e.g. "raspberry-pi-4".
    public var id: String
    /// For people, e.g. "Raspberry Pi 4 Model B / Compute Module 4".
    public var name: String
    public var architecture: BoardArchitecture
    /// Where each fact comes from (datasheet or board documentation, with its section).
    public var sources: [String]
    /// The same settings as a configuration's `hardware:` section.
    public var hardware: HardwareSettings
    /// The GPIO character devices the parts may use, so a line beyond a chip's end or one the
    /// board already wires to something else is refused before the agent starts.
    public var gpioChips: [BoardGPIOChip]
    /// `timeout_s` values the watchdog driver accepts; nil without a watchdog.
    public var watchdogTimeouts: ClosedRange<Int>?
    public var serialPorts: [BoardSerialPort]
    public var realtime: BoardRealtime

    public init(id: String, name: String, architecture: BoardArchitecture, sources: [String],
                hardware: HardwareSettings, gpioChips: [BoardGPIOChip], watchdogTimeouts: ClosedRange<Int>?,
                serialPorts: [BoardSerialPort], realtime: BoardRealtime) {
        self.id = id
        self.name = name
        self.architecture = architecture
        self.sources = sources
        self.hardware = hardware
        self.gpioChips = gpioChips
        self.watchdogTimeouts = watchdogTimeouts
        self.serialPorts = serialPorts
        self.realtime = realtime
    }

    /// The serial port at `device`, when the board describes it.
    public func serialPort(_ device: String) -> BoardSerialPort? {
        for port in serialPorts where port.device == device { return port }
        return nil
    }
}

/// Which Debian package the board takes.
public enum BoardArchitecture: String, Sendable, Equatable, CaseIterable {
    case arm64, amd64
}

/// One GPIO character device of the board.
public struct BoardGPIOChip: Sendable, Equatable {
    public var path: String
    /// Lines 0 ..< lineCount exist.
    public var lineCount: Int
    /// Lines the board already wires to something else (qemu's power button, a HAT's pins).
    public var reservedLines: [Int]

    public init(path: String, lineCount: Int, reservedLines: [Int] = []) {
        self.path = path
        self.lineCount = lineCount
        self.reservedLines = reservedLines
    }
}

/// A serial port with an RS-485 transceiver, and how its direction is switched.
public struct BoardSerialPort: Sendable, Equatable {
    public var device: String
    /// True when RTS drives the transceiver's direction (the configuration's `rs485_rts`);
    /// false for transceivers that switch direction by themselves.
    public var rs485RTS: Bool
    public var rtsDelayMicroseconds: Int
    public var description: String

    public init(device: String, rs485RTS: Bool, rtsDelayMicroseconds: Int, description: String) {
        self.device = device
        self.rs485RTS = rs485RTS
        self.rtsDelayMicroseconds = rtsDelayMicroseconds
        self.description = description
    }
}

/// Where the real-time sampling threads run: the defaults of `sampling.cpu` and `sampling.priority`.
public struct BoardRealtime: Sendable, Equatable {
    public var cpu: Int
    public var priority: Int

    public init(cpu: Int, priority: Int) {
        self.cpu = cpu
        self.priority = priority
    }
}
