// Optional status LED: on, off, or blinking, driven from whatever loop already runs
// (call `refresh(at:)` often enough for the blink period).
import Platform

public enum LEDState: Equatable, Sendable {
    case off
    case on
    /// On for half the period, off for the other half.
    case blink(periodMilliseconds: Int)

    /// The LED's level at `time` (pure).
    public func level(at time: MonotonicInstant) -> Bool {
        switch self {
        case .off: return false
        case .on: return true
        case .blink(let period):
            let periodNs = Int64(max(period, 2)) * 1_000_000
            return time.nanoseconds % periodNs < periodNs / 2
        }
    }

    /// When the level next changes after `time`, so a loop that blocks knows when to wake for
    /// it; nil for a steady state.
    public func nextChange(after time: MonotonicInstant) -> MonotonicInstant? {
        guard case .blink(let period) = self else { return nil }
        let halfNs = Int64(max(period, 2)) * 1_000_000 / 2
        return MonotonicInstant(nanoseconds: time.nanoseconds - time.nanoseconds % halfNs + halfNs)
    }
}

public final class StatusLED {
    private let output: any GPIOOutputLine
    public var state: LEDState
    private var lastLevel: Bool?

    public init(output: any GPIOOutputLine, state: LEDState = .off) {
        self.output = output
        self.state = state
    }

    /// Writes the level for `time` if it changed.
    public func refresh(at time: MonotonicInstant = MonotonicInstant.now()) throws(GPIOError) {
        let level = state.level(at: time)
        if level == lastLevel { return }
        try output.set(level)
        lastLevel = level
    }
}
