import Alarms
import FuzzSupport

// The alarm log read back at start: recovery, then the engine restoring it and running on.
// The first byte's low bit adds a valid CRC to every line, so the JSON behind it is reached.
// Properties: recovered sequences stay within the log's bounds (so `+ 1` cannot trap), and
// every intact line encodes back to a line that decodes to the same event.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzAlarmLog(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzBytes(fuzzInput(data, size))
    let withChecksums = input.byte() & 1 == 1
    let body = input.rest()
    let bytes = withChecksums ? addAlarmLogChecksums(body) : body
    let recovery = AlarmLog.recover(bytes)
    for bed in recovery.beds {
        fuzzRequire(bed.lastSequence >= 0 && bed.lastSequence <= AlarmLog.largestNumber, "bed \(bed.bed): sequence \(bed.lastSequence)")
    }
    let decoded = AlarmLog.decodeEvents(bytes)
    for event in decoded.events {
        let again = AlarmLog.decodeEvents(Array(AlarmLog.encodeLine(event).utf8)).events
        fuzzRequire(again == [event], "event \(event) does not survive the log")
    }
    var engine = AlarmEngine()
    engine.restore(recovery, monotonicMilliseconds: 1_000)
    for bed in engine.bedIDs {
        _ = engine.activeAlarms(bed: bed)
        _ = try? engine.acknowledge(bed: bed, monotonicMilliseconds: 2_000, wallClockMilliseconds: 1_764_000_002_000)
    }
    _ = engine.tick(monotonicMilliseconds: 10_000, wallClockMilliseconds: 1_764_000_010_000)
    _ = engine.pauseAudio(monotonicMilliseconds: 11_000, wallClockMilliseconds: 1_764_000_011_000)
    _ = engine.audibleSignal(now: 12_000)
    return 0
}

runFuzzTarget(fuzzAlarmLog, seeds: {
    let start = AlarmEvent(bed: "chair-1", sequence: 1, alarm: "chair-1.spo2-low", condition: "spo2-low", priority: .high,
                           kind: .physiological, type: .start, wallClockMilliseconds: 1_764_000_000_000,
                           monotonicMilliseconds: 500, detail: "spo2 85 < 90")
    var acknowledged = start
    acknowledged.sequence = 2
    acknowledged.type = .acknowledge
    var ended = start
    ended.sequence = 3
    ended.type = .end
    let log = AlarmLog.encode([start, acknowledged])
    return [[0] + Array(log.utf8), [0] + Array(AlarmLog.encode([start, acknowledged, ended]).utf8),
            [0] + Array((log + "0000 torn").utf8)]
})
