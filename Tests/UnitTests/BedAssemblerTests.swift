import Acquisition
import RegisterMaps
import Testing
import Vitals
@testable import Gateway

/// How records from several sampling loops become one message per bed per cycle.
struct BedAssemblerTests {
    let monitor = BuiltinProfiles.patientMonitor
    let pump = BuiltinProfiles.infusionPump

    func device(_ index: Int, bed: Int, profile: DeviceProfile) -> PlannedDevice {
        let config = DeviceSettings(id: "device-\(index)", profile: profile.name, endpoint: .tcp(host: "h", port: 502 + index),
                                  unitID: 1, responseTimeoutMilliseconds: 100)
        return PlannedDevice(index: index, bedIndex: bed, config: config, profile: profile)
    }

    func assembler() -> BedAssembler {
        BedAssembler(bedIDs: ["chair-1", "chair-2"],
                     devices: [device(0, bed: 0, profile: monitor), device(1, bed: 0, profile: pump),
                               device(2, bed: 1, profile: monitor)],
                     patienceNanoseconds: 1_500_000_000)
    }

    func sample(_ device: Int, _ point: Int, _ value: Double, quality: QualityCode = .ok) -> SampleRecord {
        SampleRecord(kind: .sample, quality: quality, deviceIndex: device, pointIndex: point, value: value,
                     wallClockMilliseconds: 1000, monotonicNanoseconds: 5, cycle: 1)
    }

    func end(_ device: Int) -> SampleRecord { SampleRecord(kind: .endOfDeviceCycle, deviceIndex: device, cycle: 1) }

    func take(_ beds: BedAssembler, bed: Int) -> (sequence: Int64, values: [VitalValue]) {
        beds.takeMessage(bed: bed) { ($0, $1) }
    }

    @Test func aBedIsReadyOnlyWhenEveryOneOfItsDevicesFinishedItsCycle() {
        let beds = assembler()
        _ = beds.consume(sample(0, 0, 97), now: 0)
        _ = beds.consume(end(0), now: 0)
        #expect(beds.readyBeds(now: 1).isEmpty, "the pump of chair-1 has not reported yet")
        _ = beds.consume(sample(1, 0, 12.5), now: 2)
        _ = beds.consume(end(1), now: 2)
        #expect(beds.readyBeds(now: 3) == [0])
        let message = take(beds, bed: 0)
        #expect(message.sequence == 1)
        let description = beds.description(bed: 0)
        #expect(message.values.map { description.entries[$0.entry].name } == ["spo2", "rate"])
        #expect(message.values.map { description.entries[$0.entry].device } == ["device-0", "device-1"])
        #expect(beds.readyBeds(now: 4).isEmpty)
    }

    @Test func aLaggingDeviceDoesNotHoldItsBedBackBeyondThePatience() {
        let beds = assembler()
        _ = beds.consume(sample(0, 0, 97), now: 0)
        _ = beds.consume(end(0), now: 0)
        #expect(beds.readyBeds(now: 1_499_999_999).isEmpty)
        #expect(beds.readyBeds(now: 1_500_000_000) == [0])
    }

    @Test func sequenceNumbersCountPerBed() {
        let beds = assembler()
        for round in 1...3 {
            for deviceIndex in 0...2 {
                _ = beds.consume(sample(deviceIndex, 0, Double(round)), now: 0)
                _ = beds.consume(end(deviceIndex), now: 0)
            }
            #expect(beds.readyBeds(now: 0) == [0, 1])
            #expect(take(beds, bed: 0).sequence == Int64(round))
            #expect(take(beds, bed: 1).sequence == Int64(round))
        }
    }

    @Test func commLossCarriesNoValueAndStateChangesAreHandedBack() {
        let beds = assembler()
        _ = beds.consume(sample(2, 1, .nan, quality: .commLoss), now: 0)
        let silent = beds.consume(SampleRecord(kind: .deviceSilent, failure: .exception, exceptionCode: 2, deviceIndex: 2),
                                  now: 0)
        #expect(silent?.answering == false)
        #expect(silent?.failure == .exception)
        #expect(silent?.exceptionCode == 2)
        #expect(silent?.device.config.id == "device-2")
        _ = beds.consume(end(2), now: 0)
        let message = take(beds, bed: 1)
        #expect(message.values.count == 1)
        #expect(message.values[0].value == nil)
        #expect(message.values[0].quality == .commLoss)
    }

    /// One read time per device in a message holds only if a message has one cycle per device.
    @Test func aDeviceStartingItsNextCycleSendsItsBedFirst() {
        let beds = assembler()
        _ = beds.consume(sample(0, 0, 97), now: 0)
        #expect(beds.bedToSendBefore(sample(0, 1, 70)) == nil, "the same cycle goes on")
        _ = beds.consume(end(0), now: 0)
        #expect(beds.bedToSendBefore(sample(1, 0, 12.5)) == nil, "the pump's first cycle belongs to the same message")
        #expect(beds.bedToSendBefore(sample(0, 0, 98)) == 0, "the monitor's next cycle must not join its previous one")
        #expect(beds.bedToSendBefore(sample(2, 0, 95)) == nil, "another bed")
        _ = take(beds, bed: 0)
        #expect(beds.bedToSendBefore(sample(0, 0, 98)) == nil)
    }

    @Test func theDescriptionQualifiesAPointNameTwoDevicesOfTheBedShare() {
        let beds = BedAssembler(bedIDs: ["chair-1"],
                                devices: [device(0, bed: 0, profile: monitor), device(1, bed: 0, profile: monitor)],
                                patienceNanoseconds: 1)
        let names = beds.description(bed: 0).entries.map(\.name)
        #expect(names.contains("device-0.spo2") && names.contains("device-1.spo2") && !names.contains("spo2"))
        #expect(Set(names).count == names.count)
    }

    @Test func recordsNamingUnknownDevicesOrPointsAreIgnored() {
        let beds = assembler()
        #expect(beds.consume(sample(9, 0, 1), now: 0) == nil)
        _ = beds.consume(sample(0, 999, 1), now: 0)
        #expect(beds.readyBeds(now: 10_000_000_000).isEmpty)
    }
}
