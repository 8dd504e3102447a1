import Acquisition
import Alarms
import Config
import Hardware
import Health
import Platform
import Supervision
import Synchronization

/// What the publisher and the health endpoint may know of the alarm system, refreshed by
/// the alarm thread every round.
struct AlarmSnapshot {
    var active = 0
    var audible: AlarmPriority?
    var audioPausedUntilMilliseconds: Int64?
    var logFailures = 0
    var logCheck = HealthCheck.pass("alarm log", "nothing written yet")
    /// 1 when what stood at the alarm log's path at start was moved aside.
    var logMovedAside = 0
    var buzzerErrors = 0
    /// Records the publisher's rings had no room for (the publisher stalled for seconds).
    var forwardDropped = 0
}

/// The box's alarm system at run time, on a thread of its own: it is the first reader of every
/// sampling loop's ring, so an alarm never waits for the disk queue, the broker or the health
/// endpoint. It blocks until there is work: a loop finished a cycle, the button moved, a
/// command changed the desk, or time has to act. Each round feeds the records to the alarm
/// engine, passes them on to the publisher through a second ring per loop (and wakes it), lets
/// time act (condition delays, escalation, end of the audio pause), asks the buzzer for the
/// pattern of the highest audible priority, reads the button and drives the status LED.
final class AlarmStation: AlarmOutlet {
    /// The longest the thread blocks when neither data nor a timer wakes it: keeps its
    /// heartbeat well inside its allowance (5 s) on a box whose loops sample slowly. Timers
    /// (condition delays, escalation, end of the audio pause, alarm log retries) wake it at
    /// their own deadlines, not on this period.
    static let longestWaitMilliseconds = 1000
    /// A buzzer line that failed stays a fault until it has worked this long.
    static let buzzerFaultQuietMilliseconds: Int64 = 10_000
    /// A button without a descriptor (a scripted test line) is looked at this often.
    static let buttonWithoutDescriptorMilliseconds = 20

    private let desk: Locked<AlarmDesk>
    private let snapshotBox = Locked(AlarmSnapshot())
    private let loops: [BusLoop]
    /// The publisher reads these instead of the loops' own rings.
    let forwardRings: [SPSCRing<SampleRecord>]
    private let buzzer: AlarmBuzzer?
    private let button: ButtonReader?
    private let led: StatusLED?
    private let heartbeat: Heartbeat?
    /// Signalled by every loop after each device it polled (while this thread waits) and by
    /// commands that change the desk.
    private let wakeUp: WakeUp
    /// Signalled when the desk has events or states to publish, and when records were
    /// forwarded while the publisher waits (`signalIfWaiting`).
    private let publisherWakeUp: WakeUp?
    private let stopRequested = Atomic<Bool>(false)
    private var thread: OSThread?
    private var requestedSignal: AlarmPriority?
    private var buzzerFaultActive = false
    private var buzzerErrorsSeen = 0
    private var lastBuzzerError: Int64?
    private var lastOverrunCheck: Int64 = 0
    /// Monotonic milliseconds when the desk, the overrun check or the buzzer fault next have
    /// something to do on their own (computed each round); nil when nothing is timed.
    private var nextTimer: Int64?
    /// After a failed read the button is left alone until then: a line in error stays readable
    /// for poll(2), and waiting on it would spin.
    private var buttonRestsUntil: MonotonicInstant?
    private var forwardDropped = 0
    /// The snapshot of the last round that asked the engine, and the engine's revision then
    /// (nil before the first round).
    private var lastState = AlarmSnapshot()
    private var seenRevision: UInt64?
    /// Set by the publisher: a device lost or the broker away shows on the LED.
    private let degraded = Atomic<Bool>(false)

    /// Makes itself the wake-up target of every loop: call before the loops start.
    init(desk: AlarmDesk, loops: [BusLoop], buzzer: AlarmBuzzer?, button: ButtonReader?, led: StatusLED?,
         heartbeat: Heartbeat?, wakeUp: WakeUp, publisherWakeUp: WakeUp?) {
        self.desk = Locked(desk)
        self.loops = loops
        self.wakeUp = wakeUp
        self.publisherWakeUp = publisherWakeUp
        for loop in loops { loop.consumerWakeUp = wakeUp }
        forwardRings = loops.map { SPSCRing(capacity: $0.ring.capacity, filler: SampleRecord.empty) }
        self.buzzer = buzzer
        self.button = button
        self.led = led
        self.heartbeat = heartbeat
    }

    /// Reads the alarm log back and applies each bed's limits; a missing buzzer and a damaged
    /// or unusable disk queue become technical alarms on every bed. Returns notes for the log.
    /// Before `start()`.
    func prepare(config: GatewayConfig, buzzerProblem: String?, queueDamaged: Bool = false,
                 queueUnavailable: Bool = false) -> [String] {
        let now = MonotonicInstant.now().nanoseconds / 1_000_000
        let wall = wallClockMilliseconds()
        return desk.withLock { desk in
            var notes = desk.start(config: config, now: now, wall: wall)
            if let buzzerProblem {
                notes.append(buzzerProblem + "; alarms are published but nothing sounds in the room")
                desk.hardwareFault("buzzer-unavailable", present: true, now: now, wall: wall)
            }
            if queueDamaged { desk.storageFault("queue-damaged", priority: .low, now: now, wall: wall) }
            if queueUnavailable { desk.storageFault("queue-unavailable", priority: nil, now: now, wall: wall) }
            return notes
        }
    }

    /// `realtimePriority`: the sampling loops' SCHED_FIFO priority, when they have one. The
    /// thread then runs one step below them, so a loop is never held up by it, while the
    /// builds and services that share the box's CPUs no longer stand between a sample and
    /// the buzzer (whose thread runs at the loops' priority). Refused, it runs as it is.
    func start(realtimePriority: Int? = nil) throws(SystemError) {
        try buzzer?.start()
        thread = try OSThread(name: "alarms") { [self] in
            if let realtimePriority { _ = makeCurrentThreadRealtime(priority: max(1, realtimePriority - 1), cpu: nil) }
            while !stopRequested.load(ordering: .acquiring) { round() }
        }
    }

    /// Stops the thread and silences the buzzer (a clean stop of the agent; a crash leaves
    /// the line as it was, and the watchdog resets the box).
    func stop() {
        stopRequested.store(true, ordering: .releasing)
        wakeUp.signal()
        thread?.join()
        thread = nil
        buzzer?.stop()
        if let led {
            led.state = .off
            try? led.refresh()
        }
    }

    var snapshot: AlarmSnapshot { snapshotBox.withLock { $0 } }

    private func round() {
        heartbeat?.beat()
        // Before the rings are read: a cycle pushed from here on wakes the next wait.
        wakeUp.drain()
        let started = MonotonicInstant.now()
        let now = started.nanoseconds / 1_000_000
        let wall = wallClockMilliseconds()
        // Once a second at most, or when an overrun fault may end (see `nextTimer`).
        let checkOverruns = now - lastOverrunCheck >= 1000
        if checkOverruns { lastOverrunCheck = now }
        let overruns = checkOverruns ? loops.map { $0.statistics.overruns } : []
        let buzzerErrors = buzzer?.errorCount ?? 0
        if buzzerErrors > buzzerErrorsSeen {
            buzzerErrorsSeen = buzzerErrors
            lastBuzzerError = now
        }
        // Failing while writes failed within the last 10 s: a line that works again ends the fault.
        let buzzerFailing = lastBuzzerError.map { now - $0 < AlarmStation.buzzerFaultQuietMilliseconds } ?? false
        var dropped = 0
        var forwarded = 0
        var publisherHasNews = false
        let fresh = desk.withLock { desk -> AlarmSnapshot? in
            var index = 0
            while index < loops.count {
                while let record = loops[index].ring.pop() {
                    desk.consume(record, now: now, wall: wall)
                    if forwardRings[index].push(record) { forwarded += 1 } else { dropped += 1 }
                }
                index += 1
            }
            // Most rounds take one device's records that change no alarm: the engine's
            // answers then stand until its next deadline, and asking again (every bed, every
            // round) would make a round cost as much as the beds, not as the records.
            let timerDue = nextTimer.map { now >= $0 } ?? false
            if desk.engine.revision == seenRevision && !timerDue && !checkOverruns && buzzerFailing == buzzerFaultActive
                && buzzerErrors == lastState.buzzerErrors {
                publisherHasNews = desk.hasOutgoing
                return nil
            }
            desk.tick(now: now, wall: wall)
            if checkOverruns { desk.checkOverruns(overruns, now: now, wall: wall) }
            if buzzerFailing != buzzerFaultActive {
                desk.hardwareFault("buzzer-failure", present: buzzerFailing, now: now, wall: wall)
            }
            publisherHasNews = desk.hasOutgoing
            nextTimer = nextTimer(desk, now: now, wall: wall, buzzerFailing: buzzerFailing)
            seenRevision = desk.engine.revision
            return AlarmSnapshot(active: desk.activeCount, audible: desk.engine.audibleSignal(now: now),
                                 audioPausedUntilMilliseconds: desk.engine.audioPausedUntil(now: now),
                                 logFailures: desk.logFailures, logCheck: desk.logHealth, logMovedAside: desk.logMovedAside == nil ? 0 : 1,
                                 buzzerErrors: buzzerErrors, forwardDropped: 0)
        }
        // Alarm news always wakes the publisher; records only if it waits (it takes all that
        // are there whenever it runs), so a busy publisher costs this thread no system call.
        if publisherHasNews {
            publisherWakeUp?.signal()
        } else if forwarded > 0 {
            publisherWakeUp?.signalIfWaiting()
        }
        buzzerFaultActive = buzzerFailing
        forwardDropped += dropped
        if let fresh { lastState = fresh }
        if fresh != nil || dropped > 0 {
            var published = lastState
            published.forwardDropped = forwardDropped
            snapshotBox.withLock { $0 = published }
        }
        let state = lastState
        if state.audible != requestedSignal {
            requestedSignal = state.audible
            buzzer?.request(state.audible)
        }
        refreshLED(state, at: started)
        waitForWork(since: started)
    }

    /// The earliest of the desk's timers, the end of an overrun fault (not before the next
    /// overrun check may run, so a due time is never left standing) and the end of a buzzer fault.
    private func nextTimer(_ desk: AlarmDesk, now: Int64, wall: Int64, buzzerFailing: Bool) -> Int64? {
        var earliest = desk.nextDeadline(now: now, wall: wall)
        func consider(_ time: Int64) {
            if earliest == nil || time < earliest! { earliest = time }
        }
        if let end = desk.overrunFaultEnd { consider(max(end, lastOverrunCheck + 1000)) }
        if buzzerFailing, let lastBuzzerError { consider(lastBuzzerError + AlarmStation.buzzerFaultQuietMilliseconds) }
        return earliest
    }

    /// Blinking fast while an alarm sounds, slowly while any alarm is active or the box is
    /// degraded, steady while all is well; off when the agent stops.
    private func refreshLED(_ state: AlarmSnapshot, at time: MonotonicInstant) {
        guard let led else { return }
        if state.audible != nil {
            led.state = .blink(periodMilliseconds: 250)
        } else if state.active > 0 || degraded.load(ordering: .relaxed) {
            led.state = .blink(periodMilliseconds: 1000)
        } else {
            led.state = .on
        }
        try? led.refresh(at: time)
    }

    /// Whether the publisher has records waiting in its rings: its last look before it blocks.
    var hasForwardedRecords: Bool {
        for ring in forwardRings where !ring.isEmpty { return true }
        return false
    }

    private var loopsHaveRecords: Bool {
        for loop in loops where !loop.ring.isEmpty { return true }
        return false
    }

    /// Blocks until a loop or a command signals, the button's line has an edge, or the nearest
    /// deadline: the desk's next timer, the button's debounce or long press, the LED's next
    /// blink edge, and at the latest `longestWaitMilliseconds`. Then reads the button.
    private func waitForWork(since started: MonotonicInstant) {
        var deadline = started.adding(milliseconds: AlarmStation.longestWaitMilliseconds)
        if let nextTimer {
            let timer = MonotonicInstant(nanoseconds: nextTimer * 1_000_000)
            if timer < deadline { deadline = timer }
        }
        if let blinkEdge = led?.state.nextChange(after: started), blinkEdge < deadline { deadline = blinkEdge }
        var button = self.button
        if let rest = buttonRestsUntil {
            if started < rest { button = nil } else { buttonRestsUntil = nil }
        }
        if let button {
            if let buttonDeadline = button.debouncer.nextDeadline, buttonDeadline < deadline { deadline = buttonDeadline }
            if button.readinessDescriptor == nil {
                let scripted = started.adding(milliseconds: AlarmStation.buttonWithoutDescriptorMilliseconds)
                if scripted < deadline { deadline = scripted }
            }
        }
        let remaining = (deadline.nanoseconds - MonotonicInstant.now().nanoseconds + 999_999) / 1_000_000
        // Loops hand over after each device and write only while this thread announced its
        // wait, so the rings are looked at once more after the announcement.
        wakeUp.waitForProducers(alsoWatching: button?.readinessDescriptor, timeoutMilliseconds: Int(max(0, remaining))) {
            loopsHaveRecords
        }
        guard let button else { return }
        let action: ButtonAction?
        do throws(GPIOError) {
            action = try button.poll(waitingAtMost: 0)
        } catch {
            log(.warning, "alarm button: \(error.description); trying again in a second")
            buttonRestsUntil = MonotonicInstant.now().adding(milliseconds: 1000)
            return
        }
        guard let action else { return }
        let now = MonotonicInstant.now().nanoseconds / 1_000_000
        let wall = wallClockMilliseconds()
        switch action {
        case .acknowledge:
            let count = desk.withLock { $0.acknowledgeAll(now: now, wall: wall) }
            log(.info, "alarm button: acknowledged \(count) alarm(s)")
        case .pauseAudio:
            desk.withLock { $0.pauseAudio(now: now, wall: wall) }
            log(.info, "alarm button: alarm audio paused for 2 minutes")
        }
    }

    // MARK: for the publisher (commands and publishing)

    func acknowledge(bed: String, alarm: String?, by: String) throws(AlarmCommandError) {
        let now = MonotonicInstant.now().nanoseconds / 1_000_000
        let wall = wallClockMilliseconds()
        let failure = desk.withLock { desk -> AlarmCommandError? in
            do throws(AlarmCommandError) {
                try desk.acknowledge(bed: bed, alarm: alarm, by: by, now: now, wall: wall)
                wakeUp.signal()
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    func pauseAudio() {
        let now = MonotonicInstant.now().nanoseconds / 1_000_000
        let wall = wallClockMilliseconds()
        desk.withLock { $0.pauseAudio(now: now, wall: wall) }
        // The buzzer falls silent on the alarm thread's next round: let it be now.
        wakeUp.signal()
    }

    /// New events, and the retained state of every bed that changed (bed index, JSON).
    func takeOutgoing() -> (events: [AlarmEvent], states: [(bed: Int, payload: String)]) {
        let now = MonotonicInstant.now().nanoseconds / 1_000_000
        let wall = wallClockMilliseconds()
        return desk.withLock { desk in
            let (events, beds) = desk.takeOutgoing()
            var states: [(bed: Int, payload: String)] = []
            for bed in beds where bed < desk.bedIDs.count {
                states.append((bed, desk.engine.encodeState(bed: desk.bedIDs[bed], monotonicMilliseconds: now,
                                                            wallClockMilliseconds: wall)))
            }
            return (events, states)
        }
    }

    func republishAllStates() {
        desk.withLock { $0.markAllChanged() }
    }

    func showForwardingFault(_ present: Bool) {
        let now = MonotonicInstant.now().nanoseconds / 1_000_000
        let wall = wallClockMilliseconds()
        desk.withLock { $0.forwardingFault(present: present, now: now, wall: wall) }
        wakeUp.signal()
    }

    func showDegraded(_ degraded: Bool) {
        self.degraded.store(degraded, ordering: .relaxed)
    }
}
