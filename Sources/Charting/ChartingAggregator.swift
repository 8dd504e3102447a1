import Vitals

/// What a bed is charted at: the interval, and whether rows go out as FHIR bundles. A plain
/// value the configuration produces and the agent wires in.
public struct ChartingSettings: Sendable, Equatable {
    /// Rows are charted at every multiple of this many seconds of UTC wall-clock time.
    public var intervalSeconds: Int
    /// Whether each row is published as a FHIR R4 Bundle on `<prefix>/beds/<bed>/fhir`.
    public var publishesFHIR: Bool

    public static let intervalRange = 1...3600

    public init(intervalSeconds: Int = 60, publishesFHIR: Bool = true) {
        self.intervalSeconds = intervalSeconds
        self.publishesFHIR = publishesFHIR
    }
}

/// Turns one bed's vitals messages into chart rows, one per interval boundary (a multiple of
/// the interval in UTC wall-clock milliseconds). Pure: every time comes in as an argument.
///
/// Rules, each chosen so that a chart never shows a number that was not measured:
/// - A row stands for its boundary B and covers (B - interval, B]. Per entry it holds the
///   latest sample read at or before B with that sample's quality, the lowest and highest `ok`
///   value and the sample counts of the interval. An entry with no sample in the interval is
///   charted as comm-loss, never with the previous row's value.
/// - The row for B goes out with the first message whose time is after B; values of that
///   message read after B start the next interval.
/// - The first interval after a start is charted too, although it covers only the time since
///   the first message (`coveredFromMilliseconds` says from when): a restart costs no row.
/// - An interval in which no message arrived at all (the agent did not run, or the wall clock
///   stepped forward over it) has no row: the agent has nothing to say about it, and a row of
///   comm-loss would claim the devices were silent. Only the interval the step landed in is charted.
/// - The wall clock stepping back within the open interval changes nothing. Stepping back
///   further (a message older than the open interval's start) charts what the open interval
///   holds at its boundary first, then starts again from the new time: no sample is lost,
///   and the boundaries after the step may repeat earlier ones. `clockStepsBack` counts these.
/// - The bed's description is fixed for the aggregator's life: the agent makes a new
///   aggregator (and so a new first interval) whenever it starts with a new description.
///
/// Feeding a message allocates nothing: per-entry state lives in arrays sized once; only a
/// row (once per interval) allocates its values.
public struct ChartingAggregator {
    public let description: BedDescription
    public let intervalMilliseconds: Int64
    /// Times the wall clock went back past the open interval's start.
    public private(set) var clockStepsBack = 0
    /// Times a message came more than one whole interval after the open interval's boundary.
    public private(set) var clockStepsForward = 0

    public enum WallClockStep: Sendable { case back, forward }
    /// The step the last message's time showed, if it showed one: for the caller to log.
    public private(set) var stepAtLastMessage: WallClockStep?

    private struct EntryState {
        var latestValue: Double?
        var latestQuality: Quality = .commLoss
        var latestMilliseconds: Int64 = .min
        var minimum: Double = .infinity
        var maximum: Double = -.infinity
        var samples = 0
        var okSamples = 0
    }

    private var entries: [EntryState]
    /// The open interval's boundary; nil before the first message.
    private var boundary: Int64?
    /// Where the open interval's samples begin: its nominal start, or later after a (re)start.
    private var coveredFrom: Int64 = 0
    private var sequence: Int64 = 0

    public init(description: BedDescription, intervalMilliseconds: Int64) {
        self.description = description
        self.intervalMilliseconds = max(1, intervalMilliseconds)
        entries = [EntryState](repeating: EntryState(), count: description.entries.count)
    }

    /// Takes one vitals message's values and its time; returns the row of the boundary the
    /// message is past, if it is past one.
    public mutating func add(_ values: [VitalValue], messageMilliseconds: Int64) -> ChartRow? {
        stepAtLastMessage = nil
        guard let open = boundary else {
            start(at: messageMilliseconds)
            collect(values, upTo: .max)
            return nil
        }
        if messageMilliseconds <= open - intervalMilliseconds {
            clockStepsBack += 1
            stepAtLastMessage = .back
            let row = anySamples ? makeRow(boundary: open) : nil
            start(at: messageMilliseconds)
            collect(values, upTo: .max)
            return row
        }
        guard messageMilliseconds > open else {
            collect(values, upTo: .max)
            return nil
        }
        collect(values, upTo: open)
        let row = makeRow(boundary: open)
        let next = Self.boundary(containing: messageMilliseconds, interval: intervalMilliseconds)
        if next > open + intervalMilliseconds {
            clockStepsForward += 1
            stepAtLastMessage = .forward
            start(at: messageMilliseconds)
        } else {
            boundary = next
            coveredFrom = open
        }
        collect(values, after: open)
        return row
    }

    /// The smallest multiple of `interval` at or after `time`.
    public static func boundary(containing time: Int64, interval: Int64) -> Int64 {
        let quotient = time / interval
        let remainder = time % interval
        if remainder == 0 { return time }
        return (remainder > 0 ? quotient + 1 : quotient) * interval
    }

    private var anySamples: Bool {
        for entry in entries where entry.samples > 0 { return true }
        return false
    }

    private mutating func start(at time: Int64) {
        boundary = Self.boundary(containing: time, interval: intervalMilliseconds)
        coveredFrom = time
    }

    // Index loops rather than for-in: an unspecialised array iterator (the debug build) allocates per element.
    private mutating func collect(_ values: [VitalValue], upTo last: Int64) {
        var index = 0
        while index < values.count {
            if values[index].wallClockMilliseconds <= last { take(values[index]) }
            index += 1
        }
    }

    private mutating func collect(_ values: [VitalValue], after first: Int64) {
        var index = 0
        while index < values.count {
            if values[index].wallClockMilliseconds > first { take(values[index]) }
            index += 1
        }
    }

    private mutating func take(_ value: VitalValue) {
        guard value.entry >= 0 && value.entry < entries.count else { return }
        let index = value.entry
        // Equal read times: the later message wins, as it was read later.
        if value.wallClockMilliseconds >= entries[index].latestMilliseconds {
            entries[index].latestMilliseconds = value.wallClockMilliseconds
            entries[index].latestQuality = value.quality
            entries[index].latestValue = value.quality == .commLoss || value.quality == .sensorOff ? nil : value.value
        }
        entries[index].samples += 1
        if value.quality == .ok, let number = value.value, number.isFinite {
            entries[index].okSamples += 1
            entries[index].minimum = min(entries[index].minimum, number)
            entries[index].maximum = max(entries[index].maximum, number)
        }
    }

    private mutating func makeRow(boundary row: Int64) -> ChartRow {
        sequence += 1
        var values: [ChartedValue] = []
        values.reserveCapacity(entries.count)
        for (index, state) in entries.enumerated() {
            let sampled = state.samples > 0
            let ranged = state.okSamples > 0
            values.append(ChartedValue(entry: index, value: sampled ? state.latestValue : nil,
                                       quality: sampled ? state.latestQuality : .commLoss,
                                       measuredAtMilliseconds: sampled ? state.latestMilliseconds : row,
                                       minimum: ranged ? state.minimum : nil, maximum: ranged ? state.maximum : nil,
                                       samples: state.samples, okSamples: state.okSamples))
        }
        for index in entries.indices { entries[index] = EntryState() }
        return ChartRow(description: description, rowMilliseconds: row, intervalMilliseconds: intervalMilliseconds,
                        sequence: sequence, values: values, coveredFromMilliseconds: max(coveredFrom, row - intervalMilliseconds))
    }
}
