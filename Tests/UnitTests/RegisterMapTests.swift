import Testing
@testable import RegisterMaps

private func point(_ function: ModbusFunction, _ address: Int, _ type: PointType = .uint16,
                   order: WordOrder = .abcd, scale: Double = 1, offset: Double = 0,
                   range: ClosedRange<Double> = 0...1) -> Point {
    Point(name: "p\(address)", function: function, address: address, type: type, wordOrder: order,
          scale: scale, offset: offset, unit: "1", mdcName: "", mdcCode: nil, validRange: range)
}

// MARK: Wire images computed without the code under test

/// The value's bytes, most significant first (A, B, C, ...), from the integer's own big-endian
/// representation in memory.
private func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// Registers as a device with `order` sends them, built by shuffling the big-endian bytes by
/// hand: abcd as is; cdab the 16-bit pairs in reverse order; badc each pair's two bytes
/// swapped; dcba all bytes reversed. Each register is (first byte << 8) | second byte.
private func wire(_ bytes: [UInt8], _ order: WordOrder) -> [UInt16] {
    var shuffled: [UInt8]
    switch order {
    case .abcd:
        shuffled = bytes
    case .cdab:
        shuffled = []
        var pair = bytes.count - 2
        while pair >= 0 {
            shuffled += [bytes[pair], bytes[pair + 1]]
            pair -= 2
        }
    case .badc:
        shuffled = []
        var pair = 0
        while pair < bytes.count {
            shuffled += [bytes[pair + 1], bytes[pair]]
            pair += 2
        }
    case .dcba:
        shuffled = bytes.reversed()
    }
    var registers: [UInt16] = []
    var index = 0
    while index < shuffled.count {
        registers.append(UInt16(shuffled[index]) << 8 | UInt16(shuffled[index + 1]))
        index += 2
    }
    return registers
}

/// One value per case: its type, its bytes (big-endian), and the Double a reader must get.
private struct WireCase: CustomTestStringConvertible, Sendable {
    var type: PointType
    var bytes: [UInt8]
    var expected: Double
    var label: String
    /// False where writing the decoded Double back cannot give the same registers: 64-bit
    /// integers beyond 2^53, and -0 (scaling turns it into +0).
    var roundTrips = true
    var testDescription: String { "\(type.rawValue) \(label)" }
}

private let wireCases: [WireCase] = [
    WireCase(type: .int16, bytes: bigEndianBytes(Int16(-12_345)), expected: -12_345, label: "-12345"),
    WireCase(type: .int16, bytes: bigEndianBytes(Int16.min), expected: -32_768, label: "min"),
    WireCase(type: .int16, bytes: bigEndianBytes(Int16(0x1234)), expected: 4660, label: "0x1234"),
    WireCase(type: .uint16, bytes: bigEndianBytes(UInt16(0xABCD)), expected: 43_981, label: "0xABCD"),
    WireCase(type: .int32, bytes: bigEndianBytes(Int32(-123_456_789)), expected: -123_456_789, label: "-123456789"),
    WireCase(type: .int32, bytes: bigEndianBytes(Int32.min), expected: -2_147_483_648, label: "min"),
    WireCase(type: .int32, bytes: bigEndianBytes(Int32(0x0102_0304)), expected: 16_909_060, label: "0x01020304"),
    WireCase(type: .uint32, bytes: bigEndianBytes(UInt32(0xDEAD_BEEF)), expected: 3_735_928_559, label: "0xDEADBEEF"),
    WireCase(type: .uint32, bytes: bigEndianBytes(UInt32(1_764_000_000)), expected: 1_764_000_000, label: "unix time"),
    WireCase(type: .float32, bytes: bigEndianBytes(Float(-1.5).bitPattern), expected: -1.5, label: "-1.5"),
    WireCase(type: .float32, bytes: bigEndianBytes(Float(38.7).bitPattern), expected: Double(Float(38.7)), label: "38.7"),
    WireCase(type: .float32, bytes: bigEndianBytes(Float.nan.bitPattern), expected: .nan, label: "NaN"),
    WireCase(type: .float32, bytes: bigEndianBytes(Float.infinity.bitPattern), expected: .infinity, label: "inf"),
    WireCase(type: .float32, bytes: bigEndianBytes(Float(-0.0).bitPattern), expected: 0, label: "-0", roundTrips: false),
    WireCase(type: .int64, bytes: bigEndianBytes(Int64(-1_234_567_890_123)), expected: -1_234_567_890_123, label: "-1234567890123"),
    WireCase(type: .int64, bytes: bigEndianBytes(Int64(0x0102_0304_0506_0708)), expected: Double(Int64(0x0102_0304_0506_0708)), label: "0x0102030405060708",
             roundTrips: false),
    WireCase(type: .int64, bytes: bigEndianBytes(Int64.min), expected: -9_223_372_036_854_775_808, label: "min"),
    // Beyond 2^53 a Double cannot hold every integer: the reader gets the nearest Double.
    WireCase(type: .uint64, bytes: bigEndianBytes(UInt64(0xFEDC_BA98_7654_3211)), expected: Double(UInt64(0xFEDC_BA98_7654_3211)), label: "0xFEDCBA9876543211",
             roundTrips: false),
    WireCase(type: .uint64, bytes: bigEndianBytes(UInt64(1) << 53), expected: 9_007_199_254_740_992, label: "2^53"),
    WireCase(type: .float64, bytes: bigEndianBytes((-2.718281828459045).bitPattern), expected: -2.718281828459045, label: "-e"),
    WireCase(type: .float64, bytes: bigEndianBytes(Double.nan.bitPattern), expected: .nan, label: "NaN"),
    WireCase(type: .float64, bytes: bigEndianBytes((-Double.infinity).bitPattern), expected: -.infinity, label: "-inf"),
]

private func same(_ a: Double, _ b: Double) -> Bool {
    (a.isNaN && b.isNaN) || a == b
}

struct RegisterDecodingTests {
    @Test(arguments: wireCases, WordOrder.allCases)
    private func decodesEveryTypeInEveryOrder(_ wireCase: WireCase, _ order: WordOrder) {
        let registers = wire(wireCase.bytes, order)
        #expect(registers.count == wireCase.type.width)
        let p = point(.holdingRegisters, 100, wireCase.type, order: order)
        // The point sits in the middle of a read, with other registers around it.
        let block = [0xAAAA, 0x5555, 0xFFFF] + registers + [0x1111, 0xEEEE]
        let decoded = p.decode(block, at: 3)
        #expect(same(decoded, wireCase.expected), "\(decoded) != \(wireCase.expected)")
        // Written back, the value gives the same registers (NaN payloads aside).
        if wireCase.roundTrips && !wireCase.expected.isNaN {
            var written = [UInt16](repeating: 0x7777, count: 9)
            p.encode(decoded, into: &written, at: 2)
            #expect(Array(written[2..<(2 + registers.count)]) == registers)
            #expect(written[1] == 0x7777 && written[2 + registers.count] == 0x7777, "wrote outside the point")
        }
        // One-register types decode the same through the single-register API.
        if wireCase.type.width == 1 {
            #expect(same(p.decode(raw: registers[0]), wireCase.expected))
            #expect(p.encode(wireCase.expected) == registers[0])
        } else if wireCase.roundTrips && !wireCase.expected.isNaN {
            #expect(p.encode(wireCase.expected) == registers[0], "encode(_:) gives the first register on the wire")
        }
    }

    @Test func theSameBytesReadDifferentlyInEachOrder() {
        // 0x41200000 is 10.0f; as cdab the same two registers are 0x00004120, a denormal.
        let registers: [UInt16] = [0x4120, 0x0000]
        #expect(point(.inputRegisters, 0, .float32, order: .abcd).decode(registers, at: 0) == 10)
        #expect(point(.inputRegisters, 0, .float32, order: .cdab).decode(registers, at: 0)
                == Double(Float(bitPattern: 0x0000_4120)))
        #expect(point(.inputRegisters, 0, .uint32, order: .badc).decode(registers, at: 0) == Double(0x2041_0000))
        #expect(point(.inputRegisters, 0, .uint32, order: .dcba).decode(registers, at: 0) == Double(0x0000_2041))
        // A 16-bit value with swapped bytes.
        #expect(point(.inputRegisters, 0, .uint16, order: .badc).decode([0x3412], at: 0) == Double(0x1234))
        #expect(point(.inputRegisters, 0, .uint16, order: .cdab).decode([0x3412], at: 0) == Double(0x3412))
    }

    @Test func scaleAndOffsetApplyToEveryType() {
        let temperature = point(.inputRegisters, 0, .int32, order: .cdab, scale: 0.01, offset: -40)
        let registers = wire(bigEndianBytes(Int32(7_712)), .cdab)
        #expect(abs(temperature.decode(registers, at: 0) - 37.12) < 1e-9)
        var written: [UInt16] = [0, 0]
        temperature.encode(37.12, into: &written, at: 0)
        #expect(written == registers)
        let volume = point(.inputRegisters, 0, .float32, scale: 1000)  // litres on the wire, mL out
        #expect(volume.decode(wire(bigEndianBytes(Float(0.25).bitPattern), .abcd), at: 0) == 250)
    }

    @Test func boolIsABitOrANonzeroRegister() {
        let coil = point(.coils, 0, .bool)
        #expect(coil.decode([0, 1, 0], at: 1) == 1)
        #expect(coil.decode([0, 1, 0], at: 2) == 0)
        let flagRegister = point(.holdingRegisters, 0, .bool, order: .dcba)
        #expect(flagRegister.decode([0x0100], at: 0) == 1)
        #expect(flagRegister.decode([0x0000], at: 0) == 0)
        #expect(flagRegister.decode(raw: 7) == 1)
        var written: [UInt16] = [9]
        flagRegister.encode(0, into: &written, at: 0)
        #expect(written == [0])
        flagRegister.encode(1, into: &written, at: 0)
        #expect(written == [1])
    }

    @Test func badInputNeverTraps() {
        let wide = point(.inputRegisters, 0, .float64)
        #expect(wide.decode([1, 2, 3], at: 0).isNaN, "too few registers")
        #expect(wide.decode([1, 2, 3, 4], at: 1).isNaN)
        #expect(wide.decode([1, 2, 3, 4], at: -1).isNaN)
        #expect(wide.decode([], at: 0).isNaN)
        #expect(wide.decode(raw: 1).isNaN, "a four-register type cannot come from one register")
        var short: [UInt16] = [5, 5]
        wide.encode(1, into: &short, at: 0)
        #expect(short == [5, 5], "a point that does not fit is not written")
        // NaN, infinities and huge values into integers: clamped, never a trap.
        for type in [PointType.int16, .uint16, .int32, .uint32, .int64, .uint64] {
            let p = point(.holdingRegisters, 0, type)
            var registers = [UInt16](repeating: 0, count: 4)
            for value in [Double.nan, .infinity, -.infinity, 1e300, -1e300, 9.3e18, 1.9e19] {
                p.encode(value, into: &registers, at: 0)
                _ = p.encode(value)
                _ = p.rawBits(encoding: value)
            }
        }
        let uint64 = point(.holdingRegisters, 0, .uint64)
        #expect(uint64.rawBits(encoding: 1e30) == UInt64.max)
        #expect(uint64.rawBits(encoding: -5) == 0)
        #expect(point(.holdingRegisters, 0, .int64).rawBits(encoding: 1e30) == UInt64(Int64.max))
        #expect(point(.holdingRegisters, 0, .int64).rawBits(encoding: -1e30) == UInt64(bitPattern: Int64.min))
        #expect(point(.holdingRegisters, 0, .int16).rawBits(encoding: .nan) == 0)
        #expect(point(.holdingRegisters, 0, .int16).rawBits(encoding: -1) == 0xFFFF)
    }

    @Test func nanAndInfinityAreOutOfRange() {
        let spo2 = point(.inputRegisters, 0, .float32, range: 0...100)
        for special in [Float.nan, .infinity, -.infinity, .signalingNaN] {
            let value = spo2.decode(wire(bigEndianBytes(special.bitPattern), .abcd), at: 0)
            #expect(!spo2.isInRange(value))
            #expect(!spo2.validRange.contains(value))
        }
        #expect(spo2.isInRange(97))
        // Even an unbounded range does not let an infinity through isInRange.
        let unbounded = point(.inputRegisters, 0, .float64, range: -Double.infinity...Double.infinity)
        #expect(!unbounded.isInRange(.infinity))
    }

    @Test func bitFieldsReadFromTheRawWord() {
        let low = BitField(name: "low", bit: 0, meaning: .status)
        let high = BitField(name: "high", bit: 15, meaning: .technicalFault)
        let beyond = BitField(name: "beyond", bit: 16, meaning: .status)
        let word = point(.inputRegisters, 0, .uint16)
        let value = word.decode([0x8001], at: 0)
        #expect(word.bit(low, of: value))
        #expect(word.bit(high, of: value))
        #expect(!word.bit(BitField(name: "b1", bit: 1, meaning: .status), of: value))
        #expect(!word.bit(beyond, of: value), "a uint16 has no bit 16")
        // A negative int16 keeps its sign bit.
        let signed = point(.inputRegisters, 0, .int16)
        #expect(signed.bit(high, of: signed.decode([0x8000], at: 0)))
        #expect(!signed.bit(low, of: signed.decode([0x8000], at: 0)))
        // Scaled words are unscaled first.
        let scaled = point(.inputRegisters, 0, .uint16, scale: 0.5)
        #expect(scaled.bit(low, of: scaled.decode([0x0003], at: 0)))
        // 64-bit words: exact through the raw bits even where the Double is not.
        let wide = point(.inputRegisters, 0, .uint64, order: .dcba)
        let registers = wire(bigEndianBytes(UInt64(0x8000_0000_0000_0001)), .dcba)
        let bits = wide.rawBits(registers, at: 0)
        #expect(bits == 0x8000_0000_0000_0001)
        #expect(wide.bit(low, ofRaw: bits!))
        #expect(wide.bit(BitField(name: "top", bit: 63, meaning: .status), ofRaw: bits!))
        #expect(!wide.bit(BitField(name: "b62", bit: 62, meaning: .status), ofRaw: bits!))
    }
}

struct ReadPlanningTests {
    @Test func contiguousRegistersAreReadInOneRequest() {
        let points = [point(.inputRegisters, 2), point(.inputRegisters, 0), point(.inputRegisters, 1)]
        #expect(planReads(points) == [ReadBlock(function: .inputRegisters, start: 0, count: 3)])
    }

    @Test func gapsSplitBlocksUnlessBridged() {
        let points = [point(.holdingRegisters, 0), point(.holdingRegisters, 4)]
        #expect(planReads(points, largestGap: 0) == [
            ReadBlock(function: .holdingRegisters, start: 0, count: 1),
            ReadBlock(function: .holdingRegisters, start: 4, count: 1),
        ])
        #expect(planReads(points, largestGap: 2) == [
            ReadBlock(function: .holdingRegisters, start: 0, count: 1),
            ReadBlock(function: .holdingRegisters, start: 4, count: 1),
        ], "a gap of 3 is not bridged by largestGap 2")
        #expect(planReads(points, largestGap: 3) == [ReadBlock(function: .holdingRegisters, start: 0, count: 5)])
        // The profile's own largestGap is what planReads(profile) uses.
        #expect(planReads(DeviceProfile(name: "x", summary: "", points: points, largestGap: 3))
                == [ReadBlock(function: .holdingRegisters, start: 0, count: 5)])
        #expect(planReads(DeviceProfile(name: "x", summary: "", points: points)).count == 2)
    }

    @Test func gapsAfterMultiRegisterPointsCountFromTheirEnd() {
        // uint32 at 0-1, next point at 3: the gap is one register (2), not two.
        let points = [point(.inputRegisters, 0, .uint32), point(.inputRegisters, 3, .float64)]
        #expect(planReads(points, largestGap: 1) == [ReadBlock(function: .inputRegisters, start: 0, count: 7)])
        #expect(planReads(points, largestGap: 0).count == 2)
    }

    @Test func tablesAreNeverMixedAndLimitsAreKept() {
        var points = (0..<300).map { point(.inputRegisters, $0) }
        points.append(point(.coils, 0))
        let blocks = planReads(points)
        #expect(blocks == [
            ReadBlock(function: .coils, start: 0, count: 1),
            ReadBlock(function: .inputRegisters, start: 0, count: 125),
            ReadBlock(function: .inputRegisters, start: 125, count: 125),
            ReadBlock(function: .inputRegisters, start: 250, count: 50),
        ])
    }

    @Test func bitTablesReadUpTo2000Bits() {
        let bits = (0..<2500).map { point(.discreteInputs, $0, .bool) }
        #expect(planReads(bits) == [
            ReadBlock(function: .discreteInputs, start: 0, count: 2000),
            ReadBlock(function: .discreteInputs, start: 2000, count: 500),
        ])
        // A gap bridged in a bit table still stops at 2000 bits.
        let sparse = [point(.coils, 0, .bool), point(.coils, 1999, .bool), point(.coils, 2000, .bool)]
        #expect(planReads(sparse, largestGap: 5000) == [
            ReadBlock(function: .coils, start: 0, count: 2000),
            ReadBlock(function: .coils, start: 2000, count: 1),
        ])
    }

    @Test func multiRegisterPointsAreNeverSplit() {
        // 62 uint32 fill registers 0-123; a float64 at 124-127 would cross the 125 limit,
        // so it starts the next read whole.
        var points = (0..<62).map { point(.holdingRegisters, $0 * 2, .uint32) }
        points.append(point(.holdingRegisters, 124, .float64))
        let blocks = planReads(points)
        #expect(blocks == [
            ReadBlock(function: .holdingRegisters, start: 0, count: 124),
            ReadBlock(function: .holdingRegisters, start: 124, count: 4),
        ])
        for p in points {
            var holders = 0
            for block in blocks where block.contains(p) { holders += 1 }
            #expect(holders == 1, "\(p.name) is in \(holders) reads")
        }
        // Bridging a gap may not push a wide point over the limit either.
        let bridged = [point(.inputRegisters, 0), point(.inputRegisters, 122, .uint32), point(.inputRegisters, 123, .uint64)]
        for block in planReads(bridged, largestGap: 200) { #expect(block.count <= 125) }
        #expect(planReads(bridged, largestGap: 200) == [
            ReadBlock(function: .inputRegisters, start: 0, count: 124),
            ReadBlock(function: .inputRegisters, start: 123, count: 4),
        ])
    }

    @Test func aPointIsContainedOnlyWhenWhole() {
        let block = ReadBlock(function: .inputRegisters, start: 0, count: 10)
        #expect(block.contains(point(.inputRegisters, 8, .uint32)))
        #expect(!block.contains(point(.inputRegisters, 9, .uint32)))
        #expect(!block.contains(point(.holdingRegisters, 0)))
        #expect(ReadBlock(function: .coils, start: 0, count: 1).contains(point(.coils, 0, .bool)))
    }
}

struct BuiltinProfileTests {
    private func table(_ profile: DeviceProfile) -> [String] {
        profile.points.map { "\($0.address) \($0.name) \($0.type.rawValue) \($0.wordOrder.rawValue) \($0.function.rawValue)" }
    }

    @Test func legacySingleRegisterAPIStillWorks() {
        var etco2 = BuiltinProfiles.patientMonitor.point(named: "etco2")!
        #expect(etco2.decode(raw: 385) == 38.5)
        etco2.type = .int16
        #expect(etco2.decode(raw: 0xFFFF) == -0.1)
        let flag = point(.discreteInputs, 0, .bool)
        #expect(flag.decode(raw: 7) == 1)
        #expect(flag.decode(raw: 0) == 0)
        let original = BuiltinProfiles.patientMonitor.point(named: "etco2")!
        for raw in [UInt16(0), 1, 385, 1500, 65_535] {
            #expect(original.encode(original.decode(raw: raw)) == raw)
        }
        #expect(original.encode(-5) == 0)
        #expect(original.encode(1e9) == 65_535)
    }

    @Test func patientMonitorMap() {
        let monitor = BuiltinProfiles.patientMonitor
        #expect(table(monitor) == [
            "0 spo2 uint16 abcd input-registers",
            "1 pulse_rate uint16 abcd input-registers",
            "2 heart_rate uint16 abcd input-registers",
            "3 nibp_systolic uint16 abcd input-registers",
            "4 nibp_diastolic uint16 abcd input-registers",
            "5 nibp_mean uint16 abcd input-registers",
            "6 respiratory_rate uint16 abcd input-registers",
            "7 etco2 uint16 abcd input-registers",
            "8 nibp_time uint32 cdab input-registers",
            "10 sensor_status uint16 abcd input-registers",
            "11 device_status uint16 abcd input-registers",
        ])
        #expect(monitor.point(named: "spo2")?.mdcCode == 150456)
        #expect(monitor.point(named: "nibp_mean")?.mdcName == "MDC_PRESS_BLD_NONINV_MEAN")
        #expect(monitor.point(named: "respiratory_rate")?.unit == "{breath}/min")
        #expect(monitor.point(named: "nibp_time")?.unit == "s")
        #expect(planReads(monitor) == [ReadBlock(function: .inputRegisters, start: 0, count: 12)])

        let sensor = monitor.point(named: "sensor_status")!
        #expect(sensor.bitFields == [
            BitField(name: "spo2_probe_off", bit: 0, meaning: .sensorOff(points: ["spo2", "pulse_rate"])),
            BitField(name: "ecg_leads_off", bit: 1, meaning: .sensorOff(points: ["heart_rate"])),
            BitField(name: "co2_line_off", bit: 2, meaning: .sensorOff(points: ["etco2", "respiratory_rate"])),
        ])
        #expect(monitor.point(named: "device_status")!.bitFields == [
            BitField(name: "alarm_active", bit: 0, meaning: .deviceAlarm),
            BitField(name: "technical_fault", bit: 1, meaning: .technicalFault),
        ])
        #expect(monitor.bitField(named: "co2_line_off")?.point.name == "sensor_status")

        // nibp_time arrives low register first: 1,764,000,000 = 0x6924_8100 is [0x8100, 0x6924].
        let nibpTime = monitor.point(named: "nibp_time")!
        let registers = wire(bigEndianBytes(UInt32(1_764_000_000)), .cdab)
        #expect(registers == [0x8100, 0x6924])
        #expect(nibpTime.decode(registers, at: 0) == 1_764_000_000)
    }

    @Test func infusionPumpMap() {
        let pump = BuiltinProfiles.infusionPump
        #expect(table(pump) == [
            "0 rate uint16 abcd input-registers",
            "1 dose_rate uint16 abcd input-registers",
            "2 volume_infused float32 abcd input-registers",
            "4 volume_to_be_infused float32 dcba input-registers",
            "8 state uint16 abcd input-registers",
            "9 pump_status uint16 abcd input-registers",
        ])
        #expect(pump.point(named: "rate")?.unit == "mL/h")
        #expect(pump.point(named: "rate")?.mdcName == "MDC_FLOW_FLUID_PUMP")
        #expect(pump.point(named: "dose_rate")?.unit == "mg/kg/h")
        #expect(pump.point(named: "volume_infused")?.mdcName == "MDC_VOL_FLUID_DELIV_TOTAL")
        #expect(pump.point(named: "volume_to_be_infused")?.mdcName == "MDC_VOL_FLUID_TBI_REMAIN")
        for p in pump.points { #expect(p.mdcCode == nil, "\(p.name): pump codes are unverified") }
        #expect(pump.point(named: "state")?.validRange == 0...2)
        #expect(BuiltinProfiles.PumpState.running.rawValue == 1)
        #expect(pump.point(named: "pump_status")!.bitFields == [
            BitField(name: "occlusion", bit: 0, meaning: .technicalFault),
            BitField(name: "air_in_line", bit: 1, meaning: .technicalFault),
            BitField(name: "door_open", bit: 2, meaning: .technicalFault),
            BitField(name: "battery_low", bit: 3, meaning: .status),
        ])
        // One request thanks to largestGap; two without it.
        #expect(pump.largestGap == 2)
        #expect(planReads(pump) == [ReadBlock(function: .inputRegisters, start: 0, count: 10)])
        #expect(planReads(pump.points, largestGap: 0).count == 2)

        let vtbi = pump.point(named: "volume_to_be_infused")!
        let registers = wire(bigEndianBytes(Float(250.5).bitPattern), .dcba)
        #expect(vtbi.decode([0, 0, 0, 0] + registers, at: 4) == 250.5)
    }

    @Test(arguments: BuiltinProfiles.all)
    func builtinProfilesAreConsistent(_ profile: DeviceProfile) {
        // No two points share a register, names are unique, sensor-off names exist, bits fit.
        var names: Set<String> = []
        for (index, p) in profile.points.enumerated() {
            #expect(names.insert(p.name).inserted, "duplicate \(p.name)")
            for field in p.bitFields {
                #expect(names.insert(field.name).inserted, "duplicate \(field.name)")
                #expect(field.bit < p.type.bitCount)
                if case .sensorOff(let targets) = field.meaning {
                    for target in targets { #expect(profile.point(named: target) != nil, "\(target)") }
                }
            }
            for other in profile.points[..<index] where other.function == p.function {
                #expect(p.address >= other.address + other.itemCount || other.address >= p.address + p.itemCount,
                        "\(p.name) overlaps \(other.name)")
            }
            #expect(p.isInRange(p.validRange.lowerBound))
        }
        #expect(BuiltinProfiles.named(profile.name) == profile)
    }
}

extension DeviceProfile: CustomTestStringConvertible {
    public var testDescription: String { name }
}
