import Hardware
import Platform
import Profiles
import Supervision

/// The buzzer, button and status LED of the box, opened from the hardware settings. A line
/// that cannot be opened is reported and left out: the agent still charts and publishes its
/// alarms, and a missing buzzer becomes a technical alarm of its own.
struct AlarmHardware {
    var buzzer: AlarmBuzzer?
    var button: ButtonReader?
    var led: StatusLED?
    /// Why the buzzer is missing, for the technical alarm and the log; nil when it plays.
    var buzzerProblem: String?

    static func open(_ settings: HardwareSettings, realtimePriority: Int?, buzzerHeartbeat: Heartbeat?) -> AlarmHardware {
        var hardware = AlarmHardware()
        if let line = settings.buzzer {
            do throws(GPIOError) {
                let output = try openOutput(line)
                hardware.buzzer = AlarmBuzzer(output: output, timing: settings.buzzerTiming,
                                              realtimePriority: realtimePriority,
                                              heartbeat: buzzerHeartbeat.map { heartbeat in { heartbeat.beat() } })
            } catch {
                hardware.buzzerProblem = "cannot drive the buzzer: \(error.description)"
            }
        } else {
            hardware.buzzerProblem = "no buzzer configured (hardware.buzzer)"
        }
        if let line = settings.button {
            do throws(GPIOError) {
                // Short waits: the alarm thread uses the button's wait as its round timer.
                hardware.button = ButtonReader(input: try openInput(line), maximumWaitMilliseconds: AlarmStation.longestWaitMilliseconds)
            } catch {
                log(.error, "cannot read the alarm button: \(error.description); acknowledge and pause by command only")
            }
        }
        if let line = settings.statusLED {
            do throws(GPIOError) {
                hardware.led = StatusLED(output: try openOutput(line))
            } catch {
                log(.warning, "cannot drive the status LED: \(error.description)")
            }
        }
        return hardware
    }

    static func openOutput(_ line: GPIOOutputSettings) throws(GPIOError) -> any GPIOOutputLine {
        switch line {
        case let .chip(path, offset, activeLow):
            return try GPIOChip(path: path).requestOutput(line: offset, activeLow: activeLow)
        case let .recordingFile(path):
            return try FileRecordingOutputLine(path: path)
        }
    }

    static func openInput(_ line: GPIOInputSettings) throws(GPIOError) -> any GPIOInputLine {
        switch line {
        case let .chip(path, offset, activeLow):
            // The kernel debounces too where the chip can; the debouncer decides either way.
            return try GPIOChip(path: path).requestInput(line: offset, debounceMicroseconds: 5000, activeLow: activeLow)
        case let .fifo(path):
            return try FIFOInputLine(path: path)
        }
    }
}
