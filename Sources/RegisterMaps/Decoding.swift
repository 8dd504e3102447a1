// Raw registers <-> values. Everything on the read side runs in the real-time sampling loop:
// no allocation, no strings, no closures, no traps whatever the device sends.

/// How a point's registers become a value, as plain data: no strings or arrays, so the
/// sampling loop copies it without touching a reference count (a whole `Point` carries its
/// names and bit fields, and copying one can even allocate in an unoptimised build).
public struct ValueLayout: Equatable, BitwiseCopyable, Sendable {
    public var function: ModbusFunction
    public var type: PointType
    public var wordOrder: WordOrder
    public var scale: Double
    public var offset: Double
    public var lowestValid: Double
    public var highestValid: Double

    public init(function: ModbusFunction, type: PointType, wordOrder: WordOrder, scale: Double, offset: Double,
                lowestValid: Double, highestValid: Double) {
        self.function = function
        self.type = type
        self.wordOrder = wordOrder
        self.scale = scale
        self.offset = offset
        self.lowestValid = lowestValid
        self.highestValid = highestValid
    }

    /// Items the point occupies in its table: the type's width in registers, or one bit in a
    /// coil or discrete-input table.
    public var itemCount: Int { function.isBitTable ? 1 : type.width }

    /// True when `value` is a number inside the valid range (false for NaN and infinities).
    public func isInRange(_ value: Double) -> Bool {
        value.isFinite && value >= lowestValid && value <= highestValid
    }

    /// The raw value in `registers[index...]` as an unsigned bit pattern, assembled per
    /// `wordOrder` (the low `type.bitCount` bits are the value). For a bool, or any point in a
    /// bit table, it is 1 if the item is nonzero, else 0. nil when the point does not fit in
    /// `registers` from `index`. Does not allocate.
    public func rawBits(_ registers: [UInt16], at index: Int) -> UInt64? {
        let count = itemCount
        guard index >= 0, index <= registers.count - count else { return nil }
        if type == .bool || function.isBitTable { return registers[index] == 0 ? 0 : 1 }
        let reversed = wordOrder.reversesRegisters
        let swapped = wordOrder.swapsBytes
        var bits: UInt64 = 0
        var significance = 0  // 0 = the most significant register
        while significance < count {
            var word = registers[index + (reversed ? count - 1 - significance : significance)]
            if swapped { word = word.byteSwapped }
            bits = bits << 16 | UInt64(word)
            significance += 1
        }
        return bits
    }

    /// The scaled value of the point's `type.width` registers starting at `registers[index]`
    /// (the first register of the point, in wire order). Does not allocate.
    ///
    /// Never traps: a float register holding NaN or an infinity, or a point that does not fit in
    /// `registers`, yields NaN or an infinity, which `isInRange` (and `validRange.contains`)
    /// reject, so the caller flags the sample out-of-range. int64 and uint64 values beyond
    /// ±2^53 (9,007,199,254,740,992) are rounded to the nearest Double.
    public func decode(_ registers: [UInt16], at index: Int) -> Double {
        guard let bits = rawBits(registers, at: index) else { return .nan }
        return value(ofRawBits: bits)
    }

    /// raw * scale + offset, the raw value being the low `type.bitCount` bits read as `type`.
    public func value(ofRawBits bits: UInt64) -> Double {
        let raw: Double
        switch type {
        case .bool: raw = bits & 1 == 0 ? 0 : 1
        case .int16: raw = Double(Int16(truncatingIfNeeded: bits))
        case .uint16: raw = Double(UInt16(truncatingIfNeeded: bits))
        case .int32: raw = Double(Int32(truncatingIfNeeded: bits))
        case .uint32: raw = Double(UInt32(truncatingIfNeeded: bits))
        case .float32: raw = Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
        case .int64: raw = Double(Int64(bitPattern: bits))
        case .uint64: raw = Double(bits)
        case .float64: raw = Double(bitPattern: bits)
        }
        return raw * scale + offset
    }

    /// Whether bit `bit` is set in a raw bit pattern from `rawBits(_:at:)`; bits at or beyond
    /// the type's `bitCount` are never set.
    public func bit(_ bit: Int, ofRaw bits: UInt64) -> Bool {
        guard bit >= 0, bit < type.bitCount else { return false }
        return (bits >> UInt64(bit)) & 1 == 1
    }
}

extension Point {
    public var layout: ValueLayout {
        ValueLayout(function: function, type: type, wordOrder: wordOrder, scale: scale, offset: offset,
                    lowestValid: validRange.lowerBound, highestValid: validRange.upperBound)
    }

    public func rawBits(_ registers: [UInt16], at index: Int) -> UInt64? { layout.rawBits(registers, at: index) }

    public func decode(_ registers: [UInt16], at index: Int) -> Double { layout.decode(registers, at: index) }

    public func value(ofRawBits bits: UInt64) -> Double { layout.value(ofRawBits: bits) }

    /// The scaled value of a raw 16-bit register (or bit, as 0/1), for one-register types
    /// (bool, int16, uint16; bytes swapped for badc and dcba). Wider types need all their
    /// registers: use `decode(_:at:)`; here they yield NaN.
    public func decode(raw: UInt16) -> Double {
        if type == .bool || function.isBitTable { return value(ofRawBits: raw == 0 ? 0 : 1) }
        guard type.width == 1 else { return .nan }
        return value(ofRawBits: UInt64(wordOrder.swapsBytes ? raw.byteSwapped : raw))
    }

    /// The raw bit pattern that decodes to `value`: unscaled, rounded to the nearest integer
    /// (ties away from zero) and clamped to the type's range for integer types; NaN becomes 0
    /// for integer types and stays NaN for float types.
    public func rawBits(encoding value: Double) -> UInt64 {
        let unscaled = (value - offset) / scale
        let bits: UInt64
        switch type {
        case .bool:
            bits = unscaled.isNaN || unscaled.rounded(.toNearestOrAwayFromZero) == 0 ? 0 : 1
        case .int16:
            bits = UInt64(bitPattern: clampedInteger(unscaled, Int64(Int16.min), Int64(Int16.max)))
        case .uint16:
            bits = UInt64(bitPattern: clampedInteger(unscaled, 0, Int64(UInt16.max)))
        case .int32:
            bits = UInt64(bitPattern: clampedInteger(unscaled, Int64(Int32.min), Int64(Int32.max)))
        case .uint32:
            bits = UInt64(bitPattern: clampedInteger(unscaled, 0, Int64(UInt32.max)))
        case .int64:
            bits = UInt64(bitPattern: clampedInteger(unscaled, Int64.min, Int64.max))
        case .uint64:
            let rounded = unscaled.rounded(.toNearestOrAwayFromZero)
            if rounded.isNaN || rounded <= 0 {
                bits = 0
            } else if rounded >= 18_446_744_073_709_551_616.0 {
                bits = UInt64.max
            } else {
                bits = UInt64(rounded)
            }
        case .float32:
            bits = UInt64(Float(unscaled).bitPattern)
        case .float64:
            bits = unscaled.bitPattern
        }
        let valueBits = type.bitCount
        return valueBits >= 64 ? bits : bits & ((1 << UInt64(valueBits)) - 1)
    }

    /// Writes the registers that decode to `value` into `registers[index..<index + itemCount]`,
    /// in the point's word order: what a device, or the simulator, puts on the wire. A point that
    /// does not fit in `registers` from `index` writes nothing.
    public func encode(_ value: Double, into registers: inout [UInt16], at index: Int) {
        let count = itemCount
        guard index >= 0, index <= registers.count - count else { return }
        let bits = rawBits(encoding: value)
        if type == .bool || function.isBitTable {
            registers[index] = bits == 0 ? 0 : 1
            return
        }
        let reversed = wordOrder.reversesRegisters
        let swapped = wordOrder.swapsBytes
        var significance = 0
        while significance < count {
            var word = UInt16(truncatingIfNeeded: bits >> UInt64(16 * (count - 1 - significance)))
            if swapped { word = word.byteSwapped }
            registers[index + (reversed ? count - 1 - significance : significance)] = word
            significance += 1
        }
    }

    /// The raw register that decodes to `value` (rounded, clamped to the type's range), for
    /// one-register types. For wider types it is the first register `encode(_:into:at:)` writes.
    public func encode(_ value: Double) -> UInt16 {
        if type == .bool || function.isBitTable { return rawBits(encoding: value) == 0 ? 0 : 1 }
        var bits = rawBits(encoding: value)
        // The first register on the wire holds the most significant word, or with reversed
        // registers the least significant one.
        if !wordOrder.reversesRegisters { bits >>= UInt64(16 * (type.width - 1)) }
        let first = UInt16(truncatingIfNeeded: bits)
        return wordOrder.swapsBytes ? first.byteSwapped : first
    }

    /// Whether `field`'s bit is set in a raw bit pattern from `rawBits(_:at:)`. Exact for every
    /// width; bits at or beyond the type's `bitCount` are never set.
    public func bit(_ field: BitField, ofRaw bits: UInt64) -> Bool {
        layout.bit(field.bit, ofRaw: bits)
    }

    /// Whether `field`'s bit is set in a decoded value (the value is turned back into its raw
    /// pattern first, so scale and offset are honoured and negative int16 words keep their high
    /// bits). Exact for types up to 32 bits; for 64-bit words whose value is beyond 2^53 the
    /// Double has lost low bits, so use `bit(_:ofRaw:)` with `rawBits(_:at:)` for those.
    public func bit(_ field: BitField, of value: Double) -> Bool {
        bit(field, ofRaw: rawBits(encoding: value))
    }
}

/// `value` rounded (ties away from zero) and clamped to low...high; NaN becomes 0 (or the
/// nearest bound). Never traps, including at the Int64 limits that Doubles cannot represent.
func clampedInteger(_ value: Double, _ low: Int64, _ high: Int64) -> Int64 {
    let rounded = value.rounded(.toNearestOrAwayFromZero)
    if rounded.isNaN { return min(max(0, low), high) }
    if rounded <= Double(low) { return low }
    // Double(Int64.max) rounds up to 2^63, so `>=` also catches everything Int64 cannot hold.
    if rounded >= Double(high) { return high }
    return Int64(rounded)
}

/// One Modbus read request covering a run of points in the same table.
public struct ReadBlock: Equatable, Sendable, BitwiseCopyable {
    public var function: ModbusFunction
    public var start: Int
    public var count: Int

    public init(function: ModbusFunction, start: Int, count: Int) {
        self.function = function
        self.start = start
        self.count = count
    }

    /// Whether the whole point lies inside this read.
    public func contains(_ point: Point) -> Bool {
        point.function == function && point.address >= start && point.address + point.itemCount <= start + count
    }
}

/// Plans the reads for a profile, bridging gaps up to its `largestGap`.
public func planReads(_ profile: DeviceProfile) -> [ReadBlock] {
    planReads(profile.points, largestGap: profile.largestGap)
}

/// Groups points into as few reads as Modbus allows: points in the same table are merged
/// while the hole between them is at most `largestGap` items and the read stays within the
/// protocol's limit (125 registers, 2000 bits). A multi-register point is never split across
/// two reads: a point that would push a read past the limit starts the next read.
/// Runs when a device is set up, not in the sampling loop.
public func planReads(_ points: [Point], largestGap: Int = 0) -> [ReadBlock] {
    var blocks: [ReadBlock] = []
    for function in ModbusFunction.allCases {
        var inTable: [Point] = []
        for point in points where point.function == function { inTable.append(point) }
        inTable.sort { $0.address < $1.address }
        var current: ReadBlock?
        for point in inTable {
            let end = point.address + point.itemCount
            if var block = current {
                let blockEnd = block.start + block.count
                let gap = point.address - blockEnd
                let mergedEnd = max(blockEnd, end)
                if gap <= largestGap && mergedEnd - block.start <= function.maximumItemsPerRead {
                    block.count = mergedEnd - block.start
                    current = block
                    continue
                }
                blocks.append(block)
            }
            current = ReadBlock(function: function, start: point.address, count: end - point.address)
        }
        if let block = current { blocks.append(block) }
    }
    return blocks
}
