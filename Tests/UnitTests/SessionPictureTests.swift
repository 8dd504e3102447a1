import Foundation
import SessionPicture
import Testing

/// The session picture on fixed sessions: every series drawn, every text escaped, the 90 %
/// line where a 90 % value is, nothing drawn across a gap, and a document xmllint accepts
/// and rsvg-convert renders. With SESSION_PICTURE_OUT=DIR the two example sessions are also
/// written there as SVG and PNG, to be looked at:
///   SESSION_PICTURE_OUT=/tmp/picture swift test --skip-build --filter SessionPictureTests
struct SessionPictureTests {
    // MARK: fixtures

    /// 2026-12-03T09:00:00Z
    static let nine: Int64 = 1_796_288_400_000
    static func at(_ minutes: Double) -> Int64 { nine + Int64(minutes * 60_000) }

    /// A 45-minute ketamine infusion: SpO2 falls to 85 % at 09:18 with a high alarm that the
    /// button acknowledges 35 s later; the pump is paused for it; the monitor stops answering
    /// for 90 s at 09:30 (a medium technical alarm); a medium rr-low that escalates; NIBP every
    /// 5 minutes.
    static func desaturation() -> SessionPlot {
        var plot = SessionPlot(bed: "chair-2", session: "chair-2/2026-12-03T09:00:00Z", startMilliseconds: at(0),
                               endMilliseconds: at(45))
        let gapStart = at(30), gapEnd = at(31.5)
        plot.gaps = [PlotGap(start: gapStart, end: gapEnd, device: "monitor-2", scope: .vitals)]
        let spo2Dip: [Double: Double] = [17: 95, 18: 92, 19: 88, 20: 85, 21: 86, 22: 89, 23: 93, 24: 95]
        for minute in 0...45 {
            let m = Double(minute)
            let t = at(m)
            let silent = t > gapStart && t < gapEnd
            let quality: PlotQuality = silent ? .commLoss : .ok
            plot.spo2.append(PlotSample(t, spo2Dip[m] ?? (97 + Double(minute % 3 == 0 ? 1 : 0)), quality: quality))
            let heart = 74 + (m - 5) * 0.6 + (spo2Dip[m] != nil ? 14 : 0)
            plot.heartRate.append(PlotSample(t, minute < 5 ? 72 : heart, quality: quality))
            let breathing: Double = (spo2Dip[m] != nil && m < 22) ? 7 : 14 + Double(minute % 2)
            plot.respiratoryRate.append(PlotSample(t, breathing, quality: quality))
            plot.etco2.append(PlotSample(t, breathing < 10 ? 47 : 37.5 + Double(minute % 4) * 0.5, quality: quality))
        }
        for (minute, pressure) in [(0, (118.0, 76.0, 90.0)), (5, (131, 84, 100)), (10, (139, 88, 105)), (15, (142, 90, 107)),
                                   (20, (136, 86, 103)), (25, (133, 85, 101)), (35, (128, 82, 97)), (40, (124, 80, 95)),
                                   (45, (120, 78, 92))] {
            plot.systolic.append(PlotSample(at(Double(minute)), pressure.0))
            plot.diastolic.append(PlotSample(at(Double(minute)), pressure.1))
            plot.mean.append(PlotSample(at(Double(minute)), pressure.2))
        }
        plot.pumpRate = [PlotSample(at(0), 75), PlotSample(at(19.5), 0), PlotSample(at(23), 75), PlotSample(at(40), 0)]
        plot.alarms = [
            PlotAlarm(condition: "rr-low", priority: .medium, start: at(18.2), end: at(21.7), acknowledgedAt: nil,
                      escalatedToHighAt: at(19.2)),
            PlotAlarm(condition: "spo2-low", priority: .high, start: at(19.1), end: at(22.4), acknowledgedAt: at(19.1) + 35_000),
            PlotAlarm(condition: "comm-loss-monitor-2", priority: .medium, start: at(30.1), end: at(31.5)),
            PlotAlarm(condition: "nibp-stale", priority: .low, start: at(30.0), end: at(35.0)),
        ]
        plot.summary = [
            SummaryLine("duration", "45 min"),
            SummaryLine("volume infused", "47.9 mL"),
            SummaryLine("lowest SpO2", "85 %"),
            SummaryLine("time SpO2 < 90 %", "3 min 10 s"),
            SummaryLine("highest systolic", "142 mmHg"),
            SummaryLine("highest heart rate", "104 /min"),
            SummaryLine("lowest respiratory rate", "7 /min"),
            SummaryLine("alarms", "4 (high 1, medium 2, low 1)"),
            SummaryLine("spo2-low (high)", "1, 3 min 18 s"),
            SummaryLine("time to acknowledge, median", "35 s"),
            SummaryLine("time to acknowledge, longest", "35 s"),
            SummaryLine("time with a high alarm", "5 min 44 s"),
            SummaryLine("complete: SpO2, HR, RR, EtCO2", "96.7 %"),
            SummaryLine("complete: pump", "100 %"),
        ]
        return plot
    }

    /// 45 minutes with nothing to note.
    static func uneventful() -> SessionPlot {
        var plot = SessionPlot(bed: "chair-1", session: "chair-1/2026-12-03T09:00:00Z", startMilliseconds: at(0),
                               endMilliseconds: at(45))
        for minute in 0...45 {
            let t = at(Double(minute))
            plot.spo2.append(PlotSample(t, 97 + Double(minute % 3 == 0 ? 1 : 0)))
            plot.heartRate.append(PlotSample(t, 70 + Double(minute % 5)))
            plot.respiratoryRate.append(PlotSample(t, 13 + Double(minute % 2)))
            plot.etco2.append(PlotSample(t, 36.5 + Double(minute % 3) * 0.5))
        }
        for minute in stride(from: 0, through: 45, by: 5) {
            let rise = Double(min(minute, 15)) * 0.8
            plot.systolic.append(PlotSample(at(Double(minute)), 116 + rise))
            plot.diastolic.append(PlotSample(at(Double(minute)), 74 + rise / 2))
            plot.mean.append(PlotSample(at(Double(minute)), 88 + rise * 0.6))
        }
        plot.pumpRate = [PlotSample(at(0), 75), PlotSample(at(40), 0)]
        plot.summary = [
            SummaryLine("duration", "45 min"),
            SummaryLine("volume infused", "50.0 mL"),
            SummaryLine("lowest SpO2", "97 %"),
            SummaryLine("time SpO2 < 90 %", "0 s"),
            SummaryLine("highest systolic", "128 mmHg"),
            SummaryLine("highest heart rate", "74 /min"),
            SummaryLine("lowest respiratory rate", "13 /min"),
            SummaryLine("alarms", "none"),
            SummaryLine("complete: every parameter", "100 %"),
        ]
        return plot
    }

    // MARK: reading the SVG back

    /// The text of the element `<g id="ID" ...> ... </g>` (groups are not nested in the page).
    static func group(_ id: String, in svg: String) -> String? {
        guard let open = svg.range(of: "<g id=\"\(id)\"") else { return nil }
        guard let close = svg.range(of: "</g>", range: open.upperBound..<svg.endIndex) else { return nil }
        return String(svg[open.lowerBound..<close.upperBound])
    }

    /// The points of every polyline in `text`, as (x, y) pairs.
    static func polylines(in text: String) -> [[(x: Double, y: Double)]] {
        var result: [[(x: Double, y: Double)]] = []
        var rest = text[...]
        while let start = rest.range(of: "<polyline points=\"") {
            let end = rest.range(of: "\"", range: start.upperBound..<rest.endIndex)!
            let pairs = rest[start.upperBound..<end.lowerBound].split(separator: " ").map { pair -> (x: Double, y: Double) in
                let parts = pair.split(separator: ",")
                return (Double(parts[0])!, Double(parts[1])!)
            }
            result.append(pairs)
            rest = rest[end.upperBound...]
        }
        return result
    }

    static func count(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    // MARK: tests

    @Test func everySeriesIsDrawn() {
        let svg = SessionPicture.svg(Self.uneventful())
        for name in ["spo2", "heart-rate", "respiratory-rate", "etco2", "pump-rate"] {
            let series = Self.group("series-\(name)", in: svg)
            #expect(series != nil, "no series-\(name) group")
            #expect(Self.polylines(in: series ?? "").count == 1, "series-\(name) should be one unbroken line")
        }
        // 46 samples a minute apart, one line through all of them.
        #expect(Self.polylines(in: Self.group("series-spo2", in: svg) ?? "").first?.count == 46)
        // One ∨, ∧ and mean mark per NIBP measurement (10), and a bar joining each pair.
        // (each mark is drawn twice: its white outline, then the mark)
        #expect(Self.count("<path", in: Self.group("series-systolic", in: svg) ?? "") == 20)
        #expect(Self.count("<path", in: Self.group("series-diastolic", in: svg) ?? "") == 20)
        #expect(Self.count("<circle", in: Self.group("series-mean", in: svg) ?? "") == 10)
        #expect(Self.count("<line", in: Self.group("series-nibp-bars", in: svg) ?? "") == 10)
        #expect(svg.contains("no alarms in this session"))
        #expect(svg.contains("all times UTC"))
        #expect(svg.contains(">time (UTC)</text>"))
        for summary in Self.uneventful().summary {
            #expect(svg.contains(">\(SVGText.escaped(summary.label))</text>") && svg.contains(">\(summary.value)</text>"))
        }
    }

    @Test func clockTimesFollowTheGivenOffset() {
        var plot = Self.uneventful()
        plot.utcOffsetMinutes = 60
        let svg = SessionPicture.svg(plot)
        #expect(svg.contains("all times UTC+01:00"))
        #expect(svg.contains(">10:05</text>") && !svg.contains(">09:05</text>"))
        #expect(PlotGeometry.clockName(utcOffsetMinutes: -330) == "UTC-05:30")
        #expect(PlotGeometry.clockTime(Self.at(0) + 5_000, utcOffsetMinutes: 0, seconds: true) == "09:00:05")
        #expect(PlotGeometry.ticks(start: Self.at(0.5), end: Self.at(16), minutes: 5, utcOffsetMinutes: 0)
                == [Self.at(5), Self.at(10), Self.at(15)])
    }

    @Test func everyTextIsEscaped() throws {
        var plot = Self.desaturation()
        plot.bed = "chair <2> & \"B\""
        plot.session = "s'1\u{01}"
        plot.alarms[0].condition = "rr<low>&"
        plot.gaps[0].device = "mon&itor"
        plot.summary.append(SummaryLine("<script>", "a & b"))
        let svg = SessionPicture.svg(plot)
        #expect(svg.contains("chair &lt;2&gt; &amp; &quot;B&quot;"))
        #expect(svg.contains("s&apos;1\u{FFFD}"))
        #expect(svg.contains("rr&lt;low&gt;&amp;"))
        #expect(svg.contains("mon&amp;itor"))
        #expect(svg.contains("&lt;script&gt;") && svg.contains("a &amp; b"))
        for raw in ["<2>", "& \"", "<script>", "rr<low", "mon&itor", "a & b", "\u{01}"] {
            #expect(!svg.contains(raw), "unescaped \(raw)")
        }
        try Self.xmllint(svg, name: "escaped")
    }

    @Test func theNinetyPercentLineIsWhereNinetyIsDrawnAndSaysSo() throws {
        var plot = Self.uneventful()
        plot.spo2[10].value = 90
        let svg = SessionPicture.svg(plot)
        let line = try #require(Self.group("spo2-90-line", in: svg))
        #expect(line.contains(">90 %</text>"))
        let y = try #require(line.range(of: #"y1="([0-9.]+)""#, options: .regularExpression).map {
            Double(line[$0].dropFirst(4).dropLast())!
        })
        let spo2 = Self.polylines(in: Self.group("series-spo2", in: svg) ?? "")
        #expect(spo2.first?[10].y == y, "the 90 % line is at y \(y), a 90 % sample at \(spo2.first?[10].y ?? -1)")
        // 97 % is above it (smaller y), the scale's 80 % below.
        #expect((spo2.first?[0].y ?? 0) < y)
        // A desaturation below 80 % widens the scale rather than drawing at its edge.
        plot.spo2[12].value = 72
        let deeper = Self.polylines(in: Self.group("series-spo2", in: SessionPicture.svg(plot)) ?? "")
        #expect(deeper.first.map { $0[12].y > $0[10].y } == true)
    }

    @Test func aGapIsAGap() throws {
        let plot = Self.desaturation()
        let svg = SessionPicture.svg(plot)
        // x of the gap's edges, from the hatching drawn over it.
        let gaps = try #require(Self.group("gaps", in: svg))
        #expect(Self.count("class=\"gap\"", in: gaps) == 3, "hatching over the three panels the monitor feeds")
        let x = try #require(gaps.range(of: #"x="([0-9.]+)""#, options: .regularExpression).map { Double(gaps[$0].dropFirst(3).dropLast())! })
        let width = try #require(gaps.range(of: #"width="([0-9.]+)""#, options: .regularExpression).map {
            Double(gaps[$0].dropFirst(7).dropLast())!
        })
        #expect(svg.contains("no data: monitor-2 not answering 1 min 30 s"))
        for name in ["spo2", "heart-rate", "respiratory-rate", "etco2"] {
            let lines = Self.polylines(in: Self.group("series-\(name)", in: svg) ?? "")
            #expect(lines.count == 2, "series-\(name): \(lines.count) lines, expected two either side of the gap")
            for line in lines {
                let xs = line.map(\.x)
                let before = xs.allSatisfy { $0 <= x }
                let after = xs.allSatisfy { $0 >= x + width }
                #expect(before || after, "series-\(name) has a line across the gap \(x)...\(x + width): \(xs)")
            }
        }
        // The pump's line goes on: the monitor's silence says nothing about the pump.
        #expect(Self.polylines(in: Self.group("series-pump-rate", in: svg) ?? "").count == 1)
        #expect(svg.contains(">75 mL/h</text>") && svg.contains(">stopped</text>"))
    }

    @Test func linesBreakAtEveryKindOfMissingValue() {
        let samples = [PlotSample(0, 97), PlotSample(60_000, 96), PlotSample(120_000, 0, quality: .sensorOff),
                       PlotSample(180_000, 95), PlotSample(240_000, 95), PlotSample(600_000, 96), PlotSample(660_000, .nan),
                       PlotSample(720_000, 97), PlotSample(780_000, 97)]
        let gaps = [PlotGap(start: 730_000, end: 770_000, device: "monitor-1", scope: .vitals),
                    PlotGap(start: 10_000, end: 50_000, device: "pump-1", scope: .pump)]
        let runs = PlotGeometry.joinedRuns(samples, gaps: gaps, scope: .vitals, longestJoin: 180_000)
        #expect(runs.map { $0.map(\.time) } == [[0, 60_000], [180_000, 240_000], [600_000], [720_000], [780_000]])
    }

    @Test func alarmsAreBarsInTheirPriorityColoursWithTheirAcknowledgement() throws {
        let svg = SessionPicture.svg(Self.desaturation())
        let alarms = try #require(Self.group("alarms", in: svg))
        #expect(alarms.contains("spo2-low \u{00B7} high \u{00B7} ack 09:19:41"))
        #expect(alarms.contains("rr-low \u{00B7} medium\u{2192}high"))
        for colour in ["#d50000", "#ffd600", "#00b8d4"] { #expect(alarms.contains("fill=\"\(colour)\"")) }
        // Overlapping alarms are put in lanes of their own: no two bars share a y and overlap in x
        // (an escalated alarm's two parts touch).
        let bars = alarms.components(separatedBy: "<rect class=\"alarm-bar\"").dropFirst().map { bar -> (x: Double, y: Double, end: Double) in
            let x = Double(bar.range(of: #"x="[0-9.]+""#, options: .regularExpression).map { bar[$0].dropFirst(3).dropLast() }!)!
            let y = Double(bar.range(of: #"y="[0-9.]+""#, options: .regularExpression).map { bar[$0].dropFirst(3).dropLast() }!)!
            let w = Double(bar.range(of: #"width="[0-9.]+""#, options: .regularExpression).map { bar[$0].dropFirst(7).dropLast() }!)!
            return (x, y, x + w)
        }
        #expect(bars.count == 5, "four alarms, one of them escalated")
        for i in bars.indices {
            for j in bars.indices where j > i && bars[i].y == bars[j].y {
                #expect(bars[i].end <= bars[j].x + 0.1 || bars[j].end <= bars[i].x + 0.1, "alarm bars \(i) and \(j) overlap in one lane")
            }
        }
    }

    @Test func theExampleSessionsAreWellFormedAndRender() throws {
        let out = ProcessInfo.processInfo.environment["SESSION_PICTURE_OUT"]
        for (name, plot) in [("desaturation", Self.desaturation()), ("uneventful", Self.uneventful())] {
            let svg = SessionPicture.svg(plot)
            try Self.xmllint(svg, name: name)
            let png = try Self.render(svg, name: name)
            if let out {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try svg.write(toFile: "\(out)/session-\(name).svg", atomically: true, encoding: .utf8)
                try png.write(to: URL(fileURLWithPath: "\(out)/session-\(name).png"))
            }
        }
    }

    // MARK: tools

    static func tool(_ path: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ToolMissing(description: "\(path) is missing: run Deploy/install-deps.sh")
        }
        return path
    }

    struct ToolMissing: Error, CustomStringConvertible { let description: String }

    static func runTool(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: Data, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try tool(path))
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, data, message)
    }

    static func temporaryFile(_ svg: String, name: String) throws -> String {
        let path = NSTemporaryDirectory() + "session-picture-\(getpid())-\(name).svg"
        try svg.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Debian's xmllint: the document is well-formed XML.
    static func xmllint(_ svg: String, name: String) throws {
        let path = try temporaryFile(svg, name: name)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runTool("/usr/bin/xmllint", ["--noout", path])
        #expect(result.status == 0, "xmllint refused the \(name) picture: \(result.errors)")
    }

    /// Debian's rsvg-convert (librsvg): the picture as PNG.
    static func render(_ svg: String, name: String) throws -> Data {
        let path = try temporaryFile(svg, name: name)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runTool("/usr/bin/rsvg-convert", ["--format", "png", path])
        #expect(result.status == 0, "rsvg-convert failed on the \(name) picture: \(result.errors)")
        #expect(result.output.starts(with: [0x89, 0x50, 0x4E, 0x47]), "rsvg-convert gave no PNG for \(name)")
        return result.output
    }
}
