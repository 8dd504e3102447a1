import RegisterMaps

/// A test-pattern device: every point serves a value computed from its own address and type
/// alone, so a decoding test can compute what it must read without asking the simulator.
///
/// The raw value (before scale and offset) of a point at address `a`:
///
/// | type    | raw value                  | why                                   |
/// |---------|----------------------------|---------------------------------------|
/// | bool    | 1 if `a` is odd, else 0    |                                       |
/// | int16   | -(1000 + a)                | negative: the sign bit                 |
/// | uint16  | 40000 + a                  | above 32767: no sign                   |
/// | int32   | -(100000 * (a + 1) + a)    | negative, both registers non-zero      |
/// | uint32  | 3000000000 + a             | above 2^31: no sign                    |
/// | int64   | -(2^40 * (a + 1) + a)      | negative, every register non-zero      |
/// | uint64  | 2^52 + a                   | above 2^32, exact in a Double          |
/// | float32 | -(4a + 1.5)                | negative, a fraction, exact in a Float |
/// | float64 | a + 0.1                    | a full 52-bit mantissa                 |
///
/// The served value is raw * scale + offset, encoded with the point's type and word order,
/// so decoding gives it back exactly for integers at scale 1 (within the type's precision
/// otherwise). Bit fields play no part: a status word serves its type's pattern.
public enum TestPattern {
    public static func rawValue(type: PointType, address a: Int) -> Double {
        let k = Double(a)
        switch type {
        case .bool: return a % 2 == 1 ? 1 : 0
        case .int16: return -(1000 + k)
        case .uint16: return 40_000 + k
        case .int32: return -(100_000 * (k + 1) + k)
        case .uint32: return 3_000_000_000 + k
        case .int64: return -(1_099_511_627_776 * (k + 1) + k)
        case .uint64: return 4_503_599_627_370_496 + k
        case .float32: return -(4 * k + 1.5)
        case .float64: return k + 0.1
        }
    }

    /// The scaled value a point serves on a test-pattern device. Points in a bit table are
    /// bools whatever their declared type.
    public static func value(of point: Point) -> Double {
        let type: PointType = point.function.isBitTable ? .bool : point.type
        return rawValue(type: type, address: point.address) * point.scale + point.offset
    }

    /// A profile with every register type in every word order (holding registers 0-80, one
    /// read), a scaled point and a status word (input registers 0-1), and bits (coils and
    /// discrete inputs 0-9): what `--devices pattern` serves unless another profile is named.
    public static let profile: DeviceProfile = {
        var points: [Point] = []
        var address = 0
        for order in WordOrder.allCases {
            for type in [PointType.int16, .uint16, .int32, .uint32, .float32, .int64, .uint64, .float64] {
                points.append(Point(name: "\(type.rawValue)_\(order.rawValue)", function: .holdingRegisters,
                                    address: address, type: type, wordOrder: order,
                                    decimals: type.isFloatingPoint ? 3 : 0, unit: "1", mdcName: "", mdcCode: nil,
                                    validRange: type.rawRange))
                address += type.width
            }
        }
        points.append(Point(name: "bool_register", function: .holdingRegisters, address: address, type: .bool,
                            unit: "1", mdcName: "", mdcCode: nil, validRange: 0...1))
        // A temperature-like point: tenths with an offset, to show scale and offset apply.
        points.append(Point(name: "scaled_int16", function: .inputRegisters, address: 0, type: .int16,
                            scale: 0.1, offset: -40, decimals: 1, unit: "Cel", mdcName: "", mdcCode: nil,
                            validRange: -3_316.8...3_236.7))
        points.append(Point(name: "status_word", function: .inputRegisters, address: 1, type: .uint16,
                            unit: "1", mdcName: "", mdcCode: nil, validRange: 0...65_535,
                            bitFields: [BitField(name: "bit0", bit: 0, meaning: .status),
                                        BitField(name: "bit15", bit: 15, meaning: .status)]))
        for bit in 0..<10 {
            points.append(Point(name: "coil_\(bit)", function: .coils, address: bit, type: .bool,
                                unit: "1", mdcName: "", mdcCode: nil, validRange: 0...1))
            points.append(Point(name: "input_bit_\(bit)", function: .discreteInputs, address: bit, type: .bool,
                                unit: "1", mdcName: "", mdcCode: nil, validRange: 0...1))
        }
        return DeviceProfile(name: "test-pattern",
                             summary: "every register type in every word order, values from their addresses",
                             points: points)
    }()
}
