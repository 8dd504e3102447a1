import Acquisition
import Config
import RegisterMaps
import Vitals

/// Gathers the records that sampling loops push into whole per-bed messages: a bed is ready
/// once every one of its devices has finished a cycle since the bed was last published, or
/// once its oldest pending sample has waited `patienceNanoseconds` (a device on a slow bus
/// must not hold back the others). Pure logic: time comes in as arguments.
final class BedAssembler {
    struct Bed {
        var id: String
        var deviceIndices: [Int]
        var pending: [Sample] = []
        var devicesDone: [Bool]
        var oldestPendingNanoseconds: Int64?
        var sequence: Int64 = 0
    }

    private(set) var beds: [Bed]
    private let devices: [PlannedDevice]
    private let patienceNanoseconds: Int64

    init(bedIDs: [String], devices: [PlannedDevice], patienceNanoseconds: Int64) {
        self.devices = devices
        self.patienceNanoseconds = patienceNanoseconds
        beds = []
        for (bedIndex, id) in bedIDs.enumerated() {
            let indices = devices.filter { $0.bedIndex == bedIndex }.map { $0.index }
            beds.append(Bed(id: id, deviceIndices: indices, devicesDone: [Bool](repeating: false, count: indices.count)))
        }
    }

    /// Takes one record; returns a device state change for the caller to report, if any.
    func consume(_ record: SampleRecord, now: Int64) -> DeviceStateChange? {
        let deviceIndex = Int(record.deviceIndex)
        guard deviceIndex < devices.count else { return nil }
        let device = devices[deviceIndex]
        switch record.kind {
        case .sample:
            guard Int(record.pointIndex) < device.profile.points.count else { return nil }
            let point = device.profile.points[Int(record.pointIndex)]
            let value: Double? = record.quality == .commLoss ? nil : record.value
            beds[device.bedIndex].pending.append(
                Sample(point: point, deviceID: device.config.id, value: value, quality: record.quality.quality,
                       wallClockMilliseconds: record.wallClockMilliseconds,
                       monotonicNanoseconds: record.monotonicNanoseconds))
            if beds[device.bedIndex].oldestPendingNanoseconds == nil {
                beds[device.bedIndex].oldestPendingNanoseconds = now
            }
        case .endOfDeviceCycle:
            if let slot = beds[device.bedIndex].deviceIndices.firstIndex(of: deviceIndex) {
                beds[device.bedIndex].devicesDone[slot] = true
            }
        case .deviceAnswering:
            return DeviceStateChange(device: device, answering: true, failure: .none, exceptionCode: 0)
        case .deviceSilent:
            return DeviceStateChange(device: device, answering: false, failure: record.failure,
                                     exceptionCode: record.exceptionCode)
        }
        return nil
    }

    /// Beds whose message is complete (or has waited long enough), in bed order.
    func readyBeds(now: Int64) -> [Int] {
        var ready: [Int] = []
        for (index, bed) in beds.enumerated() where !bed.pending.isEmpty {
            let complete = bed.devicesDone.allSatisfy { $0 }
            let waitedTooLong = bed.oldestPendingNanoseconds.map { now - $0 >= patienceNanoseconds } ?? false
            if complete || waitedTooLong { ready.append(index) }
        }
        return ready
    }

    /// Makes the bed's next message carry `sequence + 1`: sequence numbers continue across
    /// restarts, so a subscriber never mistakes a restart for a gap or a duplicate.
    func continueSequence(bed index: Int, after sequence: Int64) {
        beds[index].sequence = max(beds[index].sequence, sequence)
    }

    /// Hands over a ready bed's samples with its next sequence number, and starts it afresh.
    func takeMessage(bed index: Int) -> (sequence: Int64, samples: [Sample]) {
        beds[index].sequence += 1
        let samples = beds[index].pending
        beds[index].pending.removeAll(keepingCapacity: true)
        beds[index].oldestPendingNanoseconds = nil
        for slot in beds[index].devicesDone.indices { beds[index].devicesDone[slot] = false }
        return (beds[index].sequence, samples)
    }
}

struct DeviceStateChange {
    var device: PlannedDevice
    var answering: Bool
    var failure: FailureCode
    var exceptionCode: UInt8
}
