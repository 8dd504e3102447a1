import Testing
import JSON
import Platform
import RegisterMaps
@testable import Vitals

struct VitalsTests {
    let monitor = BuiltinProfiles.patientMonitor

    func sample(_ point: Point, _ value: Double, device: String = "m", at wall: Int64 = 0) -> Sample {
        Sample(point: point, deviceID: device, value: value, quality: .ok, wallClockMilliseconds: wall,
               monotonicNanoseconds: 0)
    }

    @Test func messageCarriesValueUnitCodeQualityDeviceAndTime() throws {
        let etco2 = monitor.point(named: "etco2")!
        let samples = [
            sample(etco2, 38.5, device: "monitor-1", at: 1_764_000_000_123),
            Sample(point: monitor.point(named: "spo2")!, deviceID: "monitor-1", value: nil, quality: .commLoss,
                   wallClockMilliseconds: 1_764_000_000_124, monotonicNanoseconds: 6),
        ]
        let text = encodeVitalsMessage(bedID: "chair-1", sequence: 42, wallClockMilliseconds: 1_764_000_000_200,
                                       samples: samples)
        #expect(text.hasPrefix(#"{"bed":"chair-1","seq":42,"time":"2025-11-24T16:00:00.200Z","vitals":[{"name":"etco2","value":38.5,"unit":"mm[Hg]","mdc":"MDC_AWAY_CO2_ET","mdc_code":151728,"quality":"ok","device":"monitor-1","time":"2025-11-24T16:00:00.123Z"}"#))
        let parsed = try decodeVitalsMessage(Array(text.utf8))
        #expect(parsed.bedID == "chair-1")
        #expect(parsed.sequence == 42)
        #expect(parsed.value(named: "etco2")?.value == 38.5)
        #expect(parsed.value(named: "spo2")?.value == nil)
        #expect(parsed.value(named: "spo2")?.quality == "comm-loss")
    }

    @Test func malformedMessagesAreRejectedWithAReason() {
        for payload in ["", "{}", #"{"bed":"b","seq":"1","time":"t","vitals":[]}"#, #"{"bed":"b","seq":1,"time":"t","vitals":[{}]}"#] {
            #expect(throws: VitalsMessageError.self) { try decodeVitalsMessage(Array(payload.utf8)) }
        }
    }

    @Test func terminalLineShowsEveryVital() throws {
        let samples = monitor.points.map { sample($0, $0.name == "etco2" ? 38.0 : 90) }
        let text = encodeVitalsMessage(bedID: "chair-9", sequence: 3, wallClockMilliseconds: 3_723_000, samples: samples)
        let line = formatVitalsLine(try decodeVitalsMessage(Array(text.utf8)))
        #expect(line == "chair-9  #3  01:02:03Z  SpO2 90 %  PR 90  HR 90  NIBP 90/90 (90)  RR 90  EtCO2 38.0")
    }

    @Test func terminalLineAddsThePumpAndFlagsValuesThatAreNotOK() throws {
        let pump = BuiltinProfiles.infusionPump
        var samples = monitor.points.filter { $0.name != "spo2" }.map { sample($0, 20) }
        samples.append(Sample(point: monitor.point(named: "spo2")!, deviceID: "m", value: 97, quality: .sensorOff,
                              wallClockMilliseconds: 0, monotonicNanoseconds: 0))
        samples.append(sample(pump.point(named: "rate")!, 12.5, device: "p"))
        samples.append(sample(pump.point(named: "volume_infused")!, 3.25, device: "p"))
        samples.append(sample(pump.point(named: "state")!, 1, device: "p"))
        let text = encodeVitalsMessage(bedID: "chair-1", sequence: 1, wallClockMilliseconds: 0, samples: samples)
        let line = formatVitalsLine(try decodeVitalsMessage(Array(text.utf8)))
        #expect(line.contains("SpO2 97? %"))
        #expect(line.contains("pump 12.5 mL/h 3.3 mL running"), "\(line)")
        #expect(line.hasSuffix("[m: sensor-off]"), "\(line)")
    }
}

struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_795_509_601_002, "2026-11-24T08:40:01.002Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
    ])
    func formatsUTCWithMilliseconds(ms: Int64, expected: String) {
        #expect(formatUTCTimestamp(millisecondsSinceEpoch: ms) == expected)
    }
}
