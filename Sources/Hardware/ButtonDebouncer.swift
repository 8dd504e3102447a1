// The alarm push button: raw edge events in, acknowledge / pause-audio out. Pure: time only
// enters through the events' timestamps and `advance(to:)`, so tests need no thread.
//
// Rules:
// - a level counts once it has been stable for `debounceMilliseconds` (bounces inside the
//   window are ignored; a press shorter than the window never happened);
// - a press released before `longPressMilliseconds` is a short press: `.acknowledge`, on release;
// - a press held `longPressMilliseconds` (2 s) is a long press: `.pauseAudio`, as soon as
//   the threshold is reached (while still held, via `advance(to:)`); its release is silent.
// Held time is measured between the debounced (first stable) edges' raw timestamps; the
// long press fires only while the raw level is still pressed (a release 1 ms before the
// threshold is a short press even though its debounce window ends after it).
import Platform

public enum ButtonAction: Equatable, Sendable {
    /// Short press: acknowledge the active alarms.
    case acknowledge
    /// Long press: pause audio (2 minutes, the alarm engine decides).
    case pauseAudio
}

public struct ButtonDebouncer: Sendable {
    public var debounceMilliseconds: Int
    public var longPressMilliseconds: Int

    /// Raw level as the last edge left it (true = pressed).
    private var rawPressed = false
    private var rawChangedAt = MonotonicInstant(nanoseconds: 0)
    /// Debounced level.
    public private(set) var pressed = false
    private var pressedAt = MonotonicInstant(nanoseconds: 0)
    private var longPressReported = false

    public init(debounceMilliseconds: Int = 30, longPressMilliseconds: Int = 2000) {
        self.debounceMilliseconds = debounceMilliseconds
        self.longPressMilliseconds = longPressMilliseconds
    }

    /// Feeds one raw edge (rising = pressed, after any active-low inversion). Returns the
    /// action that time up to the edge completed, if any.
    public mutating func handle(_ edge: GPIOEdgeEvent) -> ButtonAction? {
        let action = advance(to: edge.time)
        if edge.rising != rawPressed {
            rawPressed = edge.rising
            rawChangedAt = edge.time
        }
        return action
    }

    /// Lets time pass without an edge: accepts a level stable for the debounce window and
    /// reports a long press that reached its threshold. Call it at `nextDeadline` at least.
    public mutating func advance(to now: MonotonicInstant) -> ButtonAction? {
        var action: ButtonAction? = nil
        if rawPressed != pressed && now.nanoseconds - rawChangedAt.nanoseconds >= Int64(debounceMilliseconds) * 1_000_000 {
            pressed = rawPressed
            if pressed {
                pressedAt = rawChangedAt
                longPressReported = false
            } else {
                let held = rawChangedAt.nanoseconds - pressedAt.nanoseconds
                if !longPressReported && held < Int64(longPressMilliseconds) * 1_000_000 { action = .acknowledge }
                longPressReported = false
            }
        }
        if pressed && rawPressed && !longPressReported
            && now.nanoseconds - pressedAt.nanoseconds >= Int64(longPressMilliseconds) * 1_000_000 {
            longPressReported = true
            action = .pauseAudio
        }
        return action
    }

    /// When `advance(to:)` next has something to decide (debounce window end or long-press
    /// threshold); nil when idle. A reader waits for an edge at most until then.
    public var nextDeadline: MonotonicInstant? {
        if rawPressed != pressed { return rawChangedAt.adding(milliseconds: debounceMilliseconds) }
        if pressed && rawPressed && !longPressReported { return pressedAt.adding(milliseconds: longPressMilliseconds) }
        return nil
    }
}

/// Reads a button line and turns its edges into actions. Call `poll` in a loop on the
/// thread that owns the button (it blocks at most `maximumWaitMilliseconds`).
public final class ButtonReader {
    private let input: any GPIOInputLine
    public private(set) var debouncer: ButtonDebouncer
    public let maximumWaitMilliseconds: Int

    public init(input: any GPIOInputLine, debouncer: ButtonDebouncer = ButtonDebouncer(),
                maximumWaitMilliseconds: Int = 500) {
        self.input = input
        self.debouncer = debouncer
        self.maximumWaitMilliseconds = maximumWaitMilliseconds
    }

    /// The line's descriptor for poll(2), when it has one (see `GPIOInputLine`).
    public var readinessDescriptor: Int32? { input.readinessDescriptor }

    /// Waits for the next edge or deadline; returns an action when one completed.
    public func poll() throws(GPIOError) -> ButtonAction? {
        try poll(waitingAtMost: maximumWaitMilliseconds)
    }

    /// `poll()` with a wait of its own; 0 takes only what is there already, for a thread that
    /// waited on `readinessDescriptor` and `debouncer.nextDeadline` itself.
    public func poll(waitingAtMost maximumWait: Int) throws(GPIOError) -> ButtonAction? {
        var wait = maximumWait
        if let deadline = debouncer.nextDeadline {
            let remaining = Int((deadline.nanoseconds - MonotonicInstant.now().nanoseconds + 999_999) / 1_000_000)
            wait = max(0, min(wait, remaining))
        }
        if let edge = try input.nextEdge(timeoutMilliseconds: wait) {
            if let action = debouncer.handle(edge) { return action }
        }
        return debouncer.advance(to: MonotonicInstant.now())
    }
}
