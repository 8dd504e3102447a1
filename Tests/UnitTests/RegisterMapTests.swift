import Testing
@testable import RegisterMaps

struct RegisterMapTests {
    func point(_ function: ModbusFunction, _ address: Int, _ type: PointType = .uint16) -> Point {
        Point(name: "p\(address)", function: function, address: address, type: type, unit: "1",
              mdcName: "", mdcCode: nil, validRange: 0...1)
    }

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
        #expect(planReads(points, largestGap: 3) == [ReadBlock(function: .holdingRegisters, start: 0, count: 5)])
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

    @Test func decodesSignedUnsignedScaledAndBits() {
        var etco2 = BuiltinProfiles.patientMonitor.point(named: "etco2")!
        #expect(etco2.decode(raw: 385) == 38.5)
        etco2.type = .int16
        #expect(etco2.decode(raw: 0xFFFF) == -0.1)
        let flag = point(.discreteInputs, 0, .bool)
        #expect(flag.decode(raw: 7) == 1)
        #expect(flag.decode(raw: 0) == 0)
    }

    @Test func encodingIsTheInverseOfDecodingAndClamps() {
        let etco2 = BuiltinProfiles.patientMonitor.point(named: "etco2")!
        for raw in [UInt16(0), 1, 385, 1500, 65_535] {
            #expect(etco2.encode(etco2.decode(raw: raw)) == raw)
        }
        #expect(etco2.encode(-5) == 0)
        #expect(etco2.encode(1e9) == 65_535)
    }

    @Test func patientMonitorCarriesTheDesignTableTerms() {
        let monitor = BuiltinProfiles.patientMonitor
        #expect(monitor.point(named: "spo2")?.mdcCode == 150456)
        #expect(monitor.point(named: "nibp_mean")?.mdcName == "MDC_PRESS_BLD_NONINV_MEAN")
        #expect(monitor.point(named: "respiratory_rate")?.unit == "{breath}/min")
        // Every address is distinct, so no two points overwrite each other on the wire.
        #expect(Set(monitor.points.map(\.address)).count == monitor.points.count)
        #expect(planReads(monitor.points).count == 1)
    }
}
