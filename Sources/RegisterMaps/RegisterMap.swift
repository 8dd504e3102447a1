/// Modbus data tables a point can live in.
public enum ModbusFunction: String, Sendable, CaseIterable, BitwiseCopyable {
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
public enum PointType: String, Sendable, CaseIterable, BitwiseCopyable {
    /// One bit in a coil or discrete-input table, or one register read as "nonzero" in a register table.
    case bool
    case int16, uint16
    case int32, uint32, float32
    /// 64-bit integers are decoded into a Double: beyond ±2^53 they lose their low bits.
    case int64, uint64, float64

    /// 16-bit registers the value occupies in a register table (a bool in a bit table is one bit).
    public var width: Int {
        switch self {
        case .bool, .int16, .uint16: return 1
        case .int32, .uint32, .float32: return 2
        case .int64, .uint64, .float64: return 4
        }
    }

    /// Bits of the raw value that a bit field may name: 1 for bool, 16 per register otherwise.
    public var bitCount: Int { self == .bool ? 1 : width * 16 }

    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// Raw (unscaled) values the type can hold, as Doubles; floats: the finite Doubles.
    public var rawRange: ClosedRange<Double> {
        switch self {
        case .bool: return 0...1
        case .int16: return -32_768...32_767
        case .uint16: return 0...65_535
        case .int32: return -2_147_483_648...2_147_483_647
        case .uint32: return 0...4_294_967_295
        case .int64: return -9_223_372_036_854_775_808.0...9_223_372_036_854_775_807.0
        case .uint64: return 0...18_446_744_073_709_551_615.0
        case .float32: return -Double(Float.greatestFiniteMagnitude)...Double(Float.greatestFiniteMagnitude)
        case .float64: return -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
        }
    }
}

/// Byte order of a multi-register value on the wire. Letters name the value's bytes from the
/// most significant (A) down; they are listed in the order they arrive, two per register
/// (register high byte first, as Modbus sends it).
///
/// 32-bit value with bytes A B C D:     register 0   register 1
///   abcd (big-endian, Modbus default)     A B          C D
///   cdab (word-swapped)                   C D          A B
///   badc (byte-swapped words)             B A          D C
///   dcba (little-endian)                  D C          B A
///
/// Generalised to any width as two independent switches, so every width means the same thing:
/// cdab and dcba put the registers in reverse order (least significant register first), badc and
/// dcba swap the two bytes inside every register. For a 64-bit value A...H:
///   abcd  AB CD EF GH    cdab  GH EF CD AB    badc  BA DC FE HG    dcba  HG FE DC BA
/// For one-register types cdab is the same as abcd and dcba the same as badc (bytes swapped).
public enum WordOrder: String, Sendable, CaseIterable, BitwiseCopyable {
    case abcd, cdab, badc, dcba

    /// Least significant register first.
    public var reversesRegisters: Bool { self == .cdab || self == .dcba }
    /// Low byte first inside each register.
    public var swapsBytes: Bool { self == .badc || self == .dcba }
}

/// What a set bit of a status or alarm word means to the agent.
public enum BitMeaning: Sendable, Equatable {
    /// While the bit is set, the named points of the same device have quality sensor-off
    /// (probe off the finger, leads off, sampling line disconnected).
    case sensorOff(points: [String])
    /// The device itself is alarming (physiological or its own alarm).
    case deviceAlarm
    /// The device reports a technical fault (occlusion, air in line, hardware fault).
    case technicalFault
    /// Informational (battery low, on mains, ...): published, never an alarm by itself.
    case status

    /// The spelling used in profile files: sensor-off, device-alarm, technical-fault, status.
    public var keyword: String {
        switch self {
        case .sensorOff: return "sensor-off"
        case .deviceAlarm: return "device-alarm"
        case .technicalFault: return "technical-fault"
        case .status: return "status"
        }
    }
}

/// One named bit of a status or alarm word.
public struct BitField: Sendable, Equatable {
    /// Stable name other parts of the agent refer to, e.g. "spo2_probe_off".
    public var name: String
    /// 0 is the least significant bit of the raw value; up to the type's `bitCount` - 1.
    public var bit: Int
    public var meaning: BitMeaning

    public init(name: String, bit: Int, meaning: BitMeaning) {
        self.name = name
        self.bit = bit
        self.meaning = meaning
    }
}

/// One value a device exposes: where it is, how to turn raw registers into a
/// measurement, and what a charting system calls it.
public struct Point: Sendable, Equatable {
    /// Short stable name used in messages and config, e.g. "spo2".
    public var name: String
    public var function: ModbusFunction
    public var address: Int
    public var type: PointType
    /// Register and byte order of the raw value (see `WordOrder`).
    public var wordOrder: WordOrder
    /// value = raw * scale + offset
    public var scale: Double
    public var offset: Double
    /// Decimal places the scaled value is reported with (0.1 scale → 1).
    public var decimals: Int
    /// UCUM unit code, e.g. "mm[Hg]".
    public var unit: String
    /// IEEE 11073-10101 MDC reference id, e.g. "MDC_PULS_OXIM_SAT_O2"; empty when no term applies
    /// (device status words, the time of a measurement).
    public var mdcName: String
    /// Its numeric code, nil where the public tables disagree and it is not yet checked.
    public var mdcCode: Int?
    /// Plausible range of the scaled value; outside it the sample's quality is out-of-range.
    /// NaN and infinities (from float registers) are never inside it.
    public var validRange: ClosedRange<Double>
    /// How often the point needs reading; nil = every sampling cycle.
    public var pollIntervalMilliseconds: Int?
    /// Named bits, for status and alarm words.
    public var bitFields: [BitField]

    public init(name: String, function: ModbusFunction, address: Int, type: PointType,
                wordOrder: WordOrder = .abcd,
                scale: Double = 1, offset: Double = 0, decimals: Int = 0, unit: String,
                mdcName: String, mdcCode: Int?, validRange: ClosedRange<Double>,
                pollIntervalMilliseconds: Int? = nil, bitFields: [BitField] = []) {
        self.name = name
        self.function = function
        self.address = address
        self.type = type
        self.wordOrder = wordOrder
        self.scale = scale
        self.offset = offset
        self.decimals = decimals
        self.unit = unit
        self.mdcName = mdcName
        self.mdcCode = mdcCode
        self.validRange = validRange
        self.pollIntervalMilliseconds = pollIntervalMilliseconds
        self.bitFields = bitFields
    }

    /// Items the point occupies in its table: the type's width in registers, or one bit in a
    /// coil or discrete-input table.
    public var itemCount: Int { function.isBitTable ? 1 : type.width }

    /// True when `value` is a number inside the valid range (false for NaN and infinities).
    public func isInRange(_ value: Double) -> Bool { layout.isInRange(value) }

    public func bitField(named name: String) -> BitField? {
        for field in bitFields where field.name == name { return field }
        return nil
    }
}

/// A kind of bedside device: the points it exposes.
public struct DeviceProfile: Sendable, Equatable {
    public var name: String
    public var summary: String
    public var points: [Point]
    /// Unused registers (or bits) a read may span to join two runs of points into one request.
    public var largestGap: Int

    public init(name: String, summary: String, points: [Point], largestGap: Int = 0) {
        self.name = name
        self.summary = summary
        self.points = points
        self.largestGap = largestGap
    }

    public func point(named name: String) -> Point? {
        for point in points where point.name == name { return point }
        return nil
    }

    /// The status word carrying the bit field `name`, and the field.
    public func bitField(named name: String) -> (point: Point, field: BitField)? {
        for point in points {
            if let field = point.bitField(named: name) { return (point, field) }
        }
        return nil
    }
}
