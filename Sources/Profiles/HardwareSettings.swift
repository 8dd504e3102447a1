import Alarms
import Hardware
import Supervision

/// The box's alarm hardware: buzzer, acknowledge/pause button, status LED and watchdog. Each
/// is optional; the agent warns at start about each one missing (a box without a buzzer is no
/// alarm system, but the agent still charts).
public struct HardwareSettings: Sendable, Equatable {
    public var buzzer: GPIOOutputSettings?
    public var button: GPIOInputSettings?
    public var statusLED: GPIOOutputSettings?
    /// IEC 60601-1-8 burst timing, validated against the standard's ranges.
    public var buzzerTiming: SignalTiming
    public var watchdog: WatchdogSettings?

    public init(buzzer: GPIOOutputSettings? = nil, button: GPIOInputSettings? = nil, statusLED: GPIOOutputSettings? = nil,
                buzzerTiming: SignalTiming = SignalTiming(), watchdog: WatchdogSettings? = nil) {
        self.buzzer = buzzer
        self.button = button
        self.statusLED = statusLED
        self.buzzerTiming = buzzerTiming
        self.watchdog = watchdog
    }
}
