import Vitals

/// One charted value of a bed's row: what the chart shows for one entry of the bed's
/// description at the row's time, and the range it moved through since the previous row.
///
/// A clinician reads a row as "at 10:05 SpO2 was 96 %, between 93 and 98 since 10:04". So
/// `value` is the latest sample at or before the row's time, with that sample's quality, and
/// a value that could not be measured is charted as what happened (comm-loss, sensor-off),
/// never as the last number seen: `value` is nil for those.
public struct ChartedValue: Sendable, Equatable {
    /// Index into the bed description's `entries`.
    public var entry: Int
    /// The latest sample's value; nil when there was none, or it was comm-loss or sensor-off.
    public var value: Double?
    /// The latest sample's quality; `.commLoss` when no sample arrived in the whole interval.
    public var quality: Quality
    /// When the latest sample was read (UTC wall clock, ms); the row's time when there was none.
    public var measuredAtMilliseconds: Int64
    /// Lowest and highest `ok` value since the previous row; nil when there was none.
    public var minimum: Double?
    public var maximum: Double?
    /// Samples since the previous row, and how many of them were `ok`.
    public var samples: Int
    public var okSamples: Int

    public init(entry: Int, value: Double?, quality: Quality, measuredAtMilliseconds: Int64,
                minimum: Double?, maximum: Double?, samples: Int, okSamples: Int) {
        self.entry = entry
        self.value = value
        self.quality = quality
        self.measuredAtMilliseconds = measuredAtMilliseconds
        self.minimum = minimum
        self.maximum = maximum
        self.samples = samples
        self.okSamples = okSamples
    }
}

/// One row of a bed's chart: every entry of the bed's description at an interval boundary.
/// What the FHIR bundle, the IHE PCD-01 message and the session record are made from.
public struct ChartRow: Sendable {
    public var description: BedDescription
    public var bedID: String { description.bedID }
    /// The interval boundary the row stands for (UTC wall clock, ms, a multiple of the interval).
    public var rowMilliseconds: Int64
    /// The charting interval; the row covers (rowMilliseconds - interval, rowMilliseconds].
    public var intervalMilliseconds: Int64
    /// Per bed, counts up by one per row (from 1 at the agent's start).
    public var sequence: Int64
    /// One per entry of `description`, in its order.
    public var values: [ChartedValue]
    /// Where the row's samples begin: `rowMilliseconds - intervalMilliseconds`, or later for
    /// the first row after a start (which covers only the time since the first message).
    public var coveredFromMilliseconds: Int64

    public init(description: BedDescription, rowMilliseconds: Int64, intervalMilliseconds: Int64,
                sequence: Int64, values: [ChartedValue], coveredFromMilliseconds: Int64? = nil) {
        self.description = description
        self.rowMilliseconds = rowMilliseconds
        self.intervalMilliseconds = intervalMilliseconds
        self.sequence = sequence
        self.values = values
        self.coveredFromMilliseconds = coveredFromMilliseconds ?? rowMilliseconds - intervalMilliseconds
    }
}
