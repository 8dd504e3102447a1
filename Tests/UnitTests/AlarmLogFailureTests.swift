import Acquisition
import Alarms
import Config
import Foundation
import Health
import MQTT
import Platform
import Testing
@testable import Gateway

/// An alarm log that cannot be written must not fail silently: every lost write is counted
/// (`bedside_alarm_log_write_failures_total`), /readyz fails with a reason an IT person can
/// act on, the events are still published, and a later write catches the log up.
@Suite(.serialized)
struct AlarmLogFailureTests {
    static let wall: Int64 = 1_795_000_000_000

    static func desk(logPath: String) -> AlarmDesk {
        let config = GatewayConfig(site: "ward-3", box: "box-1",
                                   mqtt: MQTTSettings(host: "127.0.0.1", port: 1883, clientID: "box-1",
                                                      keepaliveSeconds: 30, topicPrefix: "clinic"),
                                   sampling: SamplingSettings(intervalMilliseconds: 1000),
                                   beds: [BedConfig(id: "chair-1", devices: [])],
                                   alarms: AlarmSettings(logPath: logPath))
        var desk = AlarmDesk(config: config, devices: [], loopBeds: [])
        _ = desk.start(config: config, now: 0, wall: wall)
        _ = desk.takeOutgoing()
        return desk
    }

    static func makeDirectory(_ label: String) -> String {
        let path = NSTemporaryDirectory() + "alarmlog-\(label)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func loggedConditions(_ path: String) -> [String] {
        let bytes = (try? readFile(path)) ?? []
        return AlarmLog.decodeEvents(bytes).events.map { $0.condition }
    }

    /// The same file system error, forced onto the alarm log's write, its sync or its close.
    @Test(arguments: [(Errno.noSpace, ForcedErrno.Call.write), (.ioError, .write), (.ioError, .synchronise),
                      (.ioError, .close)])
    func aFailedWriteIsCountedShownOnReadinessAndCaughtUpLater(errno: Errno, call: ForcedErrno.Call) throws {
        let directory = Self.makeDirectory("forced")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/alarms.log"
        var desk = Self.desk(logPath: path)
        #expect(desk.logCheck.passed)
        #expect(desk.logFailures == 0)

        ForcedErrno.with(errno, on: call) {
            desk.hardwareFault("buzzer-failure", present: true, now: 1000, wall: Self.wall + 1000)
        }
        #expect(desk.logFailures == 1)
        let readiness = HealthReport([desk.logCheck])
        #expect(readiness.status == 503)
        #expect(readiness.body.hasPrefix("fail alarm log: cannot write the alarm log: "), "\(readiness.body)")
        #expect(readiness.body.contains(path))
        #expect(readiness.body.contains(errno.descriptionWithNumber), "\(readiness.body)")
        #expect(readiness.body.contains(errno.storageAdvice), "\(readiness.body)")
        #expect(readiness.body.contains("1 alarm event(s) published but not recorded on the box"), "\(readiness.body)")
        // The alarm is not held back by the disk.
        #expect(desk.takeOutgoing().events.map { $0.condition } == ["agent-buzzer-failure"])

        // Within the second nothing is tried again; after it, the log catches up and readiness passes.
        // The alarm thread sleeps until the retry is due (the medium fault escalates only at 61 s).
        #expect(desk.nextDeadline(now: 1000, wall: Self.wall + 1000) == 2000)
        desk.tick(now: 1500, wall: Self.wall + 1500)
        #expect(!desk.logCheck.passed)
        desk.tick(now: 2000, wall: Self.wall + 2000)
        #expect(desk.logCheck.passed, "\(desk.logCheck.reason)")
        #expect(desk.nextDeadline(now: 2000, wall: Self.wall + 2000) == 61_000)
        #expect(desk.logFailures == 1)
        #expect(Self.loggedConditions(path).contains("agent-buzzer-failure"))
    }

    /// A real full file system: a small tmpfs filled to the last byte (needs root, as CI runs).
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aFullDiskIsCountedShownOnReadinessAndCaughtUpWhenSpaceReturns() throws {
        let base = Self.makeDirectory("fulldisk")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let tmpfs = try MountedTmpfs(at: base + "/mnt", size: "64k")
        defer { tmpfs.unmount() }
        let path = tmpfs.path + "/alarms.log"
        var desk = Self.desk(logPath: path)

        // Fill the file system until the kernel refuses another byte.
        let filler = tmpfs.path + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        let block = [UInt8](repeating: 0xAB, count: 4096)
        var fillError: Int32 = 0
        while fillError == 0 {
            let written = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 { fillError = errno }
        }
        close(fd)
        try #require(fillError == ENOSPC)

        desk.hardwareFault("buzzer-failure", present: true, now: 1000, wall: Self.wall + 1000)
        desk.hardwareFault("loop-overrun", present: true, now: 1100, wall: Self.wall + 1100)
        #expect(desk.logFailures == 2)
        #expect(!desk.logCheck.passed)
        #expect(desk.logCheck.reason.contains("No space left on device (errno 28); the disk is full: free space on it"),
                "\(desk.logCheck.reason)")
        #expect(desk.logCheck.reason.contains("2 alarm event(s) published but not recorded on the box"))
        #expect(desk.takeOutgoing().events.count == 2)

        // Still full a second later: not counted again, still failing.
        desk.tick(now: 2100, wall: Self.wall + 2100)
        #expect(desk.logFailures == 2)
        #expect(!desk.logCheck.passed)

        // Space comes back: the next retry writes both events, in order, and readiness passes.
        try FileManager.default.removeItem(atPath: filler)
        desk.tick(now: 3100, wall: Self.wall + 3100)
        #expect(desk.logCheck.passed, "\(desk.logCheck.reason)")
        #expect(Self.loggedConditions(path) == ["agent-buzzer-failure", "agent-loop-overrun"])
        #expect(desk.logFailures == 2)

        // A restart finds both alarms active.
        var restarted = Self.desk(logPath: path)
        #expect(restarted.activeCount == 2)
        restarted.tick(now: 0, wall: Self.wall)
    }
}
