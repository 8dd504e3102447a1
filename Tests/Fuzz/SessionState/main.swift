import Alarms
import Charting
import FuzzSupport
import JSON
import RegisterMaps
import SessionPicture
import Sessions
import Vitals

// A bed's session state file read back at start, then the recorder going on with it: a
// message, a row, an alarm event, a device state, the commands and the record's encoding.
// The input is also read as a stored record file and drawn (`/sessions/<id>.svg`).
// Properties: a state that restores snapshots to bytes that restore to the same snapshot,
// every record it encodes is JSON the parser reads, and every final record can be drawn.
let description = BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                             ("pump-1", BuiltinProfiles.infusionPump.points)])
let start: Int64 = 1_796_334_540_000

/// One message of the bed: the pump running, SpO2 at 88 %, the monitor's ECG entries comm-loss.
func message(at time: Int64) -> [VitalValue] {
    description.entries.indices.map { entry in
        let name = description.entries[entry].name
        let value: Double = name == "state" ? 1 : name == "pump_status" ? 0 : name == "spo2" ? 88 : 60
        return VitalValue(entry: entry, value: value, quality: name == "heart_rate" ? .commLoss : .ok, wallClockMilliseconds: time)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzSessionState(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    if let plot = try? SessionRecordPlot.plot(recordJSON: bytes) { _ = SessionPicture.svg(plot) }
    guard var recorder = try? SessionRecorder(description: description, intervalMilliseconds: 10_000,
                                              settings: SessionSettings(endAfterStoppedSeconds: 10), snapshot: bytes)
    else { return 0 }
    let snapshot = recorder.snapshot()
    let again = try? SessionRecorder(description: description, intervalMilliseconds: 10_000,
                                     settings: SessionSettings(endAfterStoppedSeconds: 10), snapshot: snapshot)
    fuzzRequire(again?.snapshot() == snapshot, "a restored state does not snapshot to itself")
    recorder.resumed()
    let time = start + 60_000
    let values = message(at: time)
    var chart = ChartingAggregator(description: description, intervalMilliseconds: 10_000)
    _ = chart.add(values, messageMilliseconds: time)
    var records: [String] = []
    func take(_ changes: SessionChanges) {
        guard let finished = changes.finished else { return }
        records.append(finished.record)
        let plot = try? SessionRecordPlot.plot(recordJSON: Array(finished.record.utf8))
        fuzzRequire(plot != nil, "a final record that cannot be drawn: \(finished.record)")
        if let plot { _ = SessionPicture.svg(plot) }
    }
    take(recorder.observe(values, messageMilliseconds: time))
    if let row = chart.add(values, messageMilliseconds: time + 20_000) { take(recorder.addRow(row)) }
    for type in [AlarmEventType.start, .escalate, .acknowledge, .end] {
        take(recorder.alarm(AlarmEvent(bed: "chair-1", sequence: 1, alarm: "chair-1.spo2-low.1", condition: "spo2-low",
                                       priority: .high, kind: .physiological, type: type, wallClockMilliseconds: time + 1000,
                                       monotonicMilliseconds: 0, by: "button")))
    }
    take(recorder.deviceState(device: "pump-1", answering: false, reason: "timeout", at: time + 2000))
    take(recorder.deviceState(device: "pump-1", answering: true, reason: nil, at: time + 3000))
    if let running = recorder.runningRecord(at: time + 4000) { records.append(running) }
    records.append(recorder.noSessionPayload(at: time + 4000))
    if let ended = try? recorder.endByCommand(issuer: "fuzz", at: time + 5000) { take(ended) }
    if let started = try? recorder.startByCommand(issuer: "fuzz", at: time + 6000) { take(started) }
    for record in records { fuzzRequire((try? JSONParser.parse(record)) != nil, "a record that is not JSON: \(record)") }
    return 0
}

runFuzzTarget(fuzzSessionState, seeds: {
    var recorder = SessionRecorder(description: description, intervalMilliseconds: 10_000, settings: SessionSettings())
    let empty = recorder.snapshot()
    _ = recorder.observe(message(at: start), messageMilliseconds: start)
    _ = recorder.alarm(AlarmEvent(bed: "chair-1", sequence: 1, alarm: "chair-1.spo2-low.1", condition: "spo2-low", priority: .high,
                                  kind: .physiological, type: .start, wallClockMilliseconds: start + 500, monotonicMilliseconds: 0))
    return [empty, recorder.snapshot()]
})
