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
    var buzzerErrors = 0
    /// Records the publisher's rings had no room for (the publisher stalled for seconds).
    var forwardDropped = 0
}

/// The box's alarm system at run time, on a thread of its own: it is the first reader of every
/// sampling loop's ring, so an alarm never waits for the disk queue, the broker or the health
/// endpoint. Each round (at most `roundMilliseconds`) it feeds the records to the alarm engine,
/// passes them on to the publisher through a second ring per loop, lets time act (condition
/// delays, escalation, end of the audio pause), asks the buzzer for the pattern of the highest
/// audible priority, reads the button and drives the status LED.
final class AlarmStation: AlarmOutlet {
    static let roundMilliseconds = 20

    private let desk: Locked<AlarmDesk>
    private let snapshotBox = Locked(AlarmSnapshot())
    private let loops: [BusLoop]
    /// The publisher reads these instead of the loops' own rings.
    let forwardRings: [SPSCRing<SampleRecord>]
    private let buzzer: AlarmBuzzer?
    private let button: ButtonReader?
    private let led: StatusLED?
    private let heartbeat: Heartbeat?
    private let stopRequested = Atomic<Bool>(false)
    private var thread: OSThread?
    private var requestedSignal: AlarmPriority?
    private var buzzerFaultActive = false
    private var buzzerErrorsSeen = 0
    private var lastBuzzerError: Int64?
    private var lastOverrunCheck: Int64 = 0
    private var forwardDropped = 0
    /// Set by the publisher: a device lost or the broker away shows on the LED.
    private let degraded = Atomic<Bool>(false)

    init(desk: AlarmDesk, loops: [BusLoop], buzzer: AlarmBuzzer?, button: ButtonReader?, led: StatusLED?,
         heartbeat: Heartbeat?) {
        self.desk = Locked(desk)
        self.loops = loops
        forwardRings = loops.map { SPSCRing(capacity: $0.ring.capacity, filler: SampleRecord.empty) }
        self.buzzer = buzzer
        self.button = button
        self.led = led
        self.heartbeat = heartbeat
    }

    /// Reads the alarm log back and applies each bed's limits; a missing buzzer becomes a
    /// technical alarm on every bed. Returns notes for the log. Before `start()`.
    func prepare(config: GatewayConfig, buzzerProblem: String?) -> [String] {
        let now = MonotonicInstant.now().nanoseconds / 1_000_000
        let wall = wallClockMilliseconds()
        return desk.withLock { desk in
            var notes = desk.start(config: config, now: now, wall: wall)
            if let buzzerProblem {
                notes.append(buzzerProblem + "; alarms are published but nothing sounds in the room")
                desk.hardwareFault("buzzer-unavailable", present: true, now: now, wall: wall)
            }
            return notes
        }
    }

    func start() throws(SystemError) {
        try buzzer?.start()
        thread = try OSThread(name: "alarms") { [self] in
            while !stopRequested.load(ordering: .acquiring) { round() }
        }
    }

    /// Stops the thread and silences the buzzer (a clean stop of the agent; a crash leaves
    /// the line as it was, and the watchdog resets the box).
    func stop() {
        stopRequested.store(true, ordering: .releasing)
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
        let started = MonotonicInstant.now()
        let now = started.nanoseconds / 1_000_000
        let wall = wallClockMilliseconds()
        let checkOverruns = now - lastOverrunCheck >= 1000
        if checkOverruns { lastOverrunCheck = now }
        let overruns = checkOverruns ? loops.map { $0.statistics.overruns } : []
        let buzzerErrors = buzzer?.errorCount ?? 0
        if buzzerErrors > buzzerErrorsSeen {
            buzzerErrorsSeen = buzzerErrors
            lastBuzzerError = now
        }
        // Failing while writes failed within the last 10 s: a line that works again ends the fault.
        let buzzerFailing = lastBuzzerError.map { now - $0 < 10_000 } ?? false
        var dropped = 0
        let state = desk.withLock { desk -> AlarmSnapshot in
            for (index, loop) in loops.enumerated() {
                while let record = loop.ring.pop() {
                    desk.consume(record, now: now, wall: wall)
                    if !forwardRings[index].push(record) { dropped += 1 }
                }
            }
            desk.tick(now: now, wall: wall)
            if checkOverruns { desk.checkOverruns(overruns, now: now, wall: wall) }
            if buzzerFailing != buzzerFaultActive {
                desk.hardwareFault("buzzer-failure", present: buzzerFailing, now: now, wall: wall)
            }
            return AlarmSnapshot(active: desk.activeCount, audible: desk.engine.audibleSignal(now: now),
                                 audioPausedUntilMilliseconds: desk.engine.audioPausedUntil(now: now),
                                 logFailures: desk.logFailures, logCheck: desk.logCheck, buzzerErrors: buzzerErrors, forwardDropped: 0)
        }
        buzzerFaultActive = buzzerFailing
        forwardDropped += dropped
        var published = state
        published.forwardDropped = forwardDropped
        snapshotBox.withLock { $0 = published }
        if state.audible != requestedSignal {
            requestedSignal = state.audible
            buzzer?.request(state.audible)
        }
        refreshLED(state, at: started)
        waitForButtonOrNextRound(until: started.adding(milliseconds: AlarmStation.roundMilliseconds))
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

    private func waitForButtonOrNextRound(until deadline: MonotonicInstant) {
        guard let button else {
            sleep(until: deadline)
            return
        }
        let action: ButtonAction?
        do throws(GPIOError) {
            action = try button.poll()
        } catch {
            log(.warning, "alarm button: \(error.description)")
            sleep(until: deadline)
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

    func acknowledge(bed: String, alarm: String?) throws(AlarmCommandError) {
        let now = MonotonicInstant.now().nanoseconds / 1_000_000
        let wall = wallClockMilliseconds()
        let failure = desk.withLock { desk -> AlarmCommandError? in
            do throws(AlarmCommandError) {
                try desk.acknowledge(bed: bed, alarm: alarm, now: now, wall: wall)
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

    func showDegraded(_ degraded: Bool) {
        self.degraded.store(degraded, ordering: .relaxed)
    }
}
