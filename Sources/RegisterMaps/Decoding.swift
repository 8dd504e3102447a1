extension Point {
    /// The scaled value of a raw 16-bit register (or bit, as 0/1).
    public func decode(raw: UInt16) -> Double {
        let integer: Int
        switch type {
        case .bool: integer = raw == 0 ? 0 : 1
        case .uint16: integer = Int(raw)
        case .int16: integer = Int(Int16(bitPattern: raw))
        }
        return Double(integer) * scale + offset
    }

    /// The raw register that decodes to `value` (rounded, clamped to the type's range):
    /// what a device, or the simulator, puts on the wire.
    public func encode(_ value: Double) -> UInt16 {
        let unscaled = ((value - offset) / scale).rounded(.toNearestOrAwayFromZero)
        switch type {
        case .bool:
            return unscaled == 0 ? 0 : 1
        case .uint16:
            return UInt16(min(max(unscaled, 0), 65_535))
        case .int16:
            return UInt16(bitPattern: Int16(min(max(unscaled, -32_768), 32_767)))
        }
    }
}

/// One Modbus read request covering a run of points in the same table.
public struct ReadBlock: Equatable, Sendable {
    public var function: ModbusFunction
    public var start: Int
    public var count: Int

    public init(function: ModbusFunction, start: Int, count: Int) {
        self.function = function
        self.start = start
        self.count = count
    }

    public func contains(_ point: Point) -> Bool {
        point.function == function && point.address >= start && point.address + point.type.width <= start + count
    }
}

/// Groups points into as few reads as Modbus allows: points in the same table are merged
/// while the hole between them is at most `largestGap` items and the read stays within the
/// protocol's limit (125 registers, 2000 bits).
public func planReads(_ points: [Point], largestGap: Int = 0) -> [ReadBlock] {
    var blocks: [ReadBlock] = []
    for function in ModbusFunction.allCases {
        var inTable = points.filter { $0.function == function }
        inTable.sort { $0.address < $1.address }
        var current: ReadBlock?
        for point in inTable {
            let end = point.address + point.type.width
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
