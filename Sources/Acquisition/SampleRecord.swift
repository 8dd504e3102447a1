import Vitals

/// What a sampling loop hands to the rest of the agent through its ring: plain values and
/// indices only, so pushing one copies bytes and never touches a reference count.
public struct SampleRecord: BitwiseCopyable {
    public enum Kind: UInt8, BitwiseCopyable {
        /// A decoded value of point `pointIndex` of device `deviceIndex`.
        case sample
        /// The device finished a cycle (all its due points were pushed before this).
        case endOfDeviceCycle
        /// The device started or stopped answering; `failure` says why it stopped.
        case deviceAnswering
        case deviceSilent
    }

    public var kind: Kind
    public var quality: QualityCode
    /// For `deviceSilent`: the failure that made it silent.
    public var failure: FailureCode
    /// For a `.exception` failure: the Modbus exception code the device answered with.
    public var exceptionCode: UInt8
    public var deviceIndex: UInt16
    public var pointIndex: UInt16
    public var value: Double
    public var wallClockMilliseconds: Int64
    public var monotonicNanoseconds: Int64
    /// The bus loop's cycle number.
    public var cycle: UInt64

    public init(kind: Kind, quality: QualityCode = .ok, failure: FailureCode = .none, exceptionCode: UInt8 = 0,
                deviceIndex: Int,
                pointIndex: Int = 0, value: Double = 0, wallClockMilliseconds: Int64 = 0,
                monotonicNanoseconds: Int64 = 0, cycle: UInt64 = 0) {
        self.kind = kind
        self.quality = quality
        self.failure = failure
        self.exceptionCode = exceptionCode
        self.deviceIndex = UInt16(truncatingIfNeeded: deviceIndex)
        self.pointIndex = UInt16(truncatingIfNeeded: pointIndex)
        self.value = value
        self.wallClockMilliseconds = wallClockMilliseconds
        self.monotonicNanoseconds = monotonicNanoseconds
        self.cycle = cycle
    }

    public static let empty = SampleRecord(kind: .endOfDeviceCycle, deviceIndex: 0)
}

/// Quality as a byte for the ring; `Quality` is the named form the rest of the agent uses.
public enum QualityCode: UInt8, BitwiseCopyable {
    case ok, stale, outOfRange, commLoss, sensorOff

    public var quality: Quality {
        switch self {
        case .ok: return .ok
        case .stale: return .stale
        case .outOfRange: return .outOfRange
        case .commLoss: return .commLoss
        case .sensorOff: return .sensorOff
        }
    }
}

/// Why a Modbus exchange failed, as a byte for the ring and an index into error counters.
public enum FailureCode: UInt8, BitwiseCopyable, CaseIterable {
    case none, timeout, exception, malformedReply, connection, other

    /// The device did not answer at all (no reply within its timeout, or no connection): such an
    /// exchange costs up to a whole response timeout, and the device's comm-loss alarm reports it.
    public var leftDeviceSilent: Bool { self == .timeout || self == .connection }

    public var name: String {
        switch self {
        case .none: return "none"
        case .timeout: return "timeout"
        case .exception: return "exception"
        case .malformedReply: return "malformed-reply"
        case .connection: return "connection"
        case .other: return "other"
        }
    }
}
