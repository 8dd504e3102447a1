import Acquisition
import Metrics
import Platform

/// The numbers and states the health documents are made of, gathered on the publisher thread
/// when a health request or the retained summary needs them, from the loops, the publisher, the alarm station and the kernel. Plain values:
/// `HealthDocuments` turns them into text without looking anywhere else.
struct HealthFigures {
    var wallClockMilliseconds: Int64 = 0
    var uptimeMilliseconds: Int64 = 0
    /// "host:port" of the configured broker.
    var brokerAddress = ""
    /// The protocol of the current connection ("MQTT 5", "MQTT 3.1.1").
    var brokerProtocol = ""
    var requireClockSync = false
    var clock: ClockFigure = .unreadable("not read yet")
    var loops: [LoopFigures] = []
    /// In configuration order.
    var devices: [DeviceFigures] = []
    var publishing = PublishingFigures()
    var alarms = AlarmSnapshot()
    var healthServer: HealthServerState = .disabled
}

/// The kernel's view of the clock, or why it could not be had.
enum ClockFigure: Equatable {
    case read(ClockSynchronisation)
    case unreadable(String)

    var synchronisation: ClockSynchronisation? {
        if case .read(let clock) = self { return clock }
        return nil
    }
}

/// What became of the HTTP endpoint for /healthz, /readyz and /metrics.
enum HealthServerState: Equatable {
    /// `health.port: 0`.
    case disabled
    case serving(port: Int)
    /// The port could not be had: the agent samples, sounds alarms and publishes without it.
    case failed(reason: String)

    var name: String {
        switch self {
        case .disabled: return "disabled"
        case .serving: return "serving"
        case .failed: return "failed"
        }
    }
}

struct LoopFigures: Equatable {
    var bus: String
    var cycles: UInt64 = 0
    var overruns: UInt64 = 0
    /// Overrun cycles during which a device on the bus did not answer (left out of `overruns`).
    var overrunsFromSilentDevices: UInt64 = 0
    /// Records the loop's ring had no room for: the alarm thread fell that far behind, and
    /// those samples reached neither the alarm engine nor the chart.
    var refusedRecords: UInt64 = 0
    var wakeupLatency = LatencySummary()
    var cycleDuration = LatencySummary()
    /// How long the loop has gone without a cycle, when that is longer than `LoopLiveness` allows.
    var stalledMilliseconds: Int64?
}

struct DeviceFigures: Equatable {
    var id: String
    var status = DeviceStatus()
    var requests: UInt64 = 0
    /// Failed requests by kind, every kind but `.none`, in `FailureCode` order.
    var failures: [FailureCount] = []
    var requestLatency = LatencySummary()
}

struct FailureCount: Equatable {
    var kind: FailureCode
    var count: UInt64
}

/// A latency histogram reduced to what the documents show, in nanoseconds.
struct LatencySummary: Equatable {
    var median: UInt64 = 0
    var p99: UInt64 = 0
    var p999: UInt64 = 0
    var maximum: UInt64 = 0
    var sum: UInt64 = 0
    var count: UInt64 = 0

    init() {}

    init(_ histogram: LatencyHistogram) {
        median = histogram.percentile(0.5)
        p99 = histogram.percentile(0.99)
        p999 = histogram.percentile(0.999)
        maximum = histogram.maximum
        sum = histogram.sum
        count = histogram.count
    }
}
