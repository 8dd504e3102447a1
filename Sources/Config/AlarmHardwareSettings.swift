import Alarms

/// The box's own alarm system: where the alarm log lives, and the limits every bed starts
/// from (DESIGN.md section 4 defaults, changed box-wide under `alarms:`; a bed's own
/// `alarms:` section changes them further for that bed, giving `BedConfig.alarms`).
public struct AlarmSettings: Sendable, Equatable {
    /// Start, end, escalate, acknowledge, pause and limit-change events, one line each; read
    /// back at start so latched alarms and event numbers survive a restart.
    public var logPath: String
    public var defaults: BedAlarmSettings

    public static let defaultLogPath = "/var/lib/bedside-gateway/alarms.log"

    public init(logPath: String = AlarmSettings.defaultLogPath, defaults: BedAlarmSettings = BedAlarmSettings()) {
        self.logPath = logPath
        self.defaults = defaults
    }
}

/// One GPIO line the agent drives or reads.
public enum GPIOLineSettings: Sendable, Equatable {
    /// A line of a GPIO character device, e.g. /dev/gpiochip0 line 17. `activeLow`: the line
    /// is low when the buzzer sounds, the LED is lit or the button is pressed.
    case chip(path: String, line: UInt32, activeLow: Bool)
    /// Development boxes without the hardware (board `x86_64-dev`): an output appends every
    /// level it is set to, as "<CLOCK_MONOTONIC ns> <0|1>" lines, to this file.
    case recordingFile(String)
    /// Development boxes: an input reads "1" (pressed) and "0" (released) lines from this FIFO.
    case fifo(String)
}

/// A hardware watchdog device.
public struct WatchdogSettings: Sendable, Equatable {
    public var device: String
    /// Asked of the driver at start (WDIOC_SETTIMEOUT); nil keeps the driver's own timeout.
    public var timeoutSeconds: Int?

    public init(device: String = "/dev/watchdog", timeoutSeconds: Int? = nil) {
        self.device = device
        self.timeoutSeconds = timeoutSeconds
    }
}

/// The box's alarm hardware: buzzer, acknowledge/pause button, status LED and watchdog. Each
/// is optional; the agent warns at start about each one missing (a box without a buzzer is no
/// alarm system, but the agent still charts).
public struct HardwareSettings: Sendable, Equatable {
    public var buzzer: GPIOLineSettings?
    public var button: GPIOLineSettings?
    public var statusLED: GPIOLineSettings?
    /// IEC 60601-1-8 burst timing, validated against the standard's ranges.
    public var buzzerTiming: SignalTiming
    public var watchdog: WatchdogSettings?

    public init(buzzer: GPIOLineSettings? = nil, button: GPIOLineSettings? = nil, statusLED: GPIOLineSettings? = nil,
                buzzerTiming: SignalTiming = SignalTiming(), watchdog: WatchdogSettings? = nil) {
        self.buzzer = buzzer
        self.button = button
        self.statusLED = statusLED
        self.buzzerTiming = buzzerTiming
        self.watchdog = watchdog
    }
}
