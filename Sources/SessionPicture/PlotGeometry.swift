import Platform

/// Where things go on the page: time to x, value to y, which samples a line may join, and
/// the clock times of the axis. Pure arithmetic, so the rules are tested on their own.
public enum PlotGeometry {
    /// The ok samples of `samples` in time order, split wherever a line must not be drawn:
    /// at a sample that is not ok, across a gap of a device that measured the series, and
    /// between two samples further apart than `longestJoin`. Each run is drawn as one line;
    /// a run of one sample as a dot.
    public static func joinedRuns(_ samples: [PlotSample], gaps: [PlotGap], scope: GapScope,
                                  longestJoin: Int64) -> [[PlotSample]] {
        let ordered = samples.sorted { $0.time < $1.time }
        var runs: [[PlotSample]] = []
        var current: [PlotSample] = []
        for sample in ordered {
            guard sample.quality == .ok, sample.value.isFinite else {
                if !current.isEmpty { runs.append(current); current = [] }
                continue
            }
            if let previous = current.last {
                let crossesGap = gaps.contains { gap in
                    gap.scope == scope && gap.start < sample.time && gap.end > previous.time
                }
                if crossesGap || sample.time - previous.time > longestJoin {
                    runs.append(current)
                    current = []
                }
            }
            current.append(sample)
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// The step between time-axis ticks, in minutes: the smallest of the usual steps that
    /// keeps the ticks to at most `maximumTicks` across `durationMilliseconds`.
    public static func tickMinutes(durationMilliseconds: Int64, maximumTicks: Int = 12) -> Int {
        let steps = [1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720, 1440]
        for step in steps where durationMilliseconds / (Int64(step) * 60_000) <= Int64(maximumTicks) {
            return step
        }
        return 1440
    }

    /// The tick times within start...end, on whole multiples of `minutes` of the page's clock
    /// (so 09:05, 09:10 whatever second the session began).
    public static func ticks(start: Int64, end: Int64, minutes: Int, utcOffsetMinutes: Int) -> [Int64] {
        let step = Int64(minutes) * 60_000
        let offset = Int64(utcOffsetMinutes) * 60_000
        let local = start + offset
        var tick = (local / step) * step
        if tick < local { tick += step }
        var result: [Int64] = []
        while tick - offset <= end {
            result.append(tick - offset)
            tick += step
        }
        return result
    }

    /// "09:05" (or "09:05:30" with `seconds`) on the page's clock.
    public static func clockTime(_ time: Int64, utcOffsetMinutes: Int, seconds: Bool = false) -> String {
        let local = time + Int64(utcOffsetMinutes) * 60_000
        var secondOfDay = (local / 1000) % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400 }
        var text = twoDigits(Int(secondOfDay / 3600)) + ":" + twoDigits(Int(secondOfDay / 60 % 60))
        if seconds { text += ":" + twoDigits(Int(secondOfDay % 60)) }
        return text
    }

    /// "2026-12-03" on the page's clock.
    public static func date(_ time: Int64, utcOffsetMinutes: Int) -> String {
        String(formatUTCTimestamp(millisecondsSinceEpoch: time + Int64(utcOffsetMinutes) * 60_000).prefix(10))
    }

    /// "UTC" or "UTC+01:00", "UTC-05:30": what the page's clock times are.
    public static func clockName(utcOffsetMinutes: Int) -> String {
        if utcOffsetMinutes == 0 { return "UTC" }
        let sign = utcOffsetMinutes > 0 ? "+" : "-"
        let magnitude = utcOffsetMinutes.magnitude
        return "UTC" + sign + twoDigits(Int(magnitude / 60)) + ":" + twoDigits(Int(magnitude % 60))
    }

    /// A duration as a clinician reads it: "45 s", "3 min 10 s", "1 h 05 min".
    public static func duration(_ milliseconds: Int64) -> String {
        let seconds = max(0, milliseconds / 1000)
        if seconds < 60 { return String(seconds) + " s" }
        if seconds < 3600 {
            let rest = seconds % 60
            return String(seconds / 60) + " min" + (rest == 0 ? "" : " " + String(rest) + " s")
        }
        return String(seconds / 3600) + " h " + twoDigits(Int(seconds / 60 % 60)) + " min"
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0" + String(value) : String(value)
    }
}

/// A value axis: the range a panel shows and its grid.
struct ValueScale {
    var low: Double
    var high: Double
    var gridStep: Double
    var top: Double
    var height: Double

    /// y of `value`, held inside the panel (a value beyond the scale is drawn at its edge).
    func y(_ value: Double) -> Double {
        let clamped = min(max(value, low), high)
        return top + height - (clamped - low) / (high - low) * height
    }

    var bottom: Double { top + height }
}

/// Time across the plotting width.
struct TimeScale {
    var start: Int64
    var end: Int64
    var left: Double
    var width: Double

    func x(_ time: Int64) -> Double {
        let clamped = min(max(time, start), end)
        return left + Double(clamped - start) / Double(end - start) * width
    }
}
