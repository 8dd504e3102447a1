/// Modbus data tables a point can live in.
public enum ModbusFunction: String, Sendable, CaseIterable {
    case coils = "coils"
    case discreteInputs = "discrete-inputs"
    case holdingRegisters = "holding-registers"
    case inputRegisters = "input-registers"

    /// Most items one read request may return (Modbus application protocol v1.1b3, 6.1-6.4).
    public var maximumItemsPerRead: Int {
        switch self {
        case .coils, .discreteInputs: return 2000
        case .holdingRegisters, .inputRegisters: return 125
        }
    }

    public var isBitTable: Bool { self == .coils || self == .discreteInputs }
}

/// How a point's value is laid out in its registers.
public enum PointType: String, Sendable, CaseIterable {
    case bool, int16, uint16

    /// 16-bit registers (or bits) the value occupies.
    public var width: Int { 1 }
}

/// One value a device exposes: where it is, how to turn raw registers into a
/// measurement, and what a charting system calls it.
public struct Point: Sendable {
    /// Short stable name used in messages and config, e.g. "spo2".
    public var name: String
    public var function: ModbusFunction
    public var address: Int
    public var type: PointType
    /// value = raw * scale + offset
    public var scale: Double
    public var offset: Double
    /// Decimal places the scaled value is reported with (0.1 scale → 1).
    public var decimals: Int
    /// UCUM unit code, e.g. "mm[Hg]".
    public var unit: String
    /// IEEE 11073-10101 MDC reference id, e.g. "MDC_PULS_OXIM_SAT_O2".
    public var mdcName: String
    /// Its numeric code, nil where the public tables disagree and it is not yet checked.
    public var mdcCode: Int?
    /// Plausible range of the scaled value; outside it the sample's quality is out-of-range.
    public var validRange: ClosedRange<Double>

    public init(name: String, function: ModbusFunction, address: Int, type: PointType,
                scale: Double = 1, offset: Double = 0, decimals: Int = 0, unit: String,
                mdcName: String, mdcCode: Int?, validRange: ClosedRange<Double>) {
        self.name = name
        self.function = function
        self.address = address
        self.type = type
        self.scale = scale
        self.offset = offset
        self.decimals = decimals
        self.unit = unit
        self.mdcName = mdcName
        self.mdcCode = mdcCode
        self.validRange = validRange
    }
}

/// A kind of bedside device: the points it exposes.
public struct DeviceProfile: Sendable {
    public var name: String
    public var summary: String
    public var points: [Point]

    public init(name: String, summary: String, points: [Point]) {
        self.name = name
        self.summary = summary
        self.points = points
    }

    public func point(named name: String) -> Point? {
        for point in points where point.name == name { return point }
        return nil
    }
}
