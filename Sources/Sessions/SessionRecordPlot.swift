import JSON
import Platform
import SessionPicture

/// Why a stored record cannot be drawn.
public struct SessionRecordReadError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { "the session record cannot be drawn: \(reason)" }

    public init(reason: String) { self.reason = reason }
}

/// Reads a session record as the agent writes it (`SessionRecorder`'s final record, the JSON
/// of `<sessions.directory>/<id>.json`) into the plot model of its picture. It reads the record
/// file rather than the recorder's state, so every record kept on the box can be drawn, and a
/// damaged file is refused with a reason, never drawn in part.
///
/// Series are found by the point names of the built-in profiles (`spo2`, `heart_rate` or else
/// `pulse_rate`, `nibp_systolic`, `nibp_diastolic`, `nibp_mean`, `respiratory_rate`, `etco2`, the
/// pump's `rate`); a clinic profile with other names draws without those series.
public enum SessionRecordPlot {
    public static func plot(recordJSON bytes: [UInt8]) throws(SessionRecordReadError) -> SessionPlot {
        let record: JSONValue
        do throws(JSONParseError) { record = try JSONParser.parse(bytes) } catch {
            throw SessionRecordReadError(reason: error.description)
        }
        guard let session = record["session"]?.stringValue, let bed = record["bed"]?.stringValue,
              let start = record["start"]?.stringValue.flatMap(parseUTCTimestamp) else {
            throw SessionRecordReadError(reason: "it has no session, bed or start")
        }
        let rows = record["rows"]?.arrayValue ?? []
        let events = record["events"]?.arrayValue ?? []
        let lastRow = rows.last?["time"]?.stringValue.flatMap(parseUTCTimestamp)
        let end = record["end"]?.stringValue.flatMap(parseUTCTimestamp) ?? lastRow ?? start
        var plot = SessionPlot(bed: bed, session: session, startMilliseconds: start, endMilliseconds: max(end, start + 1))
        readRows(rows, into: &plot)
        readEvents(events, rows: rows, into: &plot)
        if let summary = record["summary"] { plot.summary = summaryLines(summary) }
        return plot
    }

    // MARK: - Rows: one sample per row and series

    static func quality(_ text: String?) -> PlotQuality {
        switch text {
        case "ok": return .ok
        case "stale": return .stale
        case "out-of-range": return .outOfRange
        case "sensor-off": return .sensorOff
        default: return .commLoss
        }
    }

    static func readRows(_ rows: [JSONValue], into plot: inout SessionPlot) {
        var lastPressure: (systolic: Double, diastolic: Double, mean: Double?)? = nil
        for row in rows {
            guard let time = row["time"]?.stringValue.flatMap(parseUTCTimestamp) else { continue }
            var values: [String: PlotSample] = [:]
            for value in row["values"]?.arrayValue ?? [] {
                guard let name = value["name"]?.stringValue else { continue }
                let quality = quality(value["quality"]?.stringValue)
                // A value without a number (comm-loss, sensor-off) is a sample that breaks the line.
                values[name] = PlotSample(time, value["value"]?.doubleValue ?? .nan, quality: value["value"]?.doubleValue == nil ? .commLoss : quality)
            }
            if let sample = values["spo2"] { plot.spo2.append(sample) }
            if let sample = values["heart_rate"] ?? values["pulse_rate"] { plot.heartRate.append(sample) }
            if let sample = values["respiratory_rate"] { plot.respiratoryRate.append(sample) }
            if let sample = values["etco2"] { plot.etco2.append(sample) }
            // The pump's rate is a setting drawn as steps: a sample where it changes.
            if let sample = values["rate"], plot.pumpRate.last.map({ $0.value != sample.value || $0.quality != sample.quality }) ?? true {
                plot.pumpRate.append(sample)
            }
            // NIBP is measured every few minutes and charted at every row: a measurement is drawn
            // once, at the first row that shows it.
            if let systolic = values["nibp_systolic"], let diastolic = values["nibp_diastolic"], systolic.quality == .ok {
                let mean = values["nibp_mean"]
                let meanValue = mean?.quality == .ok ? mean?.value : nil
                let last = lastPressure
                if last == nil || last?.systolic != systolic.value || last?.diastolic != diastolic.value || last?.mean != meanValue {
                    plot.systolic.append(systolic)
                    plot.diastolic.append(diastolic)
                    if let mean { plot.mean.append(mean) }
                    lastPressure = (systolic.value, diastolic.value, meanValue)
                }
            }
        }
    }

    // MARK: - Events: alarms and devices that did not answer

    static func readEvents(_ events: [JSONValue], rows: [JSONValue], into plot: inout SessionPlot) {
        var alarmIndex: [String: Int] = [:]
        var down: [String: Int64] = [:]
        for event in events {
            guard let kind = event["event"]?.stringValue, let time = event["time"]?.stringValue.flatMap(parseUTCTimestamp) else { continue }
            let alarm = event["alarm"]?.stringValue ?? ""
            switch kind {
            case "alarm-start":
                guard let condition = event["condition"]?.stringValue else { continue }
                alarmIndex[alarm] = plot.alarms.count
                plot.alarms.append(PlotAlarm(condition: condition, priority: priority(event["priority"]?.stringValue), start: time, end: nil))
            case "alarm-escalate":
                if let index = alarmIndex[alarm], plot.alarms[index].escalatedToHighAt == nil {
                    plot.alarms[index].escalatedToHighAt = time
                }
            case "alarm-acknowledge":
                if let index = alarmIndex[alarm], plot.alarms[index].acknowledgedAt == nil { plot.alarms[index].acknowledgedAt = time }
            case "alarm-end":
                if let index = alarmIndex[alarm] { plot.alarms[index].end = time }
            case "device-comm-loss":
                if let device = event["device"]?.stringValue, down[device] == nil { down[device] = time }
            case "device-recovered":
                if let device = event["device"]?.stringValue, let since = down.removeValue(forKey: device) {
                    plot.gaps.append(PlotGap(start: since, end: time, device: device, scope: scope(from: since, to: time, rows: rows)))
                }
            default: continue
            }
        }
        for (device, since) in down.sorted(by: { $0.value < $1.value }) {
            plot.gaps.append(PlotGap(start: since, end: plot.endMilliseconds, device: device,
                                     scope: scope(from: since, to: plot.endMilliseconds, rows: rows)))
        }
    }

    static func priority(_ text: String?) -> PlotPriority {
        switch text {
        case "high": return .high
        case "medium": return .medium
        default: return .low
        }
    }

    /// Whether a silent device was the pump or the monitor, from the rows inside its gap: the
    /// record names devices by id only, and ids are the clinic's choice.
    static func scope(from start: Int64, to end: Int64, rows: [JSONValue]) -> GapScope {
        for row in rows {
            guard let time = row["time"]?.stringValue.flatMap(parseUTCTimestamp), time > start, time <= end else { continue }
            for value in row["values"]?.arrayValue ?? [] where value["name"]?.stringValue == "spo2" {
                return value["quality"]?.stringValue == "comm-loss" ? .vitals : .pump
            }
        }
        return .vitals
    }

    // MARK: - The summary, as a clinician reads it

    static func summaryLines(_ summary: JSONValue) -> [SummaryLine] {
        var lines: [SummaryLine] = []
        func add(_ label: String, _ key: String, _ format: (Double) -> String) {
            if let value = summary[key]?.doubleValue { lines.append(SummaryLine(label, format(value))) }
        }
        add("duration", "duration_s", duration)
        add("volume infused", "volume_infused_ml") { formatDecimal($0, decimals: 1) + " mL" }
        add("lowest SpO2", "spo2_lowest") { formatDecimal($0, decimals: 0) + " %" }
        add("time SpO2 < 90 %", "spo2_below_90_s", duration)
        add("highest systolic", "systolic_highest") { formatDecimal($0, decimals: 0) + " mmHg" }
        add("highest heart rate", "heart_rate_highest") { formatDecimal($0, decimals: 0) + " /min" }
        add("lowest respiratory rate", "respiratory_rate_lowest") { formatDecimal($0, decimals: 0) + " /min" }
        let conditions = summary["alarms"]?.arrayValue ?? []
        var byPriority = [0, 0, 0]
        for condition in conditions {
            for (index, key) in ["high", "medium", "low"].enumerated() {
                byPriority[index] += Int(condition[key]?.integerValue ?? 0)
            }
        }
        let total = byPriority[0] + byPriority[1] + byPriority[2]
        lines.append(SummaryLine("alarms", total == 0 ? "none"
            : "\(total) (high \(byPriority[0]), medium \(byPriority[1]), low \(byPriority[2]))"))
        for condition in conditions {
            guard let name = condition["condition"]?.stringValue else { continue }
            let count = ["high", "medium", "low"].reduce(0) { $0 + Int(condition[$1]?.integerValue ?? 0) }
            let total = condition["duration_total_s"]?.doubleValue ?? 0
            lines.append(SummaryLine("  " + name, (count == 1 ? "1 alarm" : "\(count) alarms") + (total > 0 ? ", \(duration(total)) in all" : "")))
        }
        add("time to acknowledge, median", "acknowledge_median_s", duration)
        add("time to acknowledge, longest", "acknowledge_longest_s", duration)
        add("time with a high alarm", "high_alarm_active_s", duration)
        if case let .object(members)? = summary["completeness"] {
            var lowest: (name: String, share: Double)? = nil
            for member in members {
                guard let share = member.value.doubleValue else { continue }
                if lowest.map({ share < $0.share }) ?? true { lowest = (member.key, share) }
            }
            if let lowest {
                lines.append(SummaryLine("least complete: " + lowest.name, formatDecimal(lowest.share * 100, decimals: 1) + " %"))
            }
        }
        return lines
    }

    /// "45 min", "3 min 10 s", "12 s", "0.4 s".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 10 { return formatDecimal(seconds, decimals: 1) + " s" }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole) s" }
        let minutes = whole / 60
        let rest = whole % 60
        if minutes >= 60 { return "\(minutes / 60) h \(minutes % 60) min" }
        return rest == 0 ? "\(minutes) min" : "\(minutes) min \(rest) s"
    }
}
