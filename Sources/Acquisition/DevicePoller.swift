import Modbus
import Platform
import RegisterMaps

/// Reads one device's due points each cycle and pushes them as sample records. Everything
/// `poll` touches (read blocks, register buffer, value layouts, sensor-off rules) is built
/// once here out of plain data, so a cycle allocates nothing and retains nothing. A device
/// that fails is retried with capped exponential backoff; meanwhile its points are pushed as
/// comm-loss every cycle.
final class DevicePoller {
    /// Reads that share one poll interval.
    struct PollGroup {
        var everyCycles: UInt64
        var firstBlock: Int
        var blockCount: Int
    }

    /// Where a point sits in a read: its index in the profile, its offset in the block's registers.
    struct PlacedPoint: BitwiseCopyable {
        var pointIndex: Int
        var offset: Int
    }

    /// A sensor-off bit and one point it silences.
    struct SensorOffRule: BitwiseCopyable {
        var statusPoint: Int
        var bit: Int
        var silencedPoint: Int
    }

    let device: PlannedDevice
    let statistics = DeviceStatistics()
    private let unitID: Int
    // Everything below is read or written every cycle: fixed storage, indexed loops only.
    private let layouts: FixedArray<ValueLayout>
    private let groups: FixedArray<PollGroup>
    private let blocks: FixedArray<ReadBlock>
    /// For block i: placed[blockPointStart[i] ..< blockPointStart[i + 1]].
    private let blockPointStart: FixedArray<Int>
    private let placed: FixedArray<PlacedPoint>
    private let sensorOffRules: FixedArray<SensorOffRule>
    private var registers: [UInt16]
    /// Per point, for this cycle: read now, its value, its raw bits (status words keep theirs).
    private let fresh: FixedArray<Bool>
    private let values: FixedArray<Double>
    private let rawBits: FixedArray<UInt64>
    private let silenced: FixedArray<Bool>
    private(set) var answering = true
    private var announced = false
    private var retryAtNanoseconds: Int64 = 0
    private var backoffMilliseconds = 0
    /// The Modbus exception code of the last `.exception` failure.
    private var lastExceptionCode: UInt8 = 0
    static let firstBackoffMilliseconds = 1000
    static let maximumBackoffMilliseconds = 30_000

    init(device: PlannedDevice, cycleMilliseconds: Int) {
        self.device = device
        unitID = device.config.unitID
        let points = device.profile.points
        var rules: [SensorOffRule] = []
        for (statusIndex, point) in points.enumerated() {
            for field in point.bitFields {
                guard case let .sensorOff(names) = field.meaning else { continue }
                for name in names {
                    if let silenced = points.firstIndex(where: { $0.name == name }) {
                        rules.append(SensorOffRule(statusPoint: statusIndex, bit: field.bit, silencedPoint: silenced))
                    }
                }
            }
        }
        var intervals: [Int] = []
        for point in points {
            let interval = point.pollIntervalMilliseconds ?? cycleMilliseconds
            if !intervals.contains(interval) { intervals.append(interval) }
        }
        var largestBlock = 1
        var groups: [PollGroup] = []
        var blocks: [ReadBlock] = []
        var blockPointStart: [Int] = []
        var placed: [PlacedPoint] = []
        for interval in intervals.sorted() {
            let due = points.filter { ($0.pollIntervalMilliseconds ?? cycleMilliseconds) == interval }
            let planned = planReads(due, largestGap: device.profile.largestGap)
            groups.append(PollGroup(everyCycles: UInt64(max(1, (interval + cycleMilliseconds - 1) / cycleMilliseconds)),
                                    firstBlock: blocks.count, blockCount: planned.count))
            for block in planned {
                largestBlock = max(largestBlock, block.count)
                blockPointStart.append(placed.count)
                for (index, point) in points.enumerated() where block.contains(point)
                    && (point.pollIntervalMilliseconds ?? cycleMilliseconds) == interval {
                    placed.append(PlacedPoint(pointIndex: index, offset: point.address - block.start))
                }
                blocks.append(block)
            }
        }
        blockPointStart.append(placed.count)
        let firstLayout = points.first?.layout ?? ValueLayout(function: .holdingRegisters, type: .uint16, wordOrder: .abcd,
                                                              scale: 1, offset: 0, lowestValid: 0, highestValid: 0)
        layouts = FixedArray(points.map { $0.layout }, filler: firstLayout)
        sensorOffRules = FixedArray(rules, filler: SensorOffRule(statusPoint: 0, bit: 0, silencedPoint: 0))
        self.groups = FixedArray(groups, filler: PollGroup(everyCycles: 1, firstBlock: 0, blockCount: 0))
        self.blocks = FixedArray(blocks, filler: ReadBlock(function: .holdingRegisters, start: 0, count: 0))
        self.blockPointStart = FixedArray(blockPointStart, filler: 0)
        self.placed = FixedArray(placed, filler: PlacedPoint(pointIndex: 0, offset: 0))
        registers = [UInt16](repeating: 0, count: largestBlock)
        fresh = FixedArray(repeating: false, count: points.count)
        values = FixedArray(repeating: .nan, count: points.count)
        rawBits = FixedArray(repeating: 0, count: points.count)
        silenced = FixedArray(repeating: false, count: points.count)
    }

    /// Read requests a full cycle makes when every group is due.
    var requestsPerFullCycle: Int { blocks.count }

    /// Polls the device if it is due (or its retry time has come) and pushes its records.
    /// Returns how the exchange ended (`.none` also when the device was not asked).
    @discardableResult
    func poll(cycle: UInt64, client: ModbusClient, ring: SPSCRing<SampleRecord>) -> FailureCode {
        let now = MonotonicInstant.now().nanoseconds
        if !answering && now < retryAtNanoseconds {
            pushCommLoss(cycle: cycle, ring: ring, monotonic: now)
            return .none
        }
        fresh.fill(false)
        var failure = FailureCode.none
        var sampledAt = now
        var wall = wallClockMilliseconds()
        var groupIndex = 0
        reading: while groupIndex < groups.count {
            let group = groups[groupIndex]
            groupIndex += 1
            guard cycle % group.everyCycles == 0 || !answering else { continue }
            var blockIndex = group.firstBlock
            while blockIndex < group.firstBlock + group.blockCount {
                let started = MonotonicInstant.now().nanoseconds
                failure = read(blocks[blockIndex], client: client)
                sampledAt = MonotonicInstant.now().nanoseconds
                statistics.recordRequest(nanoseconds: sampledAt - started, failure: failure)
                if failure != .none { break reading }
                wall = wallClockMilliseconds()
                var slot = blockPointStart[blockIndex]
                while slot < blockPointStart[blockIndex + 1] {
                    let entry = placed[slot]
                    let layout = layouts[entry.pointIndex]
                    let bits = layout.rawBits(registers, at: entry.offset) ?? 0
                    rawBits[entry.pointIndex] = bits
                    values[entry.pointIndex] = layout.value(ofRawBits: bits)
                    fresh[entry.pointIndex] = true
                    slot += 1
                }
                blockIndex += 1
            }
        }
        if failure != .none {
            markSilent(cycle: cycle, failure: failure, ring: ring)
            return failure
        }
        if !answering || !announced {
            ring.push(SampleRecord(kind: .deviceAnswering, deviceIndex: device.index, cycle: cycle))
        }
        answering = true
        announced = true
        backoffMilliseconds = 0
        silenced.fill(false)
        var ruleIndex = 0
        while ruleIndex < sensorOffRules.count {
            let rule = sensorOffRules[ruleIndex]
            if layouts[rule.statusPoint].bit(rule.bit, ofRaw: rawBits[rule.statusPoint]) { silenced[rule.silencedPoint] = true }
            ruleIndex += 1
        }
        var index = 0
        while index < fresh.count {
            if fresh[index] {
                let value = values[index]
                let quality: QualityCode = silenced[index] ? .sensorOff : (layouts[index].isInRange(value) ? .ok : .outOfRange)
                ring.push(SampleRecord(kind: .sample, quality: quality, deviceIndex: device.index, pointIndex: index,
                                       value: value, wallClockMilliseconds: wall, monotonicNanoseconds: sampledAt,
                                       cycle: cycle))
            }
            index += 1
        }
        ring.push(SampleRecord(kind: .endOfDeviceCycle, deviceIndex: device.index, cycle: cycle))
        return .none
    }

    /// The whole bus is unreachable (its connection could not be made): this device is too.
    /// `attemptFailed`: a connection was tried this cycle (not just waited for) and failed.
    func busUnreachable(cycle: UInt64, ring: SPSCRing<SampleRecord>, attemptFailed: Bool) {
        if attemptFailed { statistics.recordConnectionFailure() }
        let now = MonotonicInstant.now().nanoseconds
        if answering || !announced {
            markSilent(cycle: cycle, failure: .connection, ring: ring)
        } else {
            pushCommLoss(cycle: cycle, ring: ring, monotonic: now)
        }
    }

    private func markSilent(cycle: UInt64, failure: FailureCode, ring: SPSCRing<SampleRecord>) {
        if answering || !announced {
            ring.push(SampleRecord(kind: .deviceSilent, failure: failure,
                                   exceptionCode: failure == .exception ? lastExceptionCode : 0,
                                   deviceIndex: device.index, cycle: cycle))
        }
        answering = false
        announced = true
        backoffMilliseconds = min(max(backoffMilliseconds * 2, DevicePoller.firstBackoffMilliseconds),
                                  DevicePoller.maximumBackoffMilliseconds)
        let now = MonotonicInstant.now().nanoseconds
        retryAtNanoseconds = now + Int64(backoffMilliseconds) * 1_000_000
        pushCommLoss(cycle: cycle, ring: ring, monotonic: now)
    }

    private func read(_ block: ReadBlock, client: ModbusClient) -> FailureCode {
        do throws(ModbusError) {
            if !client.isConnected { try client.connect() }
            try client.read(block, unit: unitID, into: &registers)
            return .none
        } catch {
            if case let .exception(code) = error.kind { lastExceptionCode = UInt8(truncatingIfNeeded: code) }
            return FailureCode(error.kind)
        }
    }

    private func pushCommLoss(cycle: UInt64, ring: SPSCRing<SampleRecord>, monotonic: Int64) {
        let wall = wallClockMilliseconds()
        var index = 0
        while index < layouts.count {
            ring.push(SampleRecord(kind: .sample, quality: .commLoss, deviceIndex: device.index, pointIndex: index,
                                   value: .nan, wallClockMilliseconds: wall, monotonicNanoseconds: monotonic, cycle: cycle))
            index += 1
        }
        ring.push(SampleRecord(kind: .endOfDeviceCycle, deviceIndex: device.index, cycle: cycle))
    }
}

extension FailureCode {
    init(_ kind: ModbusFailureKind) {
        switch kind {
        case .timeout: self = .timeout
        case .exception: self = .exception
        case .malformedReply: self = .malformedReply
        case .connection: self = .connection
        case .other: self = .other
        }
    }
}
