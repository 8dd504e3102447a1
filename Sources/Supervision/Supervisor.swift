import CShims
import Platform
import Synchronization

/// Kick interval for the watchdogs in use: half the hardware timeout and half of systemd's
/// WATCHDOG_USEC (sd_watchdog_enabled's advice), whichever is shorter; `fallbackMilliseconds`
/// when neither applies. Never below 10 ms.
public func chooseKickInterval(hardwareTimeoutSeconds: Int?, systemdWatchdogMicroseconds: Int64?,
                               fallbackMilliseconds: Int = 1000) -> Int {
    var interval: Int?
    if let seconds = hardwareTimeoutSeconds, seconds > 0 { interval = seconds * 1000 / 2 }
    if let microseconds = systemdWatchdogMicroseconds, microseconds > 0 {
        let systemd = systemdKickIntervalMilliseconds(watchdogMicroseconds: microseconds)
        interval = min(interval ?? systemd, systemd)
    }
    return max(10, interval ?? fallbackMilliseconds)
}

/// Counters for the health endpoint and for tests.
public struct SupervisorStatistics: Equatable {
    public var rounds = 0
    /// Rounds that found everyone healthy and kicked.
    public var kicks = 0
    /// Rounds that withheld the kick because someone stalled.
    public var withheld = 0
    public var lastVerdict: SupervisionVerdict = .healthy
}

/// Collects heartbeats and, only while every participant is healthy, keeps the hardware
/// watchdog alive and sends systemd WATCHDOG=1. A stalled participant stops both, so the
/// box (or systemd) resets the agent. Once started, the supervisor thread keeps the object
/// alive until `stop()`.
public final class Supervisor {
    public private(set) var kickIntervalMilliseconds: Int
    private let explicitKickInterval: Int?
    private var watchdog: HardwareWatchdog?
    private let notifier: SystemdNotifier

    private struct Registry {
        var nextID = 1
        var participants: [Heartbeat] = []
    }

    private struct State {
        var tracker = HeartbeatTracker()
        var decider = SupervisionDecider()
        var statistics = SupervisorStatistics()
        var watchdogFailing = false
        var notifyFailing = false
        var stopped = false
    }

    private let registry = Locked(Registry())
    private let state = Locked(State())
    private let stopRequested = Atomic<Bool>(false)
    /// Ends the thread's wait for its next round at once when a stop is requested; nil when the
    /// eventfd could not be made (the wait then ends at the round's deadline).
    private let stopWakeUp = try? WakeUp(purpose: "the wake-up of the supervisor")
    private var thread: OSThread?

    /// `kickIntervalMilliseconds` nil: chosen from the watchdog's actual timeout and the
    /// notifier's WATCHDOG_USEC (see `chooseKickInterval`).
    public init(watchdog: HardwareWatchdog?, notifier: SystemdNotifier, kickIntervalMilliseconds: Int? = nil) {
        self.watchdog = watchdog
        self.notifier = notifier
        explicitKickInterval = kickIntervalMilliseconds
        self.kickIntervalMilliseconds = kickIntervalMilliseconds
            ?? chooseKickInterval(hardwareTimeoutSeconds: watchdog?.timeoutSeconds,
                                  systemdWatchdogMicroseconds: notifier.watchdogMicroseconds)
    }

    /// Hands over the hardware watchdog, opened as late as possible (opening starts its
    /// countdown): before `start()` only. The kick interval follows its timeout unless one was given.
    public func attach(_ watchdog: HardwareWatchdog) {
        precondition(thread == nil, "attach the watchdog before starting the supervisor")
        self.watchdog = watchdog
        kickIntervalMilliseconds = explicitKickInterval
            ?? chooseKickInterval(hardwareTimeoutSeconds: watchdog.timeoutSeconds,
                                  systemdWatchdogMicroseconds: notifier.watchdogMicroseconds)
    }

    /// Registers a participant. `allowedStalenessMilliseconds` defaults to three expected
    /// intervals (at least 100 ms). Call `beat()` on the result from the participant's thread.
    public func register(_ name: String, expectedIntervalMilliseconds: Int,
                         allowedStalenessMilliseconds: Int? = nil) -> Heartbeat {
        registry.withLock { registry in
            let heartbeat = Heartbeat(id: registry.nextID, name: name,
                                      expectedIntervalMilliseconds: expectedIntervalMilliseconds,
                                      allowedStalenessMilliseconds: allowedStalenessMilliseconds
                                          ?? defaultAllowedStaleness(expectedIntervalMilliseconds: expectedIntervalMilliseconds))
            registry.nextID += 1
            registry.participants.append(heartbeat)
            return heartbeat
        }
    }

    /// For a participant that ends on purpose (a bus removed by configuration).
    public func unregister(_ heartbeat: Heartbeat) {
        registry.withLock { registry in
            registry.participants.removeAll { $0.id == heartbeat.id }
        }
    }

    public var participantNames: [String] {
        registry.withLock { registry in registry.participants.map { $0.name } }
    }

    public var statistics: SupervisorStatistics {
        state.withLock { state in state.statistics }
    }

    /// One supervision round at `nowMilliseconds` (monotonic): sample, decide, act. The thread
    /// calls it every kick interval; tests call it with fake times (never alongside a running thread).
    @discardableResult
    public func runOnce(nowMilliseconds: Int64) -> SupervisionDecision {
        let samples = registry.withLock { registry in registry.participants.map { $0.sample } }
        let (decision, reportWatchdog, reportNotify) = state.withLock { state -> (SupervisionDecision, Bool, Bool) in
            if state.stopped { return (SupervisionDecision(kick: false), false, false) }
            let verdict = state.tracker.evaluate(samples, nowMilliseconds: nowMilliseconds)
            let decision = state.decider.decide(verdict)
            state.statistics.rounds += 1
            state.statistics.lastVerdict = verdict
            if decision.kick { state.statistics.kicks += 1 } else { state.statistics.withheld += 1 }
            return (decision, !state.watchdogFailing, !state.notifyFailing)
        }
        if let message = decision.logMessage { log(decision.logIsError ? .error : .warning, message) }

        var watchdogError: WatchdogError?
        var notifyError: SystemError?
        if decision.kick, let watchdog {
            do throws(WatchdogError) { try watchdog.keepalive() } catch { watchdogError = error }
        }
        var assignments: [NotifyAssignment] = []
        if decision.kick { assignments.append(.watchdog) }
        if let status = decision.status { assignments.append(.status(status)) }
        if !assignments.isEmpty {
            do throws(SystemError) { try notifier.send(assignments) } catch { notifyError = error }
        }
        // Failures are logged once until the next success, not every kick interval.
        state.withLock { state in
            if decision.kick && watchdog != nil { state.watchdogFailing = watchdogError != nil }
            if !assignments.isEmpty && notifier.isEnabled { state.notifyFailing = notifyError != nil }
        }
        if let watchdogError, reportWatchdog { log(.error, "supervision: \(watchdogError.description): \(watchdogError.advice)") }
        if let notifyError, reportNotify { log(.warning, "supervision: systemd notify: \(notifyError.description)") }
        return decision
    }

    /// Sends READY=1 (with an optional STATUS=) and starts the supervisor thread.
    public func start(readyStatus: String? = nil) throws(SystemError) {
        guard thread == nil else { return }
        do throws(SystemError) {
            try notifier.ready(status: readyStatus)
        } catch {
            log(.warning, "supervision: systemd notify READY=1: \(error.description)")
        }
        let interval = kickIntervalMilliseconds
        var watchdogText = "no hardware watchdog"
        if let watchdog {
            let timeout = watchdog.timeoutSeconds.map { "\($0) s" } ?? "unknown"
            watchdogText = "watchdog \(watchdog.path) (timeout \(timeout))"
        }
        log(.info, "supervision: \(participantNames.count) participant(s), kick every \(interval) ms, \(watchdogText), "
            + "systemd notify \(notifier.isEnabled ? "on" : "off")")
        thread = try OSThread(name: "supervisor") { [self] in
            var next = MonotonicInstant.now()
            while !stopRequested.load(ordering: .acquiring) {
                let now = MonotonicInstant.now()
                runOnce(nowMilliseconds: now.nanoseconds / 1_000_000)
                next = next.adding(milliseconds: interval)
                if next < now { next = now.adding(milliseconds: interval) } // fell behind: no burst
                sleepUnlessStopped(until: next)
            }
        }
    }

    /// Clean shutdown: ends the thread, sends STOPPING=1 and closes the watchdog with the
    /// magic character. Call only when the agent really means to exit; idempotent.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        stopWakeUp?.signal()
        thread?.join()
        thread = nil
        let alreadyStopped = state.withLock { state -> Bool in
            let was = state.stopped
            state.stopped = true
            return was
        }
        if alreadyStopped { return }
        do throws(SystemError) {
            try notifier.stopping()
        } catch {
            log(.warning, "supervision: systemd notify STOPPING=1: \(error.description)")
        }
        if let watchdog {
            do throws(WatchdogError) {
                try watchdog.closeCleanly()
            } catch {
                log(.error, "supervision: \(error.description): \(error.advice)")
            }
        }
    }

    /// Blocks until the next round is due or a stop is requested: the thread wakes once per
    /// kick interval, not on a shorter tick.
    private func sleepUnlessStopped(until deadline: MonotonicInstant) {
        while !stopRequested.load(ordering: .acquiring) {
            let now = MonotonicInstant.now()
            if !(now < deadline) { return }
            guard let stopWakeUp else {
                sleep(until: deadline)
                return
            }
            // Rounded up: a wait that ends before the deadline only goes round this loop again.
            let remaining = (deadline.nanoseconds - now.nanoseconds + 999_999) / 1_000_000
            stopWakeUp.wait(timeoutMilliseconds: Int(remaining))
        }
    }
}
