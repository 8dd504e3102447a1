import Synchronization

/// One supervised participant (a sampling loop, the alarm/buzzer thread, the publisher).
/// `beat()` is a relaxed atomic increment: no lock, no allocation, no system call, so the
/// real-time sampling loop may call it every period.
public final class Heartbeat {
    public let name: String
    /// How often the participant means to beat.
    public let expectedIntervalMilliseconds: Int
    /// How long the supervisor tolerates no beat before it calls the participant stalled.
    public let allowedStalenessMilliseconds: Int
    /// Assigned by the supervisor at registration; identifies the participant in samples.
    public let id: Int
    private let counter = Atomic<UInt64>(0)

    public init(id: Int, name: String, expectedIntervalMilliseconds: Int, allowedStalenessMilliseconds: Int) {
        self.id = id
        self.name = name
        self.expectedIntervalMilliseconds = expectedIntervalMilliseconds
        self.allowedStalenessMilliseconds = allowedStalenessMilliseconds
    }

    @inline(__always)
    public func beat() {
        counter.wrappingAdd(1, ordering: .relaxed)
    }

    public var count: UInt64 { counter.load(ordering: .relaxed) }

    public var sample: HeartbeatSample {
        HeartbeatSample(id: id, name: name, count: count, allowedStalenessMilliseconds: Int64(allowedStalenessMilliseconds))
    }
}

/// The default tolerance: three missed beats, and never less than 100 ms.
public func defaultAllowedStaleness(expectedIntervalMilliseconds: Int) -> Int {
    max(100, expectedIntervalMilliseconds * 3)
}

/// A participant's counter as the supervisor read it.
public struct HeartbeatSample: Equatable {
    public var id: Int
    public var name: String
    public var count: UInt64
    public var allowedStalenessMilliseconds: Int64

    public init(id: Int, name: String, count: UInt64, allowedStalenessMilliseconds: Int64) {
        self.id = id
        self.name = name
        self.count = count
        self.allowedStalenessMilliseconds = allowedStalenessMilliseconds
    }
}

public struct StalledParticipant: Equatable {
    public var name: String
    /// Time since the counter last advanced (or since the participant was first seen).
    public var silentMilliseconds: Int64
    public var allowedMilliseconds: Int64

    public init(name: String, silentMilliseconds: Int64, allowedMilliseconds: Int64) {
        self.name = name
        self.silentMilliseconds = silentMilliseconds
        self.allowedMilliseconds = allowedMilliseconds
    }
}

public enum SupervisionVerdict: Equatable {
    case healthy
    /// In registration order; never empty.
    case stalled([StalledParticipant])

    public var isHealthy: Bool {
        if case .healthy = self { return true }
        return false
    }
}

/// Pure staleness bookkeeping: remembers, per participant, the last count seen and when it
/// last changed. A participant seen for the first time counts as having just advanced, so a
/// newly registered one gets its full allowance before it can be called stalled.
public struct HeartbeatTracker {
    private struct Entry {
        var id: Int
        var lastCount: UInt64
        var lastAdvanceMilliseconds: Int64
    }

    private var entries: [Entry] = []

    public init() {}

    public mutating func evaluate(_ samples: [HeartbeatSample], nowMilliseconds: Int64) -> SupervisionVerdict {
        var updated: [Entry] = []
        updated.reserveCapacity(samples.count)
        var stalled: [StalledParticipant] = []
        for sample in samples {
            var entry = Entry(id: sample.id, lastCount: sample.count, lastAdvanceMilliseconds: nowMilliseconds)
            if let previous = entries.first(where: { $0.id == sample.id }), previous.lastCount == sample.count {
                entry.lastAdvanceMilliseconds = previous.lastAdvanceMilliseconds
            }
            updated.append(entry)
            let silent = nowMilliseconds - entry.lastAdvanceMilliseconds
            if silent > sample.allowedStalenessMilliseconds {
                stalled.append(StalledParticipant(name: sample.name, silentMilliseconds: silent,
                                                  allowedMilliseconds: sample.allowedStalenessMilliseconds))
            }
        }
        entries = updated // participants no longer sampled (unregistered) are forgotten
        return stalled.isEmpty ? .healthy : .stalled(stalled)
    }
}

/// What one supervisor round does with a verdict.
public struct SupervisionDecision: Equatable {
    /// Keep the hardware watchdog alive and send WATCHDOG=1.
    public var kick: Bool
    /// A STATUS= value to send, only when the situation changed.
    public var status: String?
    /// A log line, only when the situation changed.
    public var logMessage: String?
    public var logIsError: Bool

    public init(kick: Bool, status: String? = nil, logMessage: String? = nil, logIsError: Bool = false) {
        self.kick = kick
        self.status = status
        self.logMessage = logMessage
        self.logIsError = logIsError
    }
}

/// Pure: turns verdicts into actions, reporting a stall once (per set of stalled names) and a
/// recovery once, so a stalled loop does not flood the journal every kick interval.
public struct SupervisionDecider {
    private var reportedStall: [String] = []

    public init() {}

    public mutating func decide(_ verdict: SupervisionVerdict) -> SupervisionDecision {
        switch verdict {
        case .healthy:
            if reportedStall.isEmpty { return SupervisionDecision(kick: true) }
            let names = reportedStall.joined(separator: ", ")
            reportedStall = []
            return SupervisionDecision(kick: true, status: "all participants healthy",
                                       logMessage: "supervision: \(names) recovered; watchdog kicks resumed")
        case .stalled(let participants):
            let names = participants.map { $0.name }
            if names == reportedStall { return SupervisionDecision(kick: false) }
            reportedStall = names
            let detail = participants.map {
                "\($0.name) (no heartbeat for \($0.silentMilliseconds) ms, allowed \($0.allowedMilliseconds) ms)"
            }.joined(separator: ", ")
            return SupervisionDecision(kick: false, status: "stalled: \(detail)",
                                       logMessage: "supervision: stalled: \(detail); watchdog kicks withheld, the box will reset",
                                       logIsError: true)
        }
    }
}
