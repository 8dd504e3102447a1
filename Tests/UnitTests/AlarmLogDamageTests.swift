import Acquisition
import Alarms
import Config
import Foundation
import Health
import MQTT
import Platform
import Testing
@testable import Gateway

/// The alarm log has the queue's rule: the alarm system starts whatever stands at the log's
/// path. An impossible line is skipped; anything that cannot be read as a log is moved aside
/// (never deleted), the log starts afresh, and a low technical alarm says so.
struct AlarmLogDamageTests {
    static let wall: Int64 = 1_795_000_000_000

    static func start(_ sequence: Int64, wall: Int64 = AlarmLogDamageTests.wall, mono: Int64 = 5) -> AlarmEvent {
        AlarmEvent(bed: "chair-1", sequence: sequence, alarm: "chair-1.spo2-low.\(sequence)", condition: "spo2-low",
                   priority: .high, kind: .physiological, type: .start, wallClockMilliseconds: wall, monotonicMilliseconds: mono)
    }

    /// The desk of one bed, started on the log at `logPath`: its notes and the events of the start.
    static func startDesk(logPath: String) -> (notes: [String], events: [AlarmEvent], desk: AlarmDesk) {
        let config = GatewayConfig(site: "ward-3", box: "box-1",
                                   mqtt: MQTTSettings(host: "127.0.0.1", port: 1883, clientID: "box-1",
                                                      keepaliveSeconds: 30, topicPrefix: "clinic"),
                                   sampling: SamplingSettings(intervalMilliseconds: 1000),
                                   beds: [BedConfig(id: "chair-1", devices: [])],
                                   alarms: AlarmSettings(logPath: logPath))
        var desk = AlarmDesk(config: config, devices: [], loopBeds: [])
        let notes = desk.start(config: config, now: 0, wall: wall)
        return (notes, desk.takeOutgoing().events, desk)
    }

    static func makeDirectory(_ label: String) -> String {
        let path = NSTemporaryDirectory() + "alarmlog-damage-\(label)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A log line with a valid CRC around `json`, as a forger or bad memory before the CRC would make it.
    static func line(_ json: String) -> String {
        String(format: "%08x", CRC32.checksum(Array(json.utf8))) + " " + json + "\n"
    }

    /// The JSON of an intact line for `event`, with one member's value replaced.
    static func json(of event: AlarmEvent, replacing member: String, with value: String) -> String {
        let encoded = AlarmLog.encodeLine(event)
        let json = String(encoded.dropFirst(9).dropLast())
        let pattern = "\"\(member)\":"
        guard let range = json.range(of: pattern) else { return json }
        let valueEnd = json[range.upperBound...].firstIndex { $0 == "," || $0 == "}" } ?? json.endIndex
        return json.replacingCharacters(in: range.upperBound..<valueEnd, with: value)
    }

    /// CRC-valid lines whose numbers no agent writes: `lastSequence + 1` trapped on the first,
    /// formatting the restored alarm's start time on the second.
    @Test(arguments: [("seq", "9223372036854775807"), ("wall", "-9223372036854775808"), ("mono", "-1"), ("seq", "-1")])
    func anImpossibleLineIsSkippedAndTheRestoredEngineWorks(member: String, value: String) throws {
        let forged = Self.line(Self.json(of: Self.start(3), replacing: member, with: value))
        #expect(forged.contains("\"\(member)\":\(value)"))
        let bytes = Array((AlarmLog.encodeLine(Self.start(2)) + forged).utf8)
        let recovery = AlarmLog.recover(bytes)
        #expect(recovery.intactLines == 1 && recovery.skippedLines == 1)
        #expect(recovery.beds.first?.lastSequence == 2)
        var engine = AlarmEngine()
        engine.restore(recovery, monotonicMilliseconds: 0)
        #expect(engine.nextSequence(bed: "chair-1") == 3)
        #expect(engine.activeAlarms(bed: "chair-1").count == 1)
    }

    @Test func aDirectoryAtTheLogsPathIsMovedAsideAndANewLogStarts() throws {
        let base = Self.makeDirectory("dir")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let logPath = base + "/alarms.log"
        try FileManager.default.createDirectory(atPath: logPath, withIntermediateDirectories: false)
        try "kept".write(toFile: logPath + "/inside", atomically: true, encoding: .utf8)

        let started = Self.startDesk(logPath: logPath)
        let note = try #require(started.notes.first { $0.contains("moved to") }, "\(started.notes)")
        #expect(note.contains("a directory stands where the alarm log \(logPath) should be"))
        let moved = try FileManager.default.contentsOfDirectory(atPath: base).filter { $0.hasPrefix("alarms.log.damaged-") }
        #expect(moved.count == 2, "the directory and its reason file: \(moved)")
        let movedDirectory = try #require(moved.first { !$0.hasSuffix(".reason") })
        #expect(FileManager.default.fileExists(atPath: base + "/" + movedDirectory + "/inside"), "kept, not deleted")

        // A low technical alarm on the bed, written to the new log.
        let raised = started.events.first { $0.condition == "agent-alarm-log-damaged" }
        #expect(raised?.type == .start && raised?.priority == .low && raised?.kind == .technical, "\(started.events)")
        let logged = AlarmLog.decodeEvents((try? readFile(logPath)) ?? []).events.map { $0.condition }
        #expect(logged.contains("agent-alarm-log-damaged"), "\(logged)")
        #expect(started.desk.logHealth.passed && started.desk.logHealth.reason.contains("at start, a directory stands where"),
                "\(started.desk.logHealth)")
        var figures = HealthFigures()
        figures.alarms.logMovedAside = 1
        #expect(HealthDocuments.metrics(figures).contains("bedside_alarm_log_moved_aside_total 1\n"))
    }

    /// Opening a pipe for reading blocks until a writer comes: the start must not wait for one.
    @Test(.timeLimit(.minutes(1)))
    func aPipeAtTheLogsPathIsMovedAsideWithoutBlocking() throws {
        let base = Self.makeDirectory("fifo")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let logPath = base + "/alarms.log"
        #expect(mkfifo(logPath, 0o600) == 0)
        var file = AlarmLogFile(path: logPath)
        let recovery = try file.load()
        let movedAside = try #require(recovery.movedAside)
        #expect(movedAside.contains("a link, pipe, socket or device"))
        #expect(FileKind(atPath: logPath) == .missing)
        try file.append([Self.start(1)])
        #expect(AlarmLog.decodeEvents(try readFile(logPath)).events.map { $0.sequence } == [1])
    }

    @Test func aLogTooLargeToReadIsMovedAsideNotAppendedTo() throws {
        let base = Self.makeDirectory("large")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let logPath = base + "/alarms.log"
        #expect(FileManager.default.createFile(atPath: logPath, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: logPath))
        try handle.truncate(atOffset: (64 << 20) + 1) // sparse: no disk space used
        try handle.close()
        var file = AlarmLogFile(path: logPath)
        let recovery = try file.load()
        #expect(recovery.movedAside?.contains("File too large") == true, "\(String(describing: recovery.movedAside))")
        try file.append([Self.start(1)])
        #expect(AlarmLog.decodeEvents(try readFile(logPath)).events.count == 1)
    }
}
