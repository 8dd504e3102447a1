import JSON
import Vitals

/// How a piece of the board is shown. The executable turns these into ANSI escape sequences;
/// the three alarm styles are IEC 60601-1-8's colours and are used for nothing else.
public enum BoardStyle: Equatable, Sendable {
    case plain
    case heading
    /// A value that is not a measurement (comm-loss, sensor off, out of range): never a number.
    case noValue
    /// A chair whose last message is older than `BoardLayout.staleAfterMilliseconds`.
    case stale
    case alarmHigh
    case alarmMedium
    case alarmLow
}

public struct BoardSpan: Equatable, Sendable {
    public var text: String
    public var style: BoardStyle

    public init(_ text: String, _ style: BoardStyle = .plain) {
        self.text = text
        self.style = style
    }
}

/// One line of the board: spans that together are at most the terminal's width.
public struct BoardLine: Equatable, Sendable {
    public var spans: [BoardSpan]

    public init(_ spans: [BoardSpan]) { self.spans = spans }

    /// The line as it reads, without styles.
    public var text: String {
        var result = ""
        for span in spans { result += span.text }
        return result
    }
}

/// The board as lines for a terminal of a given size: a heading, one row per chair (in the
/// order people number chairs: chair-2 before chair-10), columns of vitals with their units,
/// the chair's active alarms, and a key. Pure: the same state, time and size give the same lines.
public enum BoardLayout {
    /// A chair whose last message is older than this is shown as stale: its numbers are the
    /// last ones received, not the patient's now.
    public static let staleAfterMilliseconds: Int64 = 5_000

    struct Column {
        var heading: String
        var width: Int
        /// Columns are dropped from the lowest rank up when the terminal is too narrow.
        var rank: Int
        var cell: (BoardState.Chair) -> BoardSpan
    }

    public static func lines(_ state: BoardState, now: Int64, width: Int, height: Int, title: String) -> [BoardLine] {
        let width = max(width, 20)
        let chairs = state.chairs.values.sorted { naturallyBefore($0.bed, $1.bed) }
        var bedWidth = 5
        for chair in chairs { bedWidth = max(bedWidth, min(16, count(chair.bed))) }

        var columns = [
            Column(heading: "chair", width: bedWidth, rank: 100) { BoardSpan($0.bed) },
            Column(heading: "age", width: 4, rank: 90) { age($0, now: now) },
            Column(heading: "SpO2 %", width: 6, rank: 95) { value($0, "spo2", decimals: 0) },
            Column(heading: "PR /min", width: 7, rank: 10) { value($0, "pulse_rate", decimals: 0) },
            Column(heading: "HR /min", width: 7, rank: 92) { value($0, "heart_rate", decimals: 0) },
            Column(heading: "NIBP mmHg", width: 13, rank: 50) { pressure($0) },
            Column(heading: "RR /min", width: 7, rank: 60) { value($0, "respiratory_rate", decimals: 0) },
            Column(heading: "EtCO2 mmHg", width: 10, rank: 40) { value($0, "etco2", decimals: 1) },
            Column(heading: "pump mL/h", width: 13, rank: 30) { pump($0) },
        ]
        // Room for the name of the highest alarm and a count of the rest: an alarm matters
        // more than any column but SpO2 and heart rate.
        let alarmsMinimum = 24
        func used(_ columns: [Column]) -> Int { columns.reduce(0) { $0 + $1.width + 2 } }
        while used(columns) + alarmsMinimum > width, columns.count > 3 {
            var lowest = 0
            for index in columns.indices where columns[index].rank < columns[lowest].rank { lowest = index }
            columns.remove(at: lowest)
        }
        let alarmsWidth = max(0, width - used(columns))

        var lines: [BoardLine] = []
        let stamp = chairs.isEmpty ? "waiting for the first message" : "\(chairs.count) chair" + (chairs.count == 1 ? "" : "s")
        lines.append(BoardLine([BoardSpan(fit(title + "  \u{00B7}  " + stamp, width), .heading)]))

        var heading: [BoardSpan] = []
        for column in columns { heading.append(BoardSpan(pad(column.heading, column.width, right: column.rank != 100) + "  ", .heading)) }
        if alarmsWidth > 0 { heading.append(BoardSpan(pad("alarms", alarmsWidth, right: false), .heading)) }
        lines.append(BoardLine(heading))

        let key = BoardLine([BoardSpan(fit("lost: device not answering  off: sensor off  bad: outside the device's range  "
                                            + "~: stale  \u{2713}: acknowledged", width))])
        let rowsRoom = max(1, height - lines.count - 1)
        for (index, chair) in chairs.enumerated() {
            if index == rowsRoom - 1 && chairs.count > rowsRoom {
                lines.append(BoardLine([BoardSpan(fit("\u{2026} \(chairs.count - index) more chairs: enlarge the window", width), .heading)]))
                break
            }
            var spans: [BoardSpan] = []
            let stale = isStale(chair, now: now)
            for column in columns {
                var cell = column.cell(chair)
                cell.text = pad(cell.text, column.width, right: column.rank != 100)
                if stale && cell.style == .plain && column.rank != 90 { cell.style = .stale }
                if column.rank == 100, let highest = chair.alarms.map({ $0.priority }).max() {
                    // The chair's name in the colour of its highest alarm: it is the first thing
                    // an eye runs down.
                    cell.style = style(highest)
                }
                spans.append(cell)
                spans.append(BoardSpan("  "))
            }
            if alarmsWidth > 0 { spans += alarmSpans(chair, width: alarmsWidth) }
            lines.append(BoardLine(spans))
        }
        lines.append(key)
        return lines
    }

    // MARK: cells

    static func isStale(_ chair: BoardState.Chair, now: Int64) -> Bool {
        guard let received = chair.receivedAt else { return true }
        return now - received > staleAfterMilliseconds
    }

    static func age(_ chair: BoardState.Chair, now: Int64) -> BoardSpan {
        guard let received = chair.receivedAt else { return BoardSpan("-", .noValue) }
        let seconds = max(0, (now - received) / 1000)
        let text = seconds < 120 ? "\(seconds)s" : seconds < 7200 ? "\(seconds / 60)m" : "\(seconds / 3600)h"
        return BoardSpan(text, isStale(chair, now: now) ? .stale : .plain)
    }

    /// A value, or what it is instead of one: a sample that is not `ok` is never shown as a
    /// number (a stale one is marked `~`, as the key says).
    static func value(_ chair: BoardState.Chair, _ name: String, decimals: Int) -> BoardSpan {
        if chair.waitingForDescription != nil { return BoardSpan("?", .noValue) }
        guard let vitals = chair.vitals, let value = vitals.value(named: name) else { return BoardSpan("-") }
        switch value.quality {
        case "ok":
            guard let number = value.value else { return BoardSpan("-") }
            return BoardSpan(formatDecimal(number, decimals: decimals))
        case "stale":
            guard let number = value.value else { return BoardSpan("~", .noValue) }
            return BoardSpan(formatDecimal(number, decimals: decimals) + "~")
        case "comm-loss": return BoardSpan("lost", .noValue)
        case "sensor-off": return BoardSpan("off", .noValue)
        case "out-of-range": return BoardSpan("bad", .noValue)
        default: return BoardSpan(value.quality, .noValue)
        }
    }

    static func pressure(_ chair: BoardState.Chair) -> BoardSpan {
        let systolic = value(chair, "nibp_systolic", decimals: 0)
        let diastolic = value(chair, "nibp_diastolic", decimals: 0)
        let mean = value(chair, "nibp_mean", decimals: 0)
        if systolic.style == .noValue { return systolic }
        if systolic.text == "-" && diastolic.text == "-" { return BoardSpan("-") }
        return BoardSpan(systolic.text + "/" + diastolic.text + " (" + mean.text + ")",
                         diastolic.style == .noValue || mean.style == .noValue ? .noValue : .plain)
    }

    static func pump(_ chair: BoardState.Chair) -> BoardSpan {
        let rate = value(chair, "rate", decimals: 1)
        if rate.style == .noValue || rate.text == "-" { return rate }
        let states = ["stopped", "running", "paused"]
        var state = "?"
        if let code = chair.vitals?.value(named: "state"), code.quality == "ok", let number = code.value, number >= 0,
           number < Double(states.count) {
            state = states[Int(number)]
        }
        return BoardSpan(rate.text + " " + state)
    }

    static func style(_ priority: BoardState.Priority) -> BoardStyle {
        switch priority {
        case .high: return .alarmHigh
        case .medium: return .alarmMedium
        case .low: return .alarmLow
        }
    }

    /// The chair's active alarms, highest priority first, each in its colour; what does not fit
    /// is counted, never cut off silently.
    static func alarmSpans(_ chair: BoardState.Chair, width: Int) -> [BoardSpan] {
        if chair.waitingForDescription != nil, chair.alarms.isEmpty {
            return [BoardSpan(fit("waiting for its description", width), .noValue)]
        }
        let ordered = chair.alarms.sorted { $0.priority > $1.priority || ($0.priority == $1.priority && $0.alarm < $1.alarm) }
        var spans: [BoardSpan] = []
        var used = 0
        for (index, alarm) in ordered.enumerated() {
            let label = " " + alarm.condition + (alarm.acknowledged ? " \u{2713}" : "") + " "
            let remaining = ordered.count - index - 1
            let reserve = remaining > 0 ? count("+\(remaining)") + 1 : 0
            if used + count(label) + 1 + reserve > width {
                let more = "+\(ordered.count - index)"
                if used + count(more) <= width { spans.append(BoardSpan(more, .heading)) }
                return spans
            }
            spans.append(BoardSpan(label, style(alarm.priority)))
            spans.append(BoardSpan(" "))
            used += count(label) + 1
        }
        if let until = chair.audioPausedUntil {
            let clock = count(until) >= 19 ? String(until.dropFirst(11).prefix(8)) + "Z" : until
            let note = "audio paused until " + clock
            if used + count(note) <= width { spans.append(BoardSpan(note, .heading)) }
        }
        return spans
    }

    // MARK: text

    static func count(_ text: String) -> Int {
        var n = 0
        for _ in text.unicodeScalars { n += 1 }
        return n
    }

    /// `text` cut to `width` (with an ellipsis when cut).
    static func fit(_ text: String, _ width: Int) -> String {
        guard count(text) > width else { return text }
        guard width > 1 else { return String(text.unicodeScalars.prefix(max(0, width)).map { Character($0) }) }
        var result = ""
        for scalar in text.unicodeScalars.prefix(width - 1) { result.unicodeScalars.append(scalar) }
        return result + "\u{2026}"
    }

    /// `text` fitted into exactly `width` columns, numbers to the right.
    static func pad(_ text: String, _ width: Int, right: Bool) -> String {
        let fitted = fit(text, width)
        let spaces = String(repeating: " ", count: max(0, width - count(fitted)))
        return right ? spaces + fitted : fitted + spaces
    }

    /// Compares ids as people number chairs: runs of digits by their value.
    public static func naturallyBefore(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var i = 0, j = 0
        func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
        while i < x.count && j < y.count {
            if isDigit(x[i]) && isDigit(y[j]) {
                var numberX = 0, numberY = 0
                while i < x.count && isDigit(x[i]) { numberX = min(numberX * 10 + Int(x[i] - 48), Int.max / 20); i += 1 }
                while j < y.count && isDigit(y[j]) { numberY = min(numberY * 10 + Int(y[j] - 48), Int.max / 20); j += 1 }
                if numberX != numberY { return numberX < numberY }
            } else {
                if x[i] != y[j] { return x[i] < y[j] }
                i += 1
                j += 1
            }
        }
        return x.count - i < y.count - j
    }
}

/// ANSI (ECMA-48) text of a board line: SGR attributes per span, reset at the end.
public enum BoardANSI {
    public static func text(_ line: BoardLine) -> String {
        var result = ""
        var current = BoardStyle.plain
        for span in line.spans {
            if span.style != current {
                result += "\u{1B}[0m" + sgr(span.style)
                current = span.style
            }
            result += span.text
        }
        if current != .plain { result += "\u{1B}[0m" }
        return result
    }

    static func sgr(_ style: BoardStyle) -> String {
        switch style {
        case .plain: return ""
        case .heading: return "\u{1B}[1m"
        case .noValue: return "\u{1B}[1;7m"
        case .stale: return "\u{1B}[2m"
        case .alarmHigh: return "\u{1B}[1;97;41m"
        case .alarmMedium: return "\u{1B}[1;30;103m"
        case .alarmLow: return "\u{1B}[30;106m"
        }
    }
}
