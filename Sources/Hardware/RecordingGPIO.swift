// Stand-ins for the kernel's GPIO lines: fake only because /dev/gpiochipN does not exist on
// the build machines. The output records every level it is told, timestamped on
// CLOCK_MONOTONIC at the call; the input hands out edges a test (or simulator) injects.
import CShims
import Platform

/// One `set` call on a recording line.
public struct RecordedLevel: Equatable, Sendable {
    public var active: Bool
    public var time: MonotonicInstant

    public init(active: Bool, time: MonotonicInstant) {
        self.active = active
        self.time = time
    }
}

public final class RecordingOutputLine: GPIOOutputLine, @unchecked Sendable {
    private let log = Locked<[RecordedLevel]>([])
    private let current = Locked<Bool>(false)

    public init() {}

    public func set(_ active: Bool) throws(GPIOError) {
        let now = MonotonicInstant.now()
        log.withLock { $0.append(RecordedLevel(active: active, time: now)) }
        current.withLock { $0 = active }
    }

    /// Every `set` call so far, including repeats of the same level.
    public var calls: [RecordedLevel] { log.withLock { $0 } }

    /// Level changes only (the edges a scope would see), starting from inactive.
    public var edges: [RecordedLevel] {
        var level = false
        var result: [RecordedLevel] = []
        for call in calls where call.active != level {
            result.append(call)
            level = call.active
        }
        return result
    }

    public var isActive: Bool { current.withLock { $0 } }

    public func clear() { log.withLock { $0.removeAll() } }
}

/// An input line fed by `inject`; `nextEdge` waits (polling every millisecond) for the
/// next injected edge.
public final class ScriptedInputLine: GPIOInputLine, @unchecked Sendable {
    private let queue = Locked<[GPIOEdgeEvent]>([])

    public init() {}

    public func inject(_ event: GPIOEdgeEvent) { queue.withLock { $0.append(event) } }

    /// None: a reader looks at the line whenever it wakes for anything else.
    public var readinessDescriptor: Int32? { nil }

    public func nextEdge(timeoutMilliseconds: Int) throws(GPIOError) -> GPIOEdgeEvent? {
        let deadline = MonotonicInstant.now().adding(milliseconds: max(timeoutMilliseconds, 0))
        while true {
            let event: GPIOEdgeEvent? = queue.withLock { pending in
                pending.isEmpty ? nil : pending.removeFirst()
            }
            if let event { return event }
            if timeoutMilliseconds >= 0 && MonotonicInstant.now() >= deadline { return nil }
            sleep(milliseconds: 1)
        }
    }
}
