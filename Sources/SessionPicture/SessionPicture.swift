/// One page of SVG for a session, in the style of an anaesthesia record: a shared time axis
/// in clock time; alarm bars; SpO2 on its own scale with the 90 % line; NIBP as systolic ∨
/// and diastolic ∧ with the mean, and heart rate, on one scale as on a paper record;
/// respiratory rate and EtCO2; the pump rate as steps; the summary in the right-hand column.
/// Written as text, no library; every text from the plot is escaped.
public enum SessionPicture {
    public static func svg(_ plot: SessionPlot) -> String {
        var page = Page(plot)
        return page.render()
    }
}

/// Colours. The three alarm colours are IEC 60601-1-8's and are used for nothing else, so a
/// red, yellow or cyan mark on the page always means an alarm of that priority.
enum Ink {
    static let high = "#d50000"
    static let medium = "#ffd600"
    static let low = "#00b8d4"
    static let spo2 = "#1a3f9e"
    static let pressure = "#000000"
    static let heartRate = "#2e7d32"
    static let respiratoryRate = "#6a1b9a"
    static let etco2 = "#a14a00"
    static let pump = "#37474f"
    static let grid = "#d9d9d9"
    static let axis = "#555555"
    static let text = "#111111"

    /// A priority's colour, its name, its rank (higher is more urgent) and how strongly it
    /// shades the panels behind the traces: enough to see when, not so much that a trace
    /// inside is hard to read (yellow needs more to show on white at all).
    static func look(_ priority: PlotPriority) -> (colour: String, name: String, rank: Int, bandOpacity: String) {
        switch priority {
        case .high: return (high, "high", 3, "0.13")
        case .medium: return (medium, "medium", 2, "0.28")
        case .low: return (low, "low", 1, "0.18")
        }
    }

    static func alarm(_ priority: PlotPriority) -> String { look(priority).colour }
    static func name(_ priority: PlotPriority) -> String { look(priority).name }
    static func bandOpacity(_ priority: PlotPriority) -> String { look(priority).bandOpacity }
}

private struct Page {
    let plot: SessionPlot
    var out = ""

    // Horizontal layout, px.
    let pageWidth = 1240.0
    let plotLeft = 84.0
    let plotWidth = 830.0
    var plotRight: Double { plotLeft + plotWidth }
    let columnLeft = 944.0
    let columnWidth = 276.0

    let fontSize = 12.0
    let laneHeight = 18.0
    let panelTitleHeight = 20.0
    let panelSpacing = 8.0

    let time: TimeScale
    let alarmLanes: [Int]
    let laneCount: Int

    init(_ plot: SessionPlot) {
        self.plot = plot
        let end = plot.endMilliseconds > plot.startMilliseconds ? plot.endMilliseconds : plot.startMilliseconds + 60_000
        time = TimeScale(start: plot.startMilliseconds, end: end, left: plotLeft, width: plotWidth)
        var lanes: [Int] = []
        var count = 0
        Page.assignLanes(plot, time: time, fontSize: fontSize, into: &lanes, count: &count)
        alarmLanes = lanes
        laneCount = count
    }

    // MARK: document

    mutating func render() -> String {
        let headerBottom = 64.0
        let alarmsTop = headerBottom + panelTitleHeight
        let alarmsBottom = alarmsTop + Double(max(1, laneCount)) * laneHeight + 4
        var top = alarmsBottom + panelSpacing

        let spo2 = spo2Scale(top: top + panelTitleHeight)
        top = spo2.bottom + panelSpacing
        let pressure = pressureScale(top: top + panelTitleHeight)
        top = pressure.bottom + panelSpacing
        let breathing = breathingScale(top: top + panelTitleHeight)
        top = breathing.bottom + panelSpacing
        let pump = pumpScale(top: top + panelTitleHeight)
        let axisBottom = pump.bottom + 40
        let summaryBottom = 64.0 + panelTitleHeight + summaryHeight() + 20
        let pageHeight = max(axisBottom, summaryBottom) + 12

        out.reserveCapacity(64 * 1024)
        out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(pageWidth))\" height=\"\(n(pageHeight))\""
        out += " viewBox=\"0 0 \(n(pageWidth)) \(n(pageHeight))\" font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\""
        out += " font-size=\"\(n(fontSize))\" fill=\"\(Ink.text)\">\n"
        out += "<title>\(e("Infusion session " + plot.session + ", bed " + plot.bed))</title>\n"
        out += "<defs><pattern id=\"no-data\" width=\"7\" height=\"7\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
        out += "<rect width=\"7\" height=\"7\" fill=\"#eeeeee\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"7\" stroke=\"#9e9e9e\" stroke-width=\"2.5\"/>"
        out += "</pattern></defs>\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"

        header()
        let panels = [spo2, pressure, breathing, pump]
        let vitalsPanels = [spo2, pressure, breathing]
        timeGrid(from: alarmsTop, to: pump.bottom)
        alarmBands(panels: panels)
        gapHatching(vitals: vitalsPanels, pump: pump)
        for panel in panels { panelFrame(panel) }

        alarmLane(titleTop: headerBottom, top: alarmsTop, bottom: alarmsBottom)
        spo2Panel(spo2)
        pressurePanel(pressure)
        breathingPanel(breathing)
        pumpPanel(pump)
        gapLabels(vitalsTop: spo2.top, pumpTop: pump.top)
        timeAxis(at: pump.bottom)
        summary(top: headerBottom)
        out += "</svg>\n"
        return out
    }

    // MARK: scales

    func spo2Scale(top: Double) -> ValueScale {
        // 80-100 % as monitors' trends show it; lower only when a value went lower.
        var low = 80.0
        if let lowest = lowestOk(plot.spo2), lowest < 82 { low = max(0, ((lowest - 2) / 10).rounded(.down) * 10) }
        return ValueScale(low: low, high: 100, gridStep: 100 - low <= 30 ? 5 : 10, top: top, height: 140)
    }

    func pressureScale(top: Double) -> ValueScale {
        var high = 200.0
        let highest = [highestOk(plot.systolic), highestOk(plot.heartRate), highestOk(plot.mean), highestOk(plot.diastolic)]
            .compactMap { $0 }.max() ?? 0
        if highest > 190 { high = ((highest + 10) / 20).rounded(.up) * 20 }
        return ValueScale(low: 0, high: high, gridStep: 20, top: top, height: 220)
    }

    func breathingScale(top: Double) -> ValueScale {
        var high = 50.0
        let highest = [highestOk(plot.respiratoryRate), highestOk(plot.etco2)].compactMap { $0 }.max() ?? 0
        if highest > 47 { high = ((highest + 5) / 10).rounded(.up) * 10 }
        return ValueScale(low: 0, high: high, gridStep: 10, top: top, height: 110)
    }

    func pumpScale(top: Double) -> ValueScale {
        let highest = highestOk(plot.pumpRate) ?? 0
        var step = 10.0
        while highest * 1.1 > step * 4 { step = nextStep(after: step) }
        return ValueScale(low: 0, high: step * 4, gridStep: step, top: top, height: 80)
    }

    /// 10, 20, 25, 50, 100, 200, 250, 500, ...
    func nextStep(after step: Double) -> Double {
        var decade = 1.0
        while decade * 10 <= step { decade *= 10 }
        let mantissa = step / decade
        if mantissa < 2 { return 2 * decade }
        if mantissa < 2.5 { return 2.5 * decade }
        if mantissa < 5 { return 5 * decade }
        return 10 * decade
    }

    func lowestOk(_ samples: [PlotSample]) -> Double? {
        samples.filter { $0.quality == .ok && $0.value.isFinite }.map { $0.value }.min()
    }

    func highestOk(_ samples: [PlotSample]) -> Double? {
        samples.filter { $0.quality == .ok && $0.value.isFinite }.map { $0.value }.max()
    }

    // MARK: header, grid, axis

    mutating func header() {
        let clock = PlotGeometry.clockName(utcOffsetMinutes: plot.utcOffsetMinutes)
        let offset = plot.utcOffsetMinutes
        out += "<g id=\"header\">\n"
        text(plotLeft, 26, "Infusion session record \u{2013} bed " + plot.bed, size: 18, weight: "bold")
        let span = PlotGeometry.date(plot.startMilliseconds, utcOffsetMinutes: offset) + "  "
            + PlotGeometry.clockTime(plot.startMilliseconds, utcOffsetMinutes: offset) + "\u{2013}"
            + PlotGeometry.clockTime(time.end, utcOffsetMinutes: offset)
            + " (" + PlotGeometry.duration(time.end - plot.startMilliseconds) + ")"
        text(plotLeft, 46, span + "   \u{00B7}   all times " + clock + "   \u{00B7}   session " + plot.session, size: 13)
        out += "</g>\n"
    }

    mutating func timeGrid(from top: Double, to bottom: Double) {
        let minutes = PlotGeometry.tickMinutes(durationMilliseconds: time.end - time.start)
        out += "<g id=\"time-grid\" stroke=\"\(Ink.grid)\" stroke-width=\"1\">\n"
        for tick in PlotGeometry.ticks(start: time.start, end: time.end, minutes: minutes, utcOffsetMinutes: plot.utcOffsetMinutes) {
            let x = time.x(tick)
            out += "<line x1=\"\(n(x))\" y1=\"\(n(top))\" x2=\"\(n(x))\" y2=\"\(n(bottom))\"/>\n"
        }
        out += "</g>\n"
    }

    mutating func timeAxis(at y: Double) {
        let minutes = PlotGeometry.tickMinutes(durationMilliseconds: time.end - time.start)
        out += "<g id=\"time-axis\">\n"
        for tick in PlotGeometry.ticks(start: time.start, end: time.end, minutes: minutes, utcOffsetMinutes: plot.utcOffsetMinutes) {
            let x = time.x(tick)
            out += "<line x1=\"\(n(x))\" y1=\"\(n(y))\" x2=\"\(n(x))\" y2=\"\(n(y + 5))\" stroke=\"\(Ink.axis)\"/>\n"
            text(x, y + 18, PlotGeometry.clockTime(tick, utcOffsetMinutes: plot.utcOffsetMinutes), anchor: "middle")
        }
        text(plotRight, y + 34, "time (" + PlotGeometry.clockName(utcOffsetMinutes: plot.utcOffsetMinutes) + ")", anchor: "end",
             weight: "bold")
        out += "</g>\n"
    }

    /// A panel's frame, horizontal grid and value labels.
    mutating func panelFrame(_ scale: ValueScale) {
        out += "<g class=\"panel-frame\">\n"
        var value = scale.low
        while value <= scale.high + 0.001 {
            let y = scale.y(value)
            out += "<line x1=\"\(n(plotLeft))\" y1=\"\(n(y))\" x2=\"\(n(plotRight))\" y2=\"\(n(y))\" stroke=\"\(Ink.grid)\"/>\n"
            text(plotLeft - 6, y + 4, SVGText.number(value), anchor: "end", size: 11)
            value += scale.gridStep
        }
        out += "<rect x=\"\(n(plotLeft))\" y=\"\(n(scale.top))\" width=\"\(n(plotWidth))\" height=\"\(n(scale.height))\""
        out += " fill=\"none\" stroke=\"\(Ink.axis)\"/>\n"
        out += "</g>\n"
    }

    /// The strip above a panel: its unit above the value labels, then what is drawn, each in
    /// its own ink and mark.
    mutating func panelTitle(_ scale: ValueScale, unit: String, items: [(mark: String, ink: String, label: String)]) {
        let y = scale.top - 6
        text(plotLeft - 6, y, unit, anchor: "end", size: 11, weight: "bold")
        var x = plotLeft + 2
        for item in items {
            text(x, y, item.mark, size: 13, weight: "bold", fill: item.ink)
            x += SVGText.estimatedWidth(item.mark, fontSize: 13) + 5
            text(x, y, item.label, weight: "bold", fill: item.ink)
            x += SVGText.estimatedWidth(item.label, fontSize: fontSize) + 18
        }
    }

    // MARK: alarms

    static func assignLanes(_ plot: SessionPlot, time: TimeScale, fontSize: Double, into lanes: inout [Int], count: inout Int) {
        let maximumLanes = 6
        lanes = Array(repeating: 0, count: plot.alarms.count)
        var laneEnds: [Double] = []
        let order = plot.alarms.indices.sorted { plot.alarms[$0].start < plot.alarms[$1].start }
        for index in order {
            let alarm = plot.alarms[index]
            let start = time.x(alarm.start)
            let end = max(time.x(alarm.end ?? time.end), start + 3)
            let label = alarmLabel(alarm, offset: plot.utcOffsetMinutes)
            let width = SVGText.estimatedWidth(label, fontSize: fontSize - 1)
            var from = start
            var occupied = end + 6
            switch labelPlace(start: start, end: end, label: label, fontSize: fontSize, plotLeft: time.left, plotRight: time.left + time.width) {
            case .after: occupied = end + 4 + width + 6
            case .before: from = start - 4 - width
            case .inside: occupied = max(end, start + 4 + width) + 6
            }
            if let free = laneEnds.firstIndex(where: { $0 <= from }) {
                lanes[index] = free
                laneEnds[free] = occupied
            } else if laneEnds.count < maximumLanes {
                lanes[index] = laneEnds.count
                laneEnds.append(occupied)
            } else {
                // More overlapping alarms than lanes: share the lane that frees up first.
                var earliest = 0
                for lane in laneEnds.indices where laneEnds[lane] < laneEnds[earliest] { earliest = lane }
                lanes[index] = earliest
                laneEnds[earliest] = max(laneEnds[earliest], occupied)
            }
        }
        count = laneEnds.count
    }

    enum LabelPlace { case after, before, inside }

    /// An alarm's label goes beside its bar, where it leaves the bar's colour and the
    /// acknowledge mark clear: after it, or before it when the page ends first; inside only
    /// when neither side has room.
    static func labelPlace(start: Double, end: Double, label: String, fontSize: Double, plotLeft: Double,
                           plotRight: Double) -> LabelPlace {
        let width = SVGText.estimatedWidth(label, fontSize: fontSize - 1)
        if end + 4 + width <= plotRight { return .after }
        if start - 4 - width >= plotLeft { return .before }
        return .inside
    }

    static func alarmLabel(_ alarm: PlotAlarm, offset: Int) -> String {
        var label = alarm.condition + " \u{00B7} " + Ink.name(alarm.priority)
        if alarm.escalatedToHighAt != nil { label += "\u{2192}high" }
        if let acknowledged = alarm.acknowledgedAt {
            label += " \u{00B7} ack " + PlotGeometry.clockTime(acknowledged, utcOffsetMinutes: offset, seconds: true)
        }
        if alarm.end == nil { label += " \u{00B7} still active" }
        return label
    }

    mutating func alarmLane(titleTop: Double, top: Double, bottom: Double) {
        out += "<g id=\"alarms\">\n"
        let y = top - 6
        text(plotLeft - 6, y, "alarms", anchor: "end", size: 11, weight: "bold")
        // The key: the three priorities, the acknowledge mark, the no-data hatching.
        var x = plotLeft + 2
        for priority in [PlotPriority.high, .medium, .low] {
            out += "<rect x=\"\(n(x))\" y=\"\(n(y - 10))\" width=\"22\" height=\"11\" fill=\"\(Ink.alarm(priority))\" stroke=\"#222222\" stroke-width=\"0.8\"/>\n"
            x += 26
            text(x, y, Ink.name(priority) + " priority")
            x += SVGText.estimatedWidth(Ink.name(priority) + " priority", fontSize: fontSize) + 16
        }
        diamond(x + 5, y - 4.5)
        x += 14
        text(x, y, "acknowledged")
        x += SVGText.estimatedWidth("acknowledged", fontSize: fontSize) + 16
        out += "<rect x=\"\(n(x))\" y=\"\(n(y - 10))\" width=\"22\" height=\"11\" fill=\"url(#no-data)\" stroke=\"#9e9e9e\" stroke-width=\"0.8\"/>\n"
        x += 26
        text(x, y, "no data (device not answering)")

        out += "<rect x=\"\(n(plotLeft))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" height=\"\(n(bottom - top))\" fill=\"none\" stroke=\"\(Ink.axis)\"/>\n"
        if plot.alarms.isEmpty {
            text(plotLeft + 8, top + 13, "no alarms in this session", fill: Ink.axis)
        }
        for (index, alarm) in plot.alarms.enumerated() {
            let laneTop = top + 2 + Double(alarmLanes[index]) * laneHeight
            let barTop = laneTop + 3
            let start = time.x(alarm.start)
            let end = max(time.x(alarm.end ?? time.end), start + 3)
            let escalation = alarm.escalatedToHighAt.map { min(max(time.x($0), start), end) } ?? end
            out += "<rect class=\"alarm-bar\" x=\"\(n(start))\" y=\"\(n(barTop))\" width=\"\(n(escalation - start))\" height=\"12\""
            out += " fill=\"\(Ink.alarm(alarm.priority))\" stroke=\"#222222\" stroke-width=\"0.8\"/>\n"
            if escalation < end {
                out += "<rect class=\"alarm-bar\" x=\"\(n(escalation))\" y=\"\(n(barTop))\" width=\"\(n(end - escalation))\" height=\"12\""
                out += " fill=\"\(Ink.high)\" stroke=\"#222222\" stroke-width=\"0.8\"/>\n"
            }
            if let acknowledged = alarm.acknowledgedAt {
                diamond(time.x(acknowledged), barTop + 6)
            }
            let label = Self.alarmLabel(alarm, offset: plot.utcOffsetMinutes)
            switch Self.labelPlace(start: start, end: end, label: label, fontSize: fontSize, plotLeft: plotLeft, plotRight: plotRight) {
            case .after: text(end + 4, barTop + 10, label, size: fontSize - 1)
            case .before: text(start - 4, barTop + 10, label, anchor: "end", size: fontSize - 1)
            case .inside: text(start + 4, barTop + 10, label, size: fontSize - 1, halo: true)
            }
        }
        out += "</g>\n"
    }

    /// Shading behind the traces while alarms are active, in the colour of the highest
    /// priority active at each moment: overlapping translucent colours would mix into colours
    /// that mean nothing (yellow over cyan reads as green).
    mutating func alarmBands(panels: [ValueScale]) {
        var pieces: [(start: Int64, end: Int64, priority: PlotPriority)] = []
        for alarm in plot.alarms {
            let end = min(alarm.end ?? time.end, time.end)
            let escalation = min(max(alarm.escalatedToHighAt ?? end, alarm.start), end)
            if escalation > alarm.start { pieces.append((alarm.start, escalation, alarm.priority)) }
            if end > escalation { pieces.append((escalation, end, .high)) }
        }
        var edges = pieces.flatMap { [$0.start, $0.end] }
        edges.sort()
        var bands: [(start: Int64, end: Int64, priority: PlotPriority)] = []
        for index in edges.indices.dropLast() where edges[index] < edges[index + 1] {
            let from = edges[index], to = edges[index + 1]
            var highest: PlotPriority?
            for piece in pieces where piece.start <= from && piece.end >= to {
                if highest.map({ Self.rank(piece.priority) > Self.rank($0) }) ?? true { highest = piece.priority }
            }
            guard let highest else { continue }
            if let last = bands.last, last.end == from, last.priority == highest {
                bands[bands.count - 1].end = to
            } else {
                bands.append((from, to, highest))
            }
        }
        out += "<g id=\"alarm-bands\">\n"
        for band in bands {
            let start = time.x(band.start)
            let end = max(time.x(band.end), start + 1)
            for panel in panels {
                out += "<rect x=\"\(n(start))\" y=\"\(n(panel.top))\" width=\"\(n(end - start))\" height=\"\(n(panel.height))\""
                out += " fill=\"\(Ink.alarm(band.priority))\" fill-opacity=\"\(Ink.bandOpacity(band.priority))\"/>\n"
            }
        }
        out += "</g>\n"
    }

    static func rank(_ priority: PlotPriority) -> Int { Ink.look(priority).rank }

    mutating func diamond(_ x: Double, _ y: Double) {
        out += "<path d=\"M\(n(x)) \(n(y - 7))L\(n(x + 5)) \(n(y))L\(n(x)) \(n(y + 7))L\(n(x - 5)) \(n(y))Z\""
        out += " fill=\"#000000\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n"
    }

    // MARK: gaps

    mutating func gapHatching(vitals: [ValueScale], pump: ValueScale) {
        out += "<g id=\"gaps\">\n"
        for gap in plot.gaps {
            let start = time.x(gap.start)
            let end = max(time.x(gap.end), start + 1)
            let panels = gap.scope == .vitals ? vitals : [pump]
            for panel in panels {
                out += "<rect class=\"gap\" x=\"\(n(start))\" y=\"\(n(panel.top))\" width=\"\(n(end - start))\" height=\"\(n(panel.height))\""
                out += " fill=\"url(#no-data)\"/>\n"
            }
        }
        out += "</g>\n"
    }

    mutating func gapLabels(vitalsTop: Double, pumpTop: Double) {
        out += "<g id=\"gap-labels\">\n"
        for gap in plot.gaps {
            let start = time.x(gap.start)
            let end = max(time.x(gap.end), start + 1)
            let y = (gap.scope == .vitals ? vitalsTop : pumpTop) + 14
            let label = "no data: " + gap.device + " not answering " + PlotGeometry.duration(gap.end - gap.start)
            // Centred on the gap, kept inside the plotting area.
            let width = SVGText.estimatedWidth(label, fontSize: fontSize - 1)
            let x = min(max((start + end) / 2 - width / 2, plotLeft + 2), plotRight - width - 2)
            text(x, y, label, size: fontSize - 1, weight: "bold", halo: true)
        }
        out += "</g>\n"
    }

    // MARK: panels

    mutating func spo2Panel(_ scale: ValueScale) {
        panelTitle(scale, unit: "%", items: [("\u{2014}", Ink.spo2, "SpO2 (%)")])
        let y = scale.y(90)
        out += "<g id=\"spo2-90-line\">\n"
        out += "<line x1=\"\(n(plotLeft))\" y1=\"\(n(y))\" x2=\"\(n(plotRight))\" y2=\"\(n(y))\" stroke=\"\(Ink.spo2)\" stroke-width=\"1.2\" stroke-dasharray=\"6 4\"/>\n"
        text(plotRight - 4, y - 4, "90 %", anchor: "end", size: 11, weight: "bold", fill: Ink.spo2, halo: true)
        out += "</g>\n"
        line("spo2", plot.spo2, scale: scale, scope: .vitals, ink: Ink.spo2, width: 2, dots: true)
    }

    mutating func pressurePanel(_ scale: ValueScale) {
        panelTitle(scale, unit: "mmHg, /min", items: [("\u{2228}", Ink.pressure, "systolic"), ("\u{2227}", Ink.pressure, "diastolic"),
                                                      ("\u{25CF}", Ink.pressure, "mean (NIBP, mmHg)"),
                                                      ("\u{2014}", Ink.heartRate, "heart rate (/min)")])
        line("heart-rate", plot.heartRate, scale: scale, scope: .vitals, ink: Ink.heartRate, width: 1.8, dots: true)
        // The bar joining a measurement's systolic and diastolic, under the marks.
        out += "<g id=\"series-nibp-bars\" stroke=\"#757575\" stroke-width=\"1\">\n"
        for systolic in plot.systolic where systolic.quality == .ok && systolic.value.isFinite {
            guard let diastolic = plot.diastolic.first(where: { $0.time == systolic.time && $0.quality == .ok && $0.value.isFinite })
            else { continue }
            let x = time.x(systolic.time)
            out += "<line x1=\"\(n(x))\" y1=\"\(n(scale.y(systolic.value)))\" x2=\"\(n(x))\" y2=\"\(n(scale.y(diastolic.value)))\"/>\n"
        }
        out += "</g>\n"
        marks("systolic", plot.systolic, scale: scale) { x, y in
            "M\(n(x - 5)) \(n(y - 9))L\(n(x)) \(n(y))L\(n(x + 5)) \(n(y - 9))"
        }
        marks("diastolic", plot.diastolic, scale: scale) { x, y in
            "M\(n(x - 5)) \(n(y + 9))L\(n(x)) \(n(y))L\(n(x + 5)) \(n(y + 9))"
        }
        out += "<g id=\"series-mean\" fill=\"\(Ink.pressure)\">\n"
        for sample in plot.mean where sample.quality == .ok && sample.value.isFinite {
            out += "<circle cx=\"\(n(time.x(sample.time)))\" cy=\"\(n(scale.y(sample.value)))\" r=\"3\"/>\n"
        }
        out += "</g>\n"
    }

    mutating func breathingPanel(_ scale: ValueScale) {
        panelTitle(scale, unit: "/min, mmHg", items: [("\u{2014}", Ink.respiratoryRate, "respiratory rate (/min)"),
                                                      ("\u{25A0}", Ink.etco2, "EtCO2 (mmHg)")])
        line("respiratory-rate", plot.respiratoryRate, scale: scale, scope: .vitals, ink: Ink.respiratoryRate, width: 1.8, dots: true)
        line("etco2", plot.etco2, scale: scale, scope: .vitals, ink: Ink.etco2, width: 1.8, dots: false, squares: true)
    }

    mutating func pumpPanel(_ scale: ValueScale) {
        panelTitle(scale, unit: "mL/h", items: [("\u{2014}", Ink.pump, "pump rate (mL/h)")])
        out += "<g id=\"series-pump-rate\" fill=\"none\" stroke=\"\(Ink.pump)\" stroke-width=\"2\">\n"
        // Steps: a rate holds until the next sample, the session's end, or a gap of the pump.
        let runs = PlotGeometry.joinedRuns(plot.pumpRate, gaps: plot.gaps, scope: .pump, longestJoin: Int64.max)
        let pumpGaps = plot.gaps.filter { $0.scope == .pump }
        let ordered = plot.pumpRate.sorted { $0.time < $1.time }
        var labels: [(x: Double, y: Double, text: String)] = []
        for run in runs {
            var points = ""
            for (index, sample) in run.enumerated() {
                let x = time.x(sample.time)
                let y = scale.y(sample.value)
                if index > 0 { points += " \(n(x)),\(n(scale.y(run[index - 1].value)))" }
                points += (points.isEmpty ? "" : " ") + "\(n(x)),\(n(y))"
            }
            // The last value holds until whatever comes next: a later sample that is not ok,
            // the start of a gap, or the end of the picture.
            let last = run[run.count - 1]
            var holdUntil = time.end
            if let next = ordered.first(where: { $0.time > last.time }) { holdUntil = min(holdUntil, next.time) }
            for gap in pumpGaps where gap.start >= last.time { holdUntil = min(holdUntil, gap.start) }
            points += " \(n(time.x(holdUntil))),\(n(scale.y(last.value)))"
            out += "<polyline points=\"\(points)\"/>\n"
            // Each step's rate written above it where there is room, as on a paper record; a
            // stopped pump is said in words, since a line on the panel's floor is easy to miss.
            for (index, sample) in run.enumerated() {
                let stepEnd = index + 1 < run.count ? run[index + 1].time : holdUntil
                let label = sample.value == 0 ? "stopped" : SVGText.number(sample.value) + " mL/h"
                let x = time.x(sample.time)
                guard time.x(stepEnd) - x >= SVGText.estimatedWidth(label, fontSize: fontSize - 1) + 8 else { continue }
                labels.append((x + 4, scale.y(sample.value) - 4, label))
            }
        }
        out += "</g>\n"
        for label in labels { text(label.x, label.y, label.text, size: fontSize - 1, fill: Ink.pump, halo: true) }
    }

    /// A series as lines over its joined runs, a lone sample as a dot.
    mutating func line(_ name: String, _ samples: [PlotSample], scale: ValueScale, scope: GapScope, ink: String, width: Double,
                       dots: Bool, squares: Bool = false) {
        let runs = PlotGeometry.joinedRuns(samples, gaps: plot.gaps, scope: scope, longestJoin: plot.longestJoinMilliseconds)
        out += "<g id=\"series-\(name)\" fill=\"none\" stroke=\"\(ink)\" stroke-width=\"\(n(width))\" stroke-linejoin=\"round\">\n"
        for run in runs where run.count > 1 {
            var points = ""
            for sample in run {
                if !points.isEmpty { points += " " }
                points += "\(n(time.x(sample.time))),\(n(scale.y(sample.value)))"
            }
            out += "<polyline points=\"\(points)\"/>\n"
        }
        // Marks at each sample when they stand apart, and always for a lone one.
        let sampleCount = runs.reduce(0) { $0 + $1.count }
        let spacing = plotWidth / Double(max(1, sampleCount))
        for run in runs where run.count == 1 || ((dots || squares) && spacing >= 6) {
            for sample in run {
                let x = time.x(sample.time)
                let y = scale.y(sample.value)
                if squares {
                    out += "<rect x=\"\(n(x - 2.5))\" y=\"\(n(y - 2.5))\" width=\"5\" height=\"5\" fill=\"\(ink)\" stroke=\"none\"/>\n"
                } else {
                    out += "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"2.2\" fill=\"\(ink)\" stroke=\"none\"/>\n"
                }
            }
        }
        out += "</g>\n"
    }

    /// NIBP marks, each over a white outline so that a mark stays legible where it meets the
    /// heart-rate line (diastolic and heart rate are often close).
    mutating func marks(_ name: String, _ samples: [PlotSample], scale: ValueScale, shape: (Double, Double) -> String) {
        out += "<g id=\"series-\(name)\" fill=\"none\" stroke=\"\(Ink.pressure)\" stroke-width=\"1.8\" stroke-linejoin=\"miter\">\n"
        for sample in samples where sample.quality == .ok && sample.value.isFinite {
            let d = shape(time.x(sample.time), scale.y(sample.value))
            out += "<path d=\"\(d)\" stroke=\"#ffffff\" stroke-width=\"4.5\"/><path d=\"\(d)\"/>\n"
        }
        out += "</g>\n"
    }

    // MARK: summary

    func summaryHeight() -> Double {
        var height = 0.0
        for line in plot.summary { height += summaryLineFits(line) ? 17 : 32 }
        return max(height, 17)
    }

    func summaryLineFits(_ line: SummaryLine) -> Bool {
        SVGText.estimatedWidth(line.label, fontSize: fontSize) + SVGText.estimatedWidth(line.value, fontSize: fontSize) + 14
            <= columnWidth - 20
    }

    mutating func summary(top: Double) {
        out += "<g id=\"summary\">\n"
        let boxTop = top + panelTitleHeight - 4
        text(columnLeft, top + panelTitleHeight - 10, "Summary", size: 14, weight: "bold")
        out += "<rect x=\"\(n(columnLeft))\" y=\"\(n(boxTop))\" width=\"\(n(columnWidth))\" height=\"\(n(summaryHeight() + 12))\""
        out += " fill=\"#fafafa\" stroke=\"\(Ink.axis)\"/>\n"
        var y = boxTop + 18
        if plot.summary.isEmpty { text(columnLeft + 10, y, "no summary yet", fill: Ink.axis) }
        for line in plot.summary {
            text(columnLeft + 10, y, line.label, fill: "#424242")
            if !summaryLineFits(line) { y += 15 }
            text(columnLeft + columnWidth - 10, y, line.value, anchor: "end", weight: "bold")
            y += 17
        }
        out += "</g>\n"
    }

    // MARK: text

    mutating func text(_ x: Double, _ y: Double, _ content: String, anchor: String = "start", size: Double? = nil,
                       weight: String? = nil, fill: String? = nil, halo: Bool = false) {
        out += "<text x=\"\(n(x))\" y=\"\(n(y))\""
        if anchor != "start" { out += " text-anchor=\"\(anchor)\"" }
        if let size { out += " font-size=\"\(n(size))\"" }
        if let weight { out += " font-weight=\"\(weight)\"" }
        if let fill { out += " fill=\"\(fill)\"" }
        // A white outline under the letters keeps a label readable over bars, bands and hatching.
        if halo { out += " stroke=\"#ffffff\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\"" }
        out += ">" + e(content) + "</text>\n"
    }

}

private func n(_ value: Double) -> String { SVGText.number(value) }
private func e(_ text: String) -> String { SVGText.escaped(text) }
