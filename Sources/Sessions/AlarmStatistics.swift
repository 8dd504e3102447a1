import Alarms

/// What one bed's alarms amounted to, from its alarm events: per condition the alarms by
/// priority, how long they lasted and how long until someone acknowledged them, and how long a
/// high-priority alarm was active. What a clinic needs to find its nuisance alarms (which limit
/// fires often and briefly, which is acknowledged late). Pure; the session record keeps one per
/// session, the agent one per bed for /metrics.
public struct AlarmStatistics: Sendable, Equatable {
    public struct Condition: Sendable, Equatable {
        public var condition: String
        /// Alarms started, by the priority they started with: low, medium, high.
        public var started: [Int] = [0, 0, 0]
        /// Medium alarms that escalated to high.
        public var escalated = 0
        /// Durations of the alarms that ended (start to end), ms, the latest `keptFigures`.
        public var durations: [Int64] = []
        public var durationTotalMilliseconds: Int64 = 0
        public var ended = 0
        /// Times from start to acknowledge, ms, the latest `keptFigures`.
        public var acknowledgeTimes: [Int64] = []
        public var acknowledgeTotalMilliseconds: Int64 = 0
        public var acknowledged = 0

        public var startedTotal: Int { started[0] + started[1] + started[2] }
        public var medianDurationMilliseconds: Int64? { median(durations) }
        public var medianAcknowledgeMilliseconds: Int64? { median(acknowledgeTimes) }
    }

    /// An alarm seen starting and not yet ended.
    public struct OpenAlarm: Sendable, Equatable {
        public var alarm: String
        public var condition: String
        public var priority: AlarmPriority
        public var startMilliseconds: Int64
        public var acknowledgedMilliseconds: Int64?
    }

    /// Figures kept per condition for the medians: the latest this many.
    public static let keptFigures = 1000

    public private(set) var conditions: [Condition] = []
    public private(set) var open: [OpenAlarm] = []
    /// Every time to acknowledge, all conditions (the latest `keptFigures`), ms.
    public private(set) var acknowledgeTimes: [Int64] = []
    public private(set) var longestAcknowledgeMilliseconds: Int64?
    /// Time with at least one high-priority alarm active, up to the last event.
    public private(set) var highActiveMilliseconds: Int64 = 0
    /// Since when a high-priority alarm is active, if one is.
    public private(set) var highActiveSince: Int64?

    public init() {}

    /// What the event tells about its alarm: for an end, how long it lasted; for an
    /// acknowledge, how long after its start (nil when its start was not seen).
    public struct Outcome: Sendable, Equatable {
        public var durationMilliseconds: Int64?
        public var acknowledgeAfterMilliseconds: Int64?
    }

    @discardableResult
    public mutating func add(_ event: AlarmEvent) -> Outcome {
        var outcome = Outcome()
        let time = event.wallClockMilliseconds
        switch event.type {
        case .start:
            let condition = conditionIndex(event.condition)
            conditions[condition].started[event.priority.rawValue - 1] += 1
            open.removeAll { $0.alarm == event.alarm }
            open.append(OpenAlarm(alarm: event.alarm, condition: event.condition, priority: event.priority,
                                  startMilliseconds: time))
        case .escalate:
            let condition = conditionIndex(event.condition)
            conditions[condition].escalated += 1
            for index in open.indices where open[index].alarm == event.alarm { open[index].priority = event.priority }
        case .acknowledge:
            guard let index = open.firstIndex(where: { $0.alarm == event.alarm }), open[index].acknowledgedMilliseconds == nil
            else { break }
            open[index].acknowledgedMilliseconds = time
            let after = max(0, time - open[index].startMilliseconds)
            outcome.acknowledgeAfterMilliseconds = after
            let condition = conditionIndex(event.condition)
            conditions[condition].acknowledged += 1
            conditions[condition].acknowledgeTotalMilliseconds += after
            Self.keep(after, in: &conditions[condition].acknowledgeTimes)
            Self.keep(after, in: &acknowledgeTimes)
            longestAcknowledgeMilliseconds = max(longestAcknowledgeMilliseconds ?? 0, after)
        case .end:
            guard let index = open.firstIndex(where: { $0.alarm == event.alarm }) else { break }
            let duration = max(0, time - open[index].startMilliseconds)
            outcome.durationMilliseconds = duration
            let condition = conditionIndex(event.condition)
            conditions[condition].ended += 1
            conditions[condition].durationTotalMilliseconds += duration
            Self.keep(duration, in: &conditions[condition].durations)
            open.remove(at: index)
        case .audioPaused, .audioResumed, .limitChange:
            break
        }
        updateHighActive(at: time)
        return outcome
    }

    /// Takes over alarms that started before (a session's start): their acknowledge and end
    /// count here, their start does not.
    public mutating func adopt(_ alarms: [OpenAlarm], at time: Int64) {
        for alarm in alarms where !open.contains(where: { $0.alarm == alarm.alarm }) { open.append(alarm) }
        updateHighActive(at: time)
    }

    /// Brings the high-alarm time up to `time` (the end of a session) without an event.
    public mutating func close(at time: Int64) {
        if let since = highActiveSince, time > since {
            highActiveMilliseconds += time - since
            highActiveSince = time
        }
    }

    public var medianAcknowledgeMilliseconds: Int64? { median(acknowledgeTimes) }

    private mutating func updateHighActive(at time: Int64) {
        let highNow = open.contains { $0.priority == .high }
        if let since = highActiveSince {
            if time > since { highActiveMilliseconds += time - since }
            highActiveSince = highNow ? max(since, time) : nil
        } else if highNow {
            highActiveSince = time
        }
    }

    /// Audio pauses and limit changes never get here: they are events of no alarm.
    private mutating func conditionIndex(_ condition: String) -> Int {
        if let index = conditions.firstIndex(where: { $0.condition == condition }) { return index }
        conditions.append(Condition(condition: condition))
        return conditions.count - 1
    }

    private static func keep(_ figure: Int64, in figures: inout [Int64]) {
        if figures.count >= keptFigures { figures.removeFirst(figures.count - keptFigures + 1) }
        figures.append(figure)
    }

    // MARK: snapshot

    /// Restores what `add` built, from the parts a snapshot kept.
    public init(conditions: [Condition], open: [OpenAlarm], acknowledgeTimes: [Int64], longestAcknowledgeMilliseconds: Int64?,
                highActiveMilliseconds: Int64, highActiveSince: Int64?) {
        self.conditions = conditions
        self.open = open
        self.acknowledgeTimes = acknowledgeTimes
        self.longestAcknowledgeMilliseconds = longestAcknowledgeMilliseconds
        self.highActiveMilliseconds = highActiveMilliseconds
        self.highActiveSince = highActiveSince
    }
}

/// The median of `figures` (the mean of the middle two for an even count); nil when empty.
func median(_ figures: [Int64]) -> Int64? {
    guard !figures.isEmpty else { return nil }
    let sorted = figures.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
