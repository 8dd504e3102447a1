/// What one page of a session's picture shows, as plain values: times are milliseconds since
/// the Unix epoch (UTC), values are in the units the page prints beside each scale. The session
/// record fills it through a small adapter; nothing here knows the record, the clock or a file.
public struct SessionPlot {
    public var bed: String
    public var session: String
    public var startMilliseconds: Int64
    /// The session's end, or the time the picture is drawn for a session still running.
    public var endMilliseconds: Int64
    /// Minutes east of UTC that the page's clock times are written in; 0 writes them in UTC.
    /// The page always says which.
    public var utcOffsetMinutes: Int

    /// mm[Hg]; one sample per measurement (NIBP is taken every few minutes, and a repeated
    /// value drawn at every row would look like a new measurement).
    public var systolic: [PlotSample] = []
    public var diastolic: [PlotSample] = []
    public var mean: [PlotSample] = []
    /// {beat}/min
    public var heartRate: [PlotSample] = []
    /// %
    public var spo2: [PlotSample] = []
    /// {breath}/min
    public var respiratoryRate: [PlotSample] = []
    /// mm[Hg]
    public var etco2: [PlotSample] = []
    /// mL/h; each value holds until the next sample (the pump's rate is a setting, not a reading).
    public var pumpRate: [PlotSample] = []

    public var alarms: [PlotAlarm] = []
    /// Times a device did not answer: nothing is drawn across them.
    public var gaps: [PlotGap] = []
    /// The session summary, in the order given, printed as "label  value".
    public var summary: [SummaryLine] = []

    /// Two ok samples of a series further apart than this are not joined: a line across a
    /// stretch with no measurement would show values nobody measured.
    public var longestJoinMilliseconds: Int64 = 180_000

    public init(bed: String, session: String, startMilliseconds: Int64, endMilliseconds: Int64, utcOffsetMinutes: Int = 0) {
        self.bed = bed
        self.session = session
        self.startMilliseconds = startMilliseconds
        self.endMilliseconds = endMilliseconds
        self.utcOffsetMinutes = utcOffsetMinutes
    }
}

/// A sample's quality as the vitals messages carry it; only `ok` values are drawn.
public enum PlotQuality: Sendable {
    case ok
    case stale
    case outOfRange
    case sensorOff
    case commLoss
}

public struct PlotSample: Sendable {
    public var time: Int64
    public var value: Double
    public var quality: PlotQuality

    public init(_ time: Int64, _ value: Double, quality: PlotQuality = .ok) {
        self.time = time
        self.value = value
        self.quality = quality
    }
}

/// IEC 60601-1-8 alarm priorities, each drawn in the standard's colour.
public enum PlotPriority: Sendable {
    case low
    case medium
    case high
}

public struct PlotAlarm: Sendable {
    public var condition: String
    public var priority: PlotPriority
    public var start: Int64
    /// nil while the alarm is still active at the end of the picture.
    public var end: Int64?
    public var acknowledgedAt: Int64?
    /// A medium alarm left unacknowledged becomes high; drawn in high's colour from then on.
    public var escalatedToHighAt: Int64?

    public init(condition: String, priority: PlotPriority, start: Int64, end: Int64?, acknowledgedAt: Int64? = nil,
                escalatedToHighAt: Int64? = nil) {
        self.condition = condition
        self.priority = priority
        self.start = start
        self.end = end
        self.acknowledgedAt = acknowledgedAt
        self.escalatedToHighAt = escalatedToHighAt
    }
}

/// Which panels a silent device leaves without data.
public enum GapScope: Sendable {
    /// The patient monitor: SpO2, pressures, heart rate, respiratory rate, EtCO2.
    case vitals
    /// The infusion pump: the pump rate.
    case pump
}

public struct PlotGap: Sendable {
    public var start: Int64
    public var end: Int64
    public var device: String
    public var scope: GapScope

    public init(start: Int64, end: Int64, device: String, scope: GapScope) {
        self.start = start
        self.end = end
        self.device = device
        self.scope = scope
    }
}

public struct SummaryLine: Sendable {
    public var label: String
    public var value: String

    public init(_ label: String, _ value: String) {
        self.label = label
        self.value = value
    }
}
