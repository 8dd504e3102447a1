import Alarms
import Foundation
@testable import Gateway
import Health
import RegisterMaps
import Sessions
import Testing
import Vitals

/// The session files on the box: a damaged state file moved aside with its reason, finished
/// records served at /sessions and /sessions/<id>.json (and nothing else), and pruned.
struct SessionKeeperTests {
    static let descriptions = [BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                                          ("pump-1", BuiltinProfiles.infusionPump.points)])]
    /// 2026-12-03T21:49:00Z.
    static let now: Int64 = 1_796_334_540_000

    func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "session-keeper-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aDamagedStateFileIsMovedAsideWithItsReasonAndTheBedStartsAfresh() throws {
        let directory = try scratch()
        let state = directory + "/state-chair-1.json"
        try "{\"version\":1,\"bed\":\"chair-1\",\"pump".write(toFile: state, atomically: true, encoding: .utf8)
        let keeper = SessionKeeper(settings: SessionSettings(directory: directory), descriptions: Self.descriptions,
                                   intervalMilliseconds: 60_000, nowMilliseconds: Self.now)
        #expect(keeper.movedAside.count == 1)
        #expect(keeper.recorders[0].openSessionID == nil)
        #expect(!FileManager.default.fileExists(atPath: state))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        let moved = try #require(names.first { $0.hasPrefix("state-chair-1.json.damaged-") && !$0.hasSuffix(".reason") })
        let reason = try String(contentsOfFile: directory + "/" + moved + ".reason", encoding: .utf8)
        #expect(reason.contains("not a session state: invalid JSON"), "\(reason)")
        #expect(keeper.movedAside[0].contains("moved aside to \(directory)/\(moved)"))
    }

    @Test func finishedRecordsAreServedByIdAndNothingElseIs() throws {
        let directory = try scratch()
        let keeper = SessionKeeper(settings: SessionSettings(directory: directory), descriptions: Self.descriptions,
                                   intervalMilliseconds: 60_000, nowMilliseconds: Self.now)
        keeper.keep(try keeper.recorders[0].startByCommand(issuer: "nurse-1", at: Self.now), bed: 0, nowMilliseconds: Self.now)
        // The open session's state is on disk: a restart continues it.
        let restarted = SessionKeeper(settings: SessionSettings(directory: directory), descriptions: Self.descriptions,
                                      intervalMilliseconds: 60_000, nowMilliseconds: Self.now)
        #expect(restarted.recorders[0].openSessionID == "chair-1-20261203T214900Z")
        let ended = try keeper.recorders[0].endByCommand(issuer: "nurse-1", at: Self.now + 60_000)
        keeper.keep(ended, bed: 0, nowMilliseconds: Self.now + 60_000)
        let record = try #require(ended.finished?.record)

        let list = try #require(keeper.archive.respond(to: "/sessions"))
        #expect(list.status == 200 && list.contentType == "application/json")
        #expect(list.body.contains("\"session\":\"chair-1-20261203T214900Z\"") && list.body.contains("\"href\":\"/sessions/chair-1-20261203T214900Z.json\""))
        let served = try #require(keeper.archive.respond(to: "/sessions/chair-1-20261203T214900Z.json"))
        #expect(served.status == 200 && served.body == record)
        // A file that is not a record, beside them: never served.
        try "secret".write(toFile: directory + "/passwd.json", atomically: true, encoding: .utf8)
        for path in ["/sessions/../../etc/passwd.json", "/sessions/passwd.json", "/sessions/chair-9-20261203T214900Z.json",
                     "/sessions/chair-1-20261203T214900Z", "/sessions/state-chair-1.json", "/sessions/chair-1-20261203T215000Z.json"] {
            #expect(keeper.archive.respond(to: path)?.status == 404, "\(path)")
        }
        #expect(keeper.archive.respond(to: "/metrics") == nil, "other paths are the health server's")
        #expect(!list.body.contains("passwd"))
    }

    @Test func recordsOlderThanKeepDaysArePruned() throws {
        let directory = try scratch()
        for stamp in ["20261101T100000Z", "20261120T100000Z", "20261203T100000Z"] {
            try "{}".write(toFile: "\(directory)/chair-1-\(stamp).json", atomically: true, encoding: .utf8)
        }
        let keeper = SessionKeeper(settings: SessionSettings(keepDays: 10, directory: directory), descriptions: Self.descriptions,
                                   intervalMilliseconds: 60_000, nowMilliseconds: Self.now)
        #expect(keeper.archive.ids().map { $0.id } == ["chair-1-20261203T100000Z"])
    }

    @Test func alarmStatisticsGoToMetricsPerBedAndCondition() throws {
        var statistics = AlarmStatistics()
        for (type, second) in [(AlarmEventType.start, 0), (.acknowledge, 12), (.end, 30)] {
            statistics.add(AlarmEvent(bed: "chair-1", sequence: Int64(second), alarm: "chair-1.spo2-low.1", condition: "spo2-low",
                                      priority: .high, kind: .physiological, type: type,
                                      wallClockMilliseconds: Self.now + Int64(second) * 1000, monotonicMilliseconds: 0))
        }
        var document = PrometheusDocument()
        try HealthDocuments.addSessionMetrics(SessionFigures(beds: [("chair-1", "chair-1-20261203T214900Z", statistics)]),
                                              to: &document)
        for line in ["bedside_session_open{bed=\"chair-1\"} 1",
                     "bedside_alarms_started_total{bed=\"chair-1\",condition=\"spo2-low\",priority=\"high\"} 1",
                     "bedside_alarms_started_total{bed=\"chair-1\",condition=\"spo2-low\",priority=\"medium\"} 0",
                     "bedside_alarm_duration_seconds{bed=\"chair-1\",condition=\"spo2-low\",quantile=\"0.5\"} 30",
                     "bedside_alarm_acknowledge_seconds_sum{bed=\"chair-1\",condition=\"spo2-low\"} 12",
                     "bedside_alarm_high_active_seconds_total{bed=\"chair-1\"} 30"] {
            #expect(document.text.contains(line + "\n"), "\(line) in\n\(document.text)")
        }
    }
}
