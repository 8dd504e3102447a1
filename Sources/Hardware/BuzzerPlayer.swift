// Plays the requested level's repeating burst on a GPIO output, on a thread of its own, to
// absolute CLOCK_MONOTONIC deadlines. The levels are plain data (steps of on/off and their
// durations); which alarm priority maps to which level is the caller's business.
//
// Switching rules (what the caller can rely on):
// - silence (request nil): the line goes inactive at once (within the wake-up latency of
//   a condition variable, well under 10 ms), even mid-pulse;
// - a higher level than the one playing (or any level after silence) starts at once: the
//   current burst is cut; if the line was active it goes inactive and the new burst's first
//   step starts the new level's `cutInGapMilliseconds` later, so the old and new pulses stay
//   distinct edges; if it was inactive the new burst starts immediately;
// - a lower level takes over at the next burst boundary: the current burst, including
//   its final silence, plays to its end, so the rhythm is never cut by a downgrade.
// Deadlines are absolute (first rising edge + sum of segments). If the thread wakes more
// than `slipMilliseconds` late it re-bases on the current time instead of shortening the
// following segments to catch up.
import CShims
import Platform

/// One stretch of constant level on the buzzer line.
public struct BuzzerStep: Equatable, Sendable {
    public var on: Bool
    public var milliseconds: Int

    public init(on: Bool, milliseconds: Int) {
        self.on = on
        self.milliseconds = milliseconds
    }
}

/// One level's burst, played back to back while the level is requested.
public struct BuzzerBurst: Equatable, Sendable {
    /// Alternating steps; the last one is the silence before the next burst.
    public var steps: [BuzzerStep]
    /// How long the line stays inactive before this burst cuts in on an active line.
    public var cutInGapMilliseconds: Int

    public init(steps: [BuzzerStep], cutInGapMilliseconds: Int) {
        self.steps = steps
        self.cutInGapMilliseconds = cutInGapMilliseconds
    }
}

/// Everything the buzzer can play: `levels[0]` the least urgent, the last the most.
public struct BuzzerPatterns: Equatable, Sendable {
    public var levels: [BuzzerBurst]

    public init(levels: [BuzzerBurst]) { self.levels = levels }
}

public final class BuzzerPlayer: @unchecked Sendable {
    /// Request mailbox: a mutex and a CLOCK_MONOTONIC condition variable, so a new request
    /// wakes the player out of a (possibly 15 s) interburst wait at once.
    private final class Mailbox {
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        var requested: Int?
        var stopping = false
        var generation: UInt64 = 0

        init() {
            pthread_mutex_init(mutex, nil)
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
            pthread_cond_init(condition, &attributes)
            pthread_condattr_destroy(&attributes)
        }

        deinit {
            pthread_cond_destroy(condition)
            pthread_mutex_destroy(mutex)
            condition.deallocate()
            mutex.deallocate()
        }

        func update(_ body: (Mailbox) -> Void) {
            pthread_mutex_lock(mutex)
            body(self)
            generation &+= 1
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }

        func snapshot() -> (requested: Int?, stopping: Bool, generation: UInt64) {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return (requested, stopping, generation)
        }

        /// Waits until `deadline` or until the generation moves past `seen`.
        func wait(until deadline: MonotonicInstant, seen: UInt64) {
            var ts = timespec()
            ts.tv_sec = Int(deadline.nanoseconds / 1_000_000_000)
            ts.tv_nsec = Int(deadline.nanoseconds % 1_000_000_000)
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            while generation == seen {
                let rc = pthread_cond_timedwait(condition, mutex, &ts)
                // ETIMEDOUT at the deadline; 0 (woken, or spuriously) goes round the loop. POSIX
                // lets pthread_cond_timedwait return no EINTR, and any other code is a bad deadline.
                if rc != 0 { return }
            }
        }
    }

    private let output: any GPIOOutputLine
    public let patterns: BuzzerPatterns
    private let mailbox = Mailbox()
    private let observed = Locked<(playing: Int?, lastError: GPIOError?, errors: Int)>((nil, nil, 0))
    private let heartbeat: (() -> Void)?
    private let idleWakeMilliseconds: Int
    private let slipMilliseconds: Int
    private let realtimePriority: Int?
    private var thread: OSThread?

    /// - Parameters:
    ///   - output: the buzzer line.
    ///   - patterns: one burst per level, each with at least one step of a positive duration.
    ///   - idleWakeMilliseconds: how often the thread wakes when silent (heartbeat).
    ///   - slipMilliseconds: lateness after which the schedule re-bases on now.
    ///   - realtimePriority: SCHED_FIFO priority to ask for; failure is ignored.
    ///   - heartbeat: called on the player thread after every segment and idle wake,
    ///     for the watchdog supervisor.
    public init(output: any GPIOOutputLine, patterns: BuzzerPatterns,
                idleWakeMilliseconds: Int = 1000, slipMilliseconds: Int = 20,
                realtimePriority: Int? = nil, heartbeat: (() -> Void)? = nil) {
        self.output = output
        self.patterns = patterns
        self.idleWakeMilliseconds = idleWakeMilliseconds
        self.slipMilliseconds = slipMilliseconds
        self.realtimePriority = realtimePriority
        self.heartbeat = heartbeat
    }

    /// Starts the player thread (silent until `request`).
    public func start() throws(SystemError) {
        if thread != nil { return }
        thread = try OSThread(name: "buzzer") { [self] in run() }
    }

    /// The level (an index into `patterns.levels`) that should sound, or nil for silence.
    /// Cheap; any thread. A level without a burst, or with no steps, is silence.
    public func request(_ level: Int?) {
        let playable = level.flatMap { patterns.levels.indices.contains($0) && !patterns.levels[$0].steps.isEmpty ? $0 : nil }
        mailbox.update { $0.requested = playable }
    }

    public var requested: Int? { mailbox.snapshot().requested }

    /// What the thread is playing now (after the switching rules above).
    public var playing: Int? { observed.withLock { $0.playing } }

    /// The last failed write to the line, and how many writes failed.
    public var lastError: GPIOError? { observed.withLock { $0.lastError } }
    public var errorCount: Int { observed.withLock { $0.errors } }

    /// Silences the line and joins the thread.
    public func stop() {
        mailbox.update { $0.stopping = true }
        thread?.join()
        thread = nil
    }

    private func drive(_ active: Bool) {
        do throws(GPIOError) {
            try output.set(active)
        } catch {
            observed.withLock {
                $0.lastError = error
                $0.errors += 1
            }
        }
    }

    private func setPlaying(_ level: Int?) {
        observed.withLock { $0.playing = level }
    }

    private func run() {
        if let realtimePriority { _ = makeCurrentThreadRealtime(priority: realtimePriority, cpu: nil) }
        var playing: Int? = nil
        var segments: [BuzzerStep] = []
        var index = 0
        var deadline = MonotonicInstant.now()
        var lineActive = false
        drive(false)

        while true {
            let state = mailbox.snapshot()
            if state.stopping { break }

            if state.requested == nil, playing != nil {
                // Silence: at once, even mid-pulse.
                drive(false)
                lineActive = false
                playing = nil
                setPlaying(nil)
            } else if let wanted = state.requested, playing == nil || wanted > playing! {
                // Higher level (or first request): start now.
                let now = MonotonicInstant.now()
                if lineActive {
                    drive(false)
                    lineActive = false
                    deadline = now.adding(milliseconds: patterns.levels[wanted].cutInGapMilliseconds)
                } else {
                    deadline = now
                }
                playing = wanted
                segments = patterns.levels[wanted].steps
                index = 0
                setPlaying(wanted)
            }

            guard let current = playing else {
                mailbox.wait(until: MonotonicInstant.now().adding(milliseconds: idleWakeMilliseconds),
                             seen: state.generation)
                heartbeat?()
                continue
            }

            let now = MonotonicInstant.now()
            if now >= deadline {
                if index == 0, let wanted = state.requested, wanted != current {
                    // Burst boundary: a lower level takes over here.
                    playing = wanted
                    segments = patterns.levels[wanted].steps
                    setPlaying(wanted)
                }
                let segment = segments[index]
                drive(segment.on)
                lineActive = segment.on
                let base = now.nanoseconds - deadline.nanoseconds > Int64(slipMilliseconds) * 1_000_000 ? now : deadline
                deadline = base.adding(milliseconds: segment.milliseconds)
                index = (index + 1) % segments.count
                heartbeat?()
                continue
            }
            // Interburst intervals last up to 16 s: wake at least every idle period to beat,
            // or the supervisor would take a playing buzzer for a hung one.
            let wake = now.adding(milliseconds: idleWakeMilliseconds)
            mailbox.wait(until: deadline < wake ? deadline : wake, seen: state.generation)
            heartbeat?()
        }
        drive(false)
        setPlaying(nil)
    }
}
