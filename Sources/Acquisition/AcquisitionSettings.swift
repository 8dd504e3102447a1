import Modbus
import Platform

/// How often the bus loops sample and where their threads run.
public struct SamplingSettings: Sendable {
    public var intervalMilliseconds: Int
    /// SCHED_FIFO priority of the sampling threads, 1...99; 0 keeps normal scheduling.
    public var realtimePriority: Int
    /// CPU the sampling threads are pinned to; nil lets the kernel choose.
    public var cpu: Int?

    public init(intervalMilliseconds: Int, realtimePriority: Int = SamplingSettings.defaultPriority, cpu: Int? = nil) {
        self.intervalMilliseconds = intervalMilliseconds
        self.realtimePriority = realtimePriority
        self.cpu = cpu
    }

    /// Above most kernel threads' default of 50, below the watchdog and migration threads at 99.
    public static let defaultPriority = 80
    /// SCHED_FIFO priorities Linux accepts, and 0 for normal scheduling.
    public static let priorityRange = RealtimeLimits.priorityRange
    /// CPUs a thread can be pinned to.
    public static let cpuRange = RealtimeLimits.cpuRange
}

/// How the agent reaches one device.
public enum DeviceEndpoint: Sendable, Equatable {
    case tcp(host: String, port: Int)
    /// Modbus RTU on a serial line; devices with the same `device` path share one bus.
    case rtu(SerialLineSettings)
}

/// One device on a bed, as its bus loop polls it.
public struct DeviceSettings: Sendable {
    public var id: String
    /// Name of a device profile, built in (e.g. "patient-monitor") or from a profile file.
    public var profile: String
    public var endpoint: DeviceEndpoint
    /// Modbus unit id: 0...247 over TCP, 1...247 on a serial line (distinct per line).
    public var unitID: Int
    public var responseTimeoutMilliseconds: Int
    /// Longest silence allowed between two bytes of one reply (libmodbus's byte timeout).
    public var byteTimeoutMilliseconds: Int

    public init(id: String, profile: String, endpoint: DeviceEndpoint, unitID: Int, responseTimeoutMilliseconds: Int,
                byteTimeoutMilliseconds: Int = 100) {
        self.id = id
        self.profile = profile
        self.endpoint = endpoint
        self.unitID = unitID
        self.responseTimeoutMilliseconds = responseTimeoutMilliseconds
        self.byteTimeoutMilliseconds = byteTimeoutMilliseconds
    }
}
