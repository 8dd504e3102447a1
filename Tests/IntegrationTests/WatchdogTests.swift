import Acquisition
import AllocationCounter
import Foundation
import Platform
import Supervision
import Synchronization
import Testing
import TestSupport

/// A test participant: beats its heartbeat every 10 ms on its own thread while not paused.
final class SupervisionTestBeater {
    let heartbeat: Heartbeat
    private let paused = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private var thread: OSThread?

    init(_ heartbeat: Heartbeat) throws {
        self.heartbeat = heartbeat
        // The thread keeps the beater alive until finish() joins it.
        thread = try OSThread(name: "beat-\(heartbeat.name)") { [self] in
            while !finished.load(ordering: .acquiring) {
                if !paused.load(ordering: .acquiring) { self.heartbeat.beat() }
                usleep(10_000)
            }
        }
    }

    func pause() { paused.store(true, ordering: .releasing) }
    func resume() { paused.store(false, ordering: .releasing) }

    func finish() {
        finished.store(true, ordering: .releasing)
        thread?.join()
    }
}

func supervisionTemporaryDirectory(_ prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// This process's threads whose name is `name`, by thread id.
func threadIDs(named name: String) -> Set<Int> {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    var found = Set<Int>()
    for task in tasks {
        let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
        if comm.trimmingCharacters(in: .whitespacesAndNewlines) == name, let tid = Int(task) { found.insert(tid) }
    }
    return found
}

/// Voluntary and involuntary context switches of one thread of this process so far.
func contextSwitches(thread: Int) -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/task/\(thread)/status", encoding: .utf8)) ?? ""
    var total = 0
    for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
        total += Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
    }
    return total
}

/// Reads whatever a non-blocking FIFO holds right now.
private func drain(_ fd: Int32) -> [UInt8] {
    var collected: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { return collected }
        collected += buffer[0..<n]
    }
}

/// Reads a non-blocking FIFO for `milliseconds`.
private func collect(_ fd: Int32, milliseconds: Int) -> [UInt8] {
    var collected: [UInt8] = []
    let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
    while Date() < deadline {
        collected += drain(fd)
        usleep(10_000)
    }
    return collected + drain(fd)
}

@Suite(.serialized) struct WatchdogTests {
    /// The FIFO stand-in: keepalives arrive while everyone beats, stop within one watchdog
    /// interval (here 1 s, generous) after one participant stalls, resume when it beats
    /// again, and a clean stop writes the magic 'V'.
    @Test func fifoStandInGetsKicksOnlyWhileAllParticipantsBeat() throws {
        let directory = try supervisionTemporaryDirectory("watchdog-fifo")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("watchdog").path
        #expect(mkfifo(fifo, 0o600) == 0)
        // The reader first: a writer's open of a FIFO waits for a reader.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }

        let watchdog = try HardwareWatchdog(path: fifo, timeoutSeconds: 1)
        #expect(watchdog.timeoutSeconds == nil) // a FIFO takes no ioctls
        let supervisor = Supervisor(watchdog: watchdog, notifier: SystemdNotifier(socket: nil), kickIntervalMilliseconds: 50)
        let bus = try SupervisionTestBeater(supervisor.register("bus0", expectedIntervalMilliseconds: 10, allowedStalenessMilliseconds: 200))
        let alarms = try SupervisionTestBeater(supervisor.register("alarms", expectedIntervalMilliseconds: 10, allowedStalenessMilliseconds: 200))
        defer { bus.finish(); alarms.finish() }
        try supervisor.start()

        let healthy = collect(reader, milliseconds: 600)
        #expect(healthy.count >= 3, "kicks while healthy: \(healthy.count)")
        #expect(healthy.allSatisfy { $0 == UInt8(ascii: "k") })
        #expect(!watchdog.usesKeepaliveIoctl) // ENOTTY → write() fallback

        alarms.pause()
        _ = collect(reader, milliseconds: 1000) // one watchdog interval for the stall to be noticed
        let whileStalled = collect(reader, milliseconds: 600)
        #expect(whileStalled.isEmpty, "kicks while alarms stalled: \(whileStalled.count)")
        if case .stalled(let who) = supervisor.statistics.lastVerdict {
            #expect(who.map { $0.name } == ["alarms"])
        } else {
            Issue.record("expected a stalled verdict, got \(supervisor.statistics.lastVerdict)")
        }

        alarms.resume()
        let resumed = collect(reader, milliseconds: 600)
        #expect(resumed.count >= 3, "kicks after recovery: \(resumed.count)")

        supervisor.stop()
        let tail = drain(reader)
        #expect(tail.last == UInt8(ascii: "V"))
        #expect(!watchdog.isOpen)
    }

    /// A regular file stand-in grows with each keepalive; only a clean stop appends 'V'.
    @Test func regularFileStandInGrowsAndEndsWithMagicV() throws {
        let directory = try supervisionTemporaryDirectory("watchdog-file")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("watchdog").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))

        let watchdog = try HardwareWatchdog(path: path, timeoutSeconds: 5)
        let supervisor = Supervisor(watchdog: watchdog, notifier: SystemdNotifier(socket: nil), kickIntervalMilliseconds: 30)
        let bus = try SupervisionTestBeater(supervisor.register("bus0", expectedIntervalMilliseconds: 10))
        defer { bus.finish() }
        try supervisor.start()
        var size = 0
        for _ in 0..<100 where size < 3 {
            usleep(20_000)
            size = (try? Data(contentsOf: URL(fileURLWithPath: path)))?.count ?? 0
        }
        #expect(size >= 3)
        supervisor.stop()
        let contents = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(contents.last == UInt8(ascii: "V"))
        #expect(contents.dropLast().allSatisfy { $0 == UInt8(ascii: "k") })
        supervisor.stop() // idempotent: no second 'V'
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == contents.count)
    }

    /// The supervisor thread sleeps until its next kick, not on a short tick: with a 300 ms
    /// interval the stand-in gets a kick about every 300 ms, and the thread wakes about as
    /// often (a 20 ms tick would be some 60 wake-ups over the same span).
    @Test func kicksOnTimeWithoutTicking() throws {
        let directory = try supervisionTemporaryDirectory("watchdog-untick")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("watchdog").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let watchdog = try HardwareWatchdog(path: path, timeoutSeconds: 5)
        let supervisor = Supervisor(watchdog: watchdog, notifier: SystemdNotifier(socket: nil), kickIntervalMilliseconds: 300)
        let earlier = threadIDs(named: "supervisor")
        let started = Date()
        try supervisor.start()
        defer { supervisor.stop() }
        var thread: Int?
        waitUntil(timeout: 5) {
            thread = threadIDs(named: "supervisor").subtracting(earlier).first
            return thread != nil
        }
        let tid = try #require(thread)
        let switchesBefore = contextSwitches(thread: tid)
        func kicks() -> Int { (try? Data(contentsOf: URL(fileURLWithPath: path)))?.count ?? 0 }
        // Kicks at 0, 300, 600, 900 and 1200 ms.
        #expect(waitUntil(timeout: 20) { kicks() >= 5 })
        let elapsed = Date().timeIntervalSince(started)
        let switches = contextSwitches(thread: tid) - switchesBefore
        #expect(elapsed >= 1.15, "five kicks came too early: \(elapsed) s")
        #expect(switches < 30, "the supervisor thread woke \(switches) times for five kicks")
    }

    /// A stop ends the wait for the next round at once, not when the interval has passed.
    @Test func stopDoesNotWaitForTheNextKick() throws {
        let supervisor = Supervisor(watchdog: nil, notifier: SystemdNotifier(socket: nil), kickIntervalMilliseconds: 10_000)
        try supervisor.start()
        #expect(waitUntil(timeout: 5) { supervisor.statistics.rounds >= 1 })
        let stopping = Date()
        supervisor.stop()
        #expect(Date().timeIntervalSince(stopping) < 2)
        #expect(supervisor.statistics.rounds == 1)
    }

    /// Dropping the watchdog without a clean stop (what a crash amounts to) writes no 'V'.
    @Test func noMagicCloseWithoutCleanShutdown() throws {
        let directory = try supervisionTemporaryDirectory("watchdog-crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("watchdog").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        do {
            let watchdog = try HardwareWatchdog(path: path, timeoutSeconds: nil)
            try watchdog.keepalive()
            try watchdog.keepalive()
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("kk".utf8))
    }

    @Test func missingDeviceIsNamedInTheError() {
        let path = "/nonexistent/bedside/watchdog0"
        do throws(WatchdogError) {
            _ = try HardwareWatchdog(path: path, timeoutSeconds: 10)
            Issue.record("opening \(path) succeeded")
        } catch {
            #expect(error.errno == .noSuchFileOrDirectory)
            #expect(error.device == path)
            #expect(error.description.contains(path))
            #expect(error.description.contains("No such file or directory"))
        }
    }

    /// A FIFO stand-in that nobody reads is an error at open, not a hang.
    @Test func unreadFifoFailsInsteadOfHanging() throws {
        let directory = try supervisionTemporaryDirectory("watchdog-unread")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("watchdog").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: WatchdogError("open", device: fifo, errno: .noSuchAddressOrDevice)) {
            _ = try HardwareWatchdog(path: fifo, timeoutSeconds: 10)
        }
    }

    /// The sampling loop calls beat() every period: it must not allocate.
    @Test(.countsAllocations) func beatIsAllocationFree() {
        let supervisor = Supervisor(watchdog: nil, notifier: SystemdNotifier(socket: nil), kickIntervalMilliseconds: 100)
        let heartbeat = supervisor.register("bus0", expectedIntervalMilliseconds: 1)
        heartbeat.beat()
        allocation_counter_start()
        for _ in 0..<10_000 { heartbeat.beat() }
        let allocations = allocation_counter_stop()
        #expect(allocations == 0)
        #expect(heartbeat.count == 10_001)
    }
}

/// A real sampling loop (libmodbus against a server on loopback) as a supervised participant:
/// when its thread hangs, the stand-in watchdog and systemd's socket stop getting kicks
/// within one watchdog interval, and the STATUS= line names the loop.
@Suite(.serialized) struct StalledSamplingLoopTests {
    @Test func aStalledSamplingLoopStopsKicksAndNotificationsWithinOneWatchdogInterval() throws {
        let directory = try supervisionTemporaryDirectory("stalled-loop")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("watchdog").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let listener = try NotifyListener(name: directory.appendingPathComponent("notify").path)

        let port = freeLoopbackPort()
        let device = try SamplingLoopTests.Device(port: port)
        defer { device.stop() }
        let loop = try BusLoop(bus: SamplingLoopTests.monitorBus(port: port), periodMilliseconds: 100,
                               realtime: RealtimeSettings())
        // The watchdog interval: 1 s (WATCHDOG_USEC); the supervisor kicks every 500 ms.
        let watchdog = try HardwareWatchdog(path: fifo, timeoutSeconds: nil)
        let supervisor = Supervisor(watchdog: watchdog,
                                    notifier: SystemdNotifier(socket: listener.name, watchdogMicroseconds: 1_000_000))
        #expect(supervisor.kickIntervalMilliseconds == 500)
        let heartbeat = supervisor.register("sampling loop of bus \(loop.bus.name)", expectedIntervalMilliseconds: 100)
        // The agent's wiring: one beat per cycle. A set flag makes the loop's thread hang in its cycle.
        let hang = Atomic<Bool>(false)
        loop.cycleObserver = { _ in
            heartbeat.beat()
            while hang.load(ordering: .acquiring) { usleep(1000) }
        }
        try loop.start()
        defer {
            hang.store(false, ordering: .releasing)
            loop.stop()
        }
        try supervisor.start()
        defer { supervisor.stop() }

        let healthyKicks = collect(reader, milliseconds: 1600)
        let healthyNotes = listener.receive(milliseconds: 10)
        #expect(healthyKicks.count >= 2, "kicks while the loop runs: \(healthyKicks.count)")
        #expect(healthyNotes.filter { $0.contains("WATCHDOG=1") }.count >= 2, "\(healthyNotes)")

        hang.store(true, ordering: .releasing)
        let cyclesAtStall = loop.statistics.cycles
        _ = collect(reader, milliseconds: 1000)  // one watchdog interval
        let noticed = listener.receive(milliseconds: 10)
        let kicksAfter = collect(reader, milliseconds: 1200)
        let notesAfter = listener.receive(milliseconds: 10)
        #expect(loop.statistics.cycles <= cyclesAtStall + 1, "the loop did not hang")
        #expect(kicksAfter.isEmpty, "watchdog kicks more than one interval into the stall: \(kicksAfter.count)")
        #expect(!notesAfter.contains { $0.contains("WATCHDOG=1") }, "\(notesAfter)")
        #expect((noticed + notesAfter).contains { $0.contains("STATUS=") && $0.contains("sampling loop of bus") },
                "\(noticed + notesAfter)")
    }
}
