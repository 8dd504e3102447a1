import CShims
import Supervision
import Testing

private func sample(_ id: Int, _ name: String, count: UInt64, allowed: Int64 = 300) -> HeartbeatSample {
    HeartbeatSample(id: id, name: name, count: count, allowedStalenessMilliseconds: allowed)
}

@Suite struct SupervisionStalenessTests {
    @Test func newParticipantGetsItsFullAllowance() {
        var tracker = HeartbeatTracker()
        #expect(tracker.evaluate([sample(1, "bus0", count: 0)], nowMilliseconds: 1000) == .healthy)
        #expect(tracker.evaluate([sample(1, "bus0", count: 0)], nowMilliseconds: 1300) == .healthy) // exactly the allowance
        #expect(tracker.evaluate([sample(1, "bus0", count: 0)], nowMilliseconds: 1301)
            == .stalled([StalledParticipant(name: "bus0", silentMilliseconds: 301, allowedMilliseconds: 300)]))
    }

    @Test func advancingCounterStaysHealthy() {
        var tracker = HeartbeatTracker()
        var count: UInt64 = 0
        for step in 0..<20 {
            count += 1
            #expect(tracker.evaluate([sample(1, "bus0", count: count)], nowMilliseconds: Int64(step) * 250) == .healthy)
        }
    }

    @Test func onlyTheStalledOneIsNamed() {
        var tracker = HeartbeatTracker()
        _ = tracker.evaluate([sample(1, "bus0", count: 1), sample(2, "alarms", count: 1, allowed: 100)], nowMilliseconds: 0)
        let verdict = tracker.evaluate([sample(1, "bus0", count: 5), sample(2, "alarms", count: 1, allowed: 100)],
                                       nowMilliseconds: 200)
        #expect(verdict == .stalled([StalledParticipant(name: "alarms", silentMilliseconds: 200, allowedMilliseconds: 100)]))
        #expect(!verdict.isHealthy)
    }

    @Test func resumedBeatClearsTheStall() {
        var tracker = HeartbeatTracker()
        _ = tracker.evaluate([sample(1, "publisher", count: 7)], nowMilliseconds: 0)
        #expect(!tracker.evaluate([sample(1, "publisher", count: 7)], nowMilliseconds: 5000).isHealthy)
        #expect(tracker.evaluate([sample(1, "publisher", count: 8)], nowMilliseconds: 5100) == .healthy)
    }

    @Test func counterWrapIsAnAdvance() {
        var tracker = HeartbeatTracker()
        _ = tracker.evaluate([sample(1, "bus0", count: UInt64.max)], nowMilliseconds: 0)
        #expect(tracker.evaluate([sample(1, "bus0", count: 0)], nowMilliseconds: 1000) == .healthy)
    }

    @Test func unregisteredParticipantIsForgottenAndReRegisteredStartsFresh() {
        var tracker = HeartbeatTracker()
        _ = tracker.evaluate([sample(1, "bus0", count: 1), sample(2, "bus1", count: 1)], nowMilliseconds: 0)
        #expect(tracker.evaluate([sample(1, "bus0", count: 2)], nowMilliseconds: 1000) == .healthy)
        // Same id seen again later: counts as new, with its full allowance.
        #expect(tracker.evaluate([sample(1, "bus0", count: 3), sample(2, "bus1", count: 1)], nowMilliseconds: 2000) == .healthy)
    }

    @Test func defaultAllowanceIsThreeIntervals() {
        #expect(defaultAllowedStaleness(expectedIntervalMilliseconds: 1000) == 3000)
        #expect(defaultAllowedStaleness(expectedIntervalMilliseconds: 10) == 100)
    }
}

@Suite struct SupervisionDecisionTests {
    private let stalled = SupervisionVerdict.stalled([StalledParticipant(name: "bus0", silentMilliseconds: 400, allowedMilliseconds: 300)])

    @Test func healthyKicksSilently() {
        var decider = SupervisionDecider()
        #expect(decider.decide(.healthy) == SupervisionDecision(kick: true))
        #expect(decider.decide(.healthy) == SupervisionDecision(kick: true))
    }

    @Test func stallIsReportedOnceAndWithholdsKicks() {
        var decider = SupervisionDecider()
        let first = decider.decide(stalled)
        #expect(!first.kick)
        #expect(first.status == "stalled: bus0 (no heartbeat for 400 ms, allowed 300 ms)")
        #expect(first.logMessage?.contains("bus0") == true)
        #expect(first.logIsError)
        let later = decider.decide(.stalled([StalledParticipant(name: "bus0", silentMilliseconds: 900, allowedMilliseconds: 300)]))
        #expect(later == SupervisionDecision(kick: false))
    }

    @Test func aNewlyStalledParticipantIsReported() {
        var decider = SupervisionDecider()
        _ = decider.decide(stalled)
        let both = decider.decide(.stalled([StalledParticipant(name: "bus0", silentMilliseconds: 500, allowedMilliseconds: 300),
                                            StalledParticipant(name: "publisher", silentMilliseconds: 3100, allowedMilliseconds: 3000)]))
        #expect(both.status?.contains("publisher") == true)
        #expect(both.status?.contains("bus0") == true)
    }

    @Test func recoveryIsReportedOnce() {
        var decider = SupervisionDecider()
        _ = decider.decide(stalled)
        let recovered = decider.decide(.healthy)
        #expect(recovered.kick)
        #expect(recovered.status == "all participants healthy")
        #expect(recovered.logMessage?.contains("bus0 recovered") == true)
        #expect(decider.decide(.healthy) == SupervisionDecision(kick: true))
    }

    @Test func supervisorRoundsWithFakeTimes() {
        let supervisor = Supervisor(watchdog: nil, notifier: SystemdNotifier(socket: nil), kickIntervalMilliseconds: 100)
        let bus = supervisor.register("bus0", expectedIntervalMilliseconds: 50)       // allowed 150 ms
        let publisher = supervisor.register("publisher", expectedIntervalMilliseconds: 1000, allowedStalenessMilliseconds: 5000)
        #expect(supervisor.participantNames == ["bus0", "publisher"])
        #expect(supervisor.runOnce(nowMilliseconds: 0).kick)
        bus.beat(); publisher.beat()
        #expect(supervisor.runOnce(nowMilliseconds: 100).kick)
        bus.beat()
        #expect(supervisor.runOnce(nowMilliseconds: 200).kick)
        #expect(supervisor.runOnce(nowMilliseconds: 300).kick)  // 100 ms silent, allowed 150
        let stalled = supervisor.runOnce(nowMilliseconds: 400)   // 200 ms silent
        #expect(!stalled.kick)
        #expect(stalled.status?.hasPrefix("stalled: bus0") == true)
        #expect(supervisor.runOnce(nowMilliseconds: 500) == SupervisionDecision(kick: false))
        supervisor.unregister(bus)
        #expect(supervisor.runOnce(nowMilliseconds: 600).kick)
        let statistics = supervisor.statistics
        #expect(statistics.rounds == 7)
        #expect(statistics.kicks == 5)
        #expect(statistics.withheld == 2)
        #expect(statistics.lastVerdict == .healthy)
    }

    @Test func kickIntervalIsHalfTheShorterWatchdog() {
        #expect(chooseKickInterval(hardwareTimeoutSeconds: nil, systemdWatchdogMicroseconds: nil) == 1000)
        #expect(chooseKickInterval(hardwareTimeoutSeconds: 10, systemdWatchdogMicroseconds: nil) == 5000)
        #expect(chooseKickInterval(hardwareTimeoutSeconds: 10, systemdWatchdogMicroseconds: 4_000_000) == 2000)
        #expect(chooseKickInterval(hardwareTimeoutSeconds: 2, systemdWatchdogMicroseconds: 30_000_000) == 1000)
        #expect(chooseKickInterval(hardwareTimeoutSeconds: nil, systemdWatchdogMicroseconds: 1000) == 10)
    }

    @Test func watchdogErrorsNameTheDeviceAndAdvise() {
        let denied = WatchdogError("open", device: "/dev/watchdog", errno: .permissionDenied)
        // What failed and what to do are separate, so a log line that gives both says each once.
        #expect(denied.description == "watchdog open /dev/watchdog failed: Permission denied (errno 13)")
        #expect(denied.advice == "the service needs access to /dev/watchdog (udev rule or group)")
        let missing = WatchdogError("open", device: "/dev/watchdog1", errno: .noSuchFileOrDirectory)
        #expect(missing.description.contains("/dev/watchdog1"))
        #expect(missing.description.contains("No such file or directory"))
        #expect(!missing.description.contains(missing.advice))
        #expect(WatchdogError("open", device: "/dev/watchdog", errno: .resourceBusy).advice.contains("already open"))
    }
}

@Suite struct SupervisionNotifyMessageTests {
    @Test func buildsNewlineSeparatedAssignments() {
        #expect(notifyMessage([.ready]) == "READY=1")
        #expect(notifyMessage([.watchdog]) == "WATCHDOG=1")
        #expect(notifyMessage([.stopping]) == "STOPPING=1")
        #expect(notifyMessage([.ready, .status("sampling 2 beds")]) == "READY=1\nSTATUS=sampling 2 beds")
        #expect(notifyMessage([.watchdog, .status("stalled: bus0")]) == "WATCHDOG=1\nSTATUS=stalled: bus0")
    }

    @Test func statusCannotSmuggleAnotherAssignment() {
        #expect(notifyMessage([.status("oops\nREADY=1")]) == "STATUS=oops READY=1")
    }

    @Test func parsesWatchdogUsec() {
        #expect(parseWatchdogMicroseconds(nil) == nil)
        #expect(parseWatchdogMicroseconds("") == nil)
        #expect(parseWatchdogMicroseconds("abc") == nil)
        #expect(parseWatchdogMicroseconds("12s") == nil)
        #expect(parseWatchdogMicroseconds(" 100") == nil)
        #expect(parseWatchdogMicroseconds("-5") == nil)
        #expect(parseWatchdogMicroseconds("0") == nil)
        #expect(parseWatchdogMicroseconds("99999999999999999999999") == nil)
        #expect(parseWatchdogMicroseconds("30000000") == 30_000_000)
        #expect(systemdKickIntervalMilliseconds(watchdogMicroseconds: 30_000_000) == 15_000)
    }

    @Test func watchdogPidMustBeOurs() {
        #expect(parseWatchdogMicroseconds("20000000", watchdogPID: "4242", ownPID: 4242) == 20_000_000)
        #expect(parseWatchdogMicroseconds("20000000", watchdogPID: "4243", ownPID: 4242) == nil)
        #expect(parseWatchdogMicroseconds("20000000", watchdogPID: "x", ownPID: 4242) == nil)
    }

    @Test func socketAddresses() {
        #expect(NotifySocketAddress("/run/systemd/notify")?.pathBytes == Array("/run/systemd/notify".utf8))
        #expect(NotifySocketAddress("/run/systemd/notify")?.isAbstract == false)
        let abstract = NotifySocketAddress("@bedside")
        #expect(abstract?.pathBytes == [0] + Array("bedside".utf8))
        #expect(abstract?.isAbstract == true)
        #expect(NotifySocketAddress("@") == nil)
        #expect(NotifySocketAddress("relative/notify") == nil)
        #expect(NotifySocketAddress("vsock:2:1234") == nil)
        #expect(NotifySocketAddress("/" + String(repeating: "a", count: 107)) == nil)
        #expect(NotifySocketAddress("/" + String(repeating: "a", count: 106)) != nil)
    }

    @Test func readsTheEnvironmentThroughLookup() {
        let environment = ["NOTIFY_SOCKET": "@bedside-notify", "WATCHDOG_USEC": "8000000", "WATCHDOG_PID": "77"]
        let notifier = SystemdNotifier.fromEnvironment(ownPID: 77) { environment[$0] }
        #expect(notifier.isEnabled)
        #expect(notifier.socketName == "@bedside-notify")
        #expect(notifier.watchdogMicroseconds == 8_000_000)
        let supervisor = Supervisor(watchdog: nil, notifier: notifier)
        #expect(supervisor.kickIntervalMilliseconds == 4000)

        let unset = SystemdNotifier.fromEnvironment(ownPID: 77) { _ in nil }
        #expect(!unset.isEnabled)
        #expect(unset.watchdogMicroseconds == nil)
        #expect(throws: Never.self) { try unset.ready() } // a no-op, not an error
        let garbage = SystemdNotifier.fromEnvironment(ownPID: 77) { ["NOTIFY_SOCKET": "", "WATCHDOG_USEC": "soon"][$0] }
        #expect(!garbage.isEnabled)
        #expect(garbage.watchdogMicroseconds == nil)
    }
}
