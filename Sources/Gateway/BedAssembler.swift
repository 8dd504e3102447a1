import Acquisition
import Config
import RegisterMaps
import Vitals

/// Gathers the records that sampling loops push into whole per-bed messages: a bed is ready
/// once every one of its devices has finished a cycle since the bed was last published, or
/// once its oldest pending sample has waited `patienceNanoseconds` (a device on a slow bus
/// must not hold back the others). A message holds at most one cycle of each device: a device
/// that starts its next cycle before the bed went out sends the bed first (`bedToSendBefore`).
/// Pure logic: time comes in as arguments.
final class BedAssembler {
    struct Bed {
        var id: String
        var deviceIndices: [Int]
        /// Values in arrival order, each naming its entry in the bed's description.
        var pending: [VitalValue] = []
        var devicesDone: [Bool]
        var oldestPendingNanoseconds: Int64?
        var sequence: Int64 = 0
    }

    private(set) var beds: [Bed]
    private let devices: [PlannedDevice]
    /// Per device: the description entry of its first point (its points follow in profile order).
    private let firstEntry: [Int]
    /// Per device, read for every record: its bed, its place among the bed's devices and its
    /// number of points, so that a record does not copy the device's settings and profile.
    private let bedOfDevice: [Int]
    private let slotOfDevice: [Int]
    private let pointCount: [Int]
    private let patienceNanoseconds: Int64

    init(bedIDs: [String], devices: [PlannedDevice], patienceNanoseconds: Int64) {
        self.devices = devices
        self.patienceNanoseconds = patienceNanoseconds
        beds = []
        var firstEntry = [Int](repeating: 0, count: devices.count)
        var slotOfDevice = [Int](repeating: 0, count: devices.count)
        for (bedIndex, id) in bedIDs.enumerated() {
            let indices = devices.filter { $0.bedIndex == bedIndex }.map { $0.index }
            beds.append(Bed(id: id, deviceIndices: indices, devicesDone: [Bool](repeating: false, count: indices.count)))
            var entry = 0
            for (slot, index) in indices.enumerated() {
                firstEntry[index] = entry
                slotOfDevice[index] = slot
                entry += devices[index].profile.points.count
            }
        }
        self.firstEntry = firstEntry
        self.slotOfDevice = slotOfDevice
        bedOfDevice = devices.map { $0.bedIndex }
        pointCount = devices.map { $0.profile.points.count }
    }

    /// Each bed's description: its devices in configuration order, with their points in the
    /// order the entries of `pending` count them.
    func description(bed index: Int) -> BedDescription {
        BedDescription(bedID: beds[index].id,
                       devices: beds[index].deviceIndices.map { (devices[$0].config.id, devices[$0].profile.points) })
    }

    /// The bed that must be sent before `record` is taken: its device already finished a
    /// cycle in the bed's pending message, and two cycles of one device in one message would
    /// share one read time.
    func bedToSendBefore(_ record: SampleRecord) -> Int? {
        let deviceIndex = Int(record.deviceIndex)
        guard record.kind == .sample, deviceIndex < devices.count else { return nil }
        let bed = bedOfDevice[deviceIndex]
        guard !beds[bed].pending.isEmpty, beds[bed].devicesDone[slotOfDevice[deviceIndex]] else { return nil }
        return bed
    }

    /// Takes one record; returns a device state change for the caller to report, if any.
    func consume(_ record: SampleRecord, now: Int64) -> DeviceStateChange? {
        let deviceIndex = Int(record.deviceIndex)
        guard deviceIndex < devices.count else { return nil }
        let bed = bedOfDevice[deviceIndex]
        switch record.kind {
        case .sample:
            guard Int(record.pointIndex) < pointCount[deviceIndex] else { return nil }
            let value: Double? = record.quality == .commLoss ? nil : record.value
            beds[bed].pending.append(
                VitalValue(entry: firstEntry[deviceIndex] + Int(record.pointIndex), value: value,
                           quality: record.quality.quality, wallClockMilliseconds: record.wallClockMilliseconds))
            if beds[bed].oldestPendingNanoseconds == nil {
                beds[bed].oldestPendingNanoseconds = now
            }
        case .endOfDeviceCycle:
            beds[bed].devicesDone[slotOfDevice[deviceIndex]] = true
        case .deviceAnswering:
            return DeviceStateChange(device: devices[deviceIndex], answering: true, failure: .none, exceptionCode: 0)
        case .deviceSilent:
            return DeviceStateChange(device: devices[deviceIndex], answering: false, failure: record.failure,
                                     exceptionCode: record.exceptionCode)
        }
        return nil
    }

    /// Whether the bed's message is complete (or has waited long enough). The publisher asks
    /// this of every bed at every step, and steps come once per device: the bed's fields are
    /// read in place, not copied out with their arrays (a retain and release of each).
    func isReady(bed index: Int, now: Int64) -> Bool {
        guard !beds[index].pending.isEmpty else { return false }
        if let oldest = beds[index].oldestPendingNanoseconds, now - oldest >= patienceNanoseconds { return true }
        var slot = 0
        while slot < beds[index].devicesDone.count {
            if !beds[index].devicesDone[slot] { return false }
            slot += 1
        }
        return true
    }

    /// Beds whose message is complete (or has waited long enough), in bed order.
    func readyBeds(now: Int64) -> [Int] { beds.indices.filter { isReady(bed: $0, now: now) } }

    /// Makes the bed's next message carry `sequence + 1`: sequence numbers continue across
    /// restarts, so a subscriber never mistakes a restart for a gap or a duplicate.
    func continueSequence(bed index: Int, after sequence: Int64) {
        beds[index].sequence = max(beds[index].sequence, sequence)
    }

    /// Lets `body` encode a ready bed's values under its next sequence number, then starts
    /// the bed afresh, keeping the pending array's storage (no allocation per message).
    func takeMessage<Result>(bed index: Int, _ body: (_ sequence: Int64, _ values: [VitalValue]) -> Result) -> Result {
        beds[index].sequence += 1
        let result = body(beds[index].sequence, beds[index].pending)
        beds[index].pending.removeAll(keepingCapacity: true)
        beds[index].oldestPendingNanoseconds = nil
        for slot in beds[index].devicesDone.indices { beds[index].devicesDone[slot] = false }
        return result
    }
}

struct DeviceStateChange {
    var device: PlannedDevice
    var answering: Bool
    var failure: FailureCode
    var exceptionCode: UInt8
}
