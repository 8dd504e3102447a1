/// A GPIO line the agent drives: the buzzer or the status LED. Outputs and inputs are distinct
/// types so that an output reading a FIFO, or an input recording to a file, cannot be written.
public enum GPIOOutputSettings: Sendable, Equatable {
    /// A line of a GPIO character device, e.g. /dev/gpiochip0 line 17. `activeLow`: the line
    /// is low when the buzzer sounds or the LED is lit.
    case chip(path: String, line: UInt32, activeLow: Bool)
    /// Development boxes without the hardware: every level the line is set to is appended, as
    /// "<CLOCK_MONOTONIC ns> <0|1>" lines, to this file.
    case recordingFile(String)
}

/// A GPIO line the agent reads: the acknowledge/pause button.
public enum GPIOInputSettings: Sendable, Equatable {
    /// A line of a GPIO character device. `activeLow`: the line is low while the button is pressed.
    case chip(path: String, line: UInt32, activeLow: Bool)
    /// Development boxes: "1" (pressed) and "0" (released) lines read from this FIFO.
    case fifo(String)
}
