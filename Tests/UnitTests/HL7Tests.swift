import Alarms
import Foundation
import Charting
import HL7
import RegisterMaps
import Testing
import Vitals

/// HL7 v2 text, IHE PCD-01 / PCD-04 messages, MLLP framing and ACKs on fixed inputs.
struct HL7Tests {
    static let sender = HL7Sender(facility: "Clinic^North|1", box: EUI64(site: "clinic", box: "box-1", device: ""))
    static let location = BedLocation(pointOfCare: "KETAMINE", room: "2", bed: "chair-1", facility: "Clinic North")
    static let rowMilliseconds: Int64 = 1_795_509_600_000  // 2026-11-24T08:40:00Z

    static func bed() -> BedDescription {
        BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                   ("pump-1", BuiltinProfiles.infusionPump.points)])
    }

    static func row(_ adjust: (inout [ChartedValue]) -> Void = { _ in }) -> ChartRow {
        let description = bed()
        var values = description.entries.indices.map { index in
            ChartedValue(entry: index, value: 90 + Double(index) + 0.25, quality: .ok,
                         measuredAtMilliseconds: rowMilliseconds - 400, minimum: 90, maximum: 99, samples: 60, okSamples: 60)
        }
        adjust(&values)
        return ChartRow(description: description, rowMilliseconds: rowMilliseconds, intervalMilliseconds: 60_000, sequence: 7,
                        values: values)
    }

    static func segments(_ message: String) -> [[String]] {
        message.split(separator: "\r").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func escapingCoversEveryDelimiterAndControlCharacter() {
        #expect(hl7Escaped("a|b^c&d~e\\f") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f")
        #expect(hl7Escaped("x\ry\u{0B}z\u{1C}") == "x\\X0D\\y\\X0B\\z\\X1C\\")
        #expect(hl7Escaped("SpO₂ 97 %") == "SpO₂ 97 %")
        let awkward = "a|b^c&d~e\\f\rg\u{0B}h"
        #expect(hl7Unescaped(ArraySlice(Array(hl7Escaped(awkward).utf8))) == awkward)
        #expect(hl7Unescaped(ArraySlice(Array("\\H\\bold\\N\\ \\".utf8))) == "\\H\\bold\\N\\ \\")
    }

    @Test func timestampIsHL7DTMInUTC() {
        #expect(hl7Timestamp(millisecondsSinceEpoch: Self.rowMilliseconds + 2) == "20261124084000.002+0000")
    }

    @Test func eui64IsStableLocallyAdministeredAndUnicast() {
        let a = EUI64(site: "clinic", box: "box-1", device: "monitor-1")
        #expect(a == EUI64(site: "clinic", box: "box-1", device: "monitor-1"))
        #expect(a != EUI64(site: "clinic", box: "box-1", device: "monitor-2"))
        #expect(a != EUI64(site: "clinic", box: "box-2", device: "monitor-1"))
        let firstOctet = UInt8(a.value >> 56)
        #expect(firstOctet & 0x02 == 0x02 && firstOctet & 0x01 == 0)
        #expect(a.text.utf8.count == 16 && a.text == a.text.uppercased())
    }

    @Test func pcd01HeaderPatientVisitAndOrder() {
        let message = PCD01Encoder(sender: Self.sender, location: Self.location, site: "clinic", box: "box-1").encode(Self.row())
        #expect(message.hasPrefix("MSH|^~\\&|BEDSIDE-GATEWAY^"))
        #expect(!message.contains("\n") && message.hasSuffix("\r"))
        let rows = Self.segments(message)
        let msh = rows[0]
        // Field n of MSH is msh[n - 1]: MSH-1 is the separator the split consumed.
        #expect(msh[3] == "Clinic\\S\\North\\F\\1")
        #expect(msh[8] == "ORU^R01^ORU_R01")
        #expect(msh[9] == "chair-1-C\(Self.rowMilliseconds)")
        #expect(msh[11] == "2.6")
        #expect(msh[14] == "AL" && msh[15] == "NE")
        #expect(msh[20] == "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO")
        let box = Self.sender.box.text
        #expect(rows[1] == ["PID", "1", "", "chair-1^^^\(box)&\(box)&EUI-64^U", "", "^^^^^^U"])
        #expect(rows[2] == ["PV1", "", "U", "KETAMINE^2^chair-1^Clinic North"])
        #expect(rows[3][0] == "OBR" && rows[3][3].hasPrefix("chair-1-\(Self.rowMilliseconds)^BEDSIDE-GATEWAY^"))
        #expect(rows[3][7] == "20261124083900.000+0000" && rows[3][8] == "20261124084000.000+0000")
    }

    @Test func pcd01ObservationsFollowTheContainmentTree() {
        let message = PCD01Encoder(sender: Self.sender, location: Self.location, site: "clinic", box: "box-1").encode(Self.row())
        let obx = Self.segments(message).filter { $0[0] == "OBX" }
        let tree = obx.map { "\($0[4]) \($0[3].split(separator: "^", omittingEmptySubsequences: false)[1]) \($0[11])" }
        #expect(Array(tree.prefix(7)) == [
            "1.0.0.0 MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS X",
            "1.1.0.0 MDC_DEV_ANALY_SAT_O2_VMD X",
            "1.1.1.1 MDC_PULS_OXIM_SAT_O2 R",
            "1.1.1.2 MDC_PULS_OXIM_PULS_RATE R",
            "1.2.0.0 MDC_DEV_ECG_VMD X",
            "1.2.1.1 MDC_ECG_HEART_RATE R",
            "1.3.0.0 MDC_DEV_METER_PRESS_BLD_VMD X",
        ])
        #expect(tree.contains("1.3.1.0 MDC_DEV_PRESS_BLD_NONINV_CHAN X"))
        #expect(tree.contains("2.0.0.0 MDC_DEV_PUMP_INFUS_MDS X"))
        // Set ids count up from 1 without a gap.
        #expect(obx.map { $0[1] } == (1...obx.count).map { String($0) })
        let spo2 = obx[2]
        #expect(spo2[2] == "NM" && spo2[3] == "150456^MDC_PULS_OXIM_SAT_O2^MDC" && spo2[5] == "90")
        #expect(spo2[6] == "%^%^UCUM" && spo2[14] == "20261124083959.600+0000")
        let monitor = EUI64(site: "clinic", box: "box-1", device: "monitor-1").text
        #expect(spo2[18] == "\(monitor)^^\(monitor)^EUI-64")
        #expect(obx[0][18] == spo2[18])
        let etco2 = obx.first { $0[3].contains("MDC_AWAY_CO2_ET") }!
        #expect(etco2[5] == "97.3" && etco2[6] == "mm[Hg]^mm[Hg]^UCUM")
    }

    @Test func minimumAndMaximumFollowTheirMetricOneLevelDownOnlyWhenAskedFor() {
        let row = Self.row { values in
            values[1].value = nil
            values[1].quality = .commLoss
            values[1].minimum = nil
            values[1].maximum = nil
        }
        let plain = PCD01Encoder(sender: Self.sender, location: Self.location, site: "clinic", box: "box-1").encode(row)
        #expect(!plain.contains("99BSG"))
        let message = PCD01Encoder(sender: Self.sender, location: Self.location, site: "clinic", box: "box-1",
                                   reportsMinimumAndMaximum: true).encode(row)
        let rows = Self.segments(message)
        let obx = rows.filter { $0[0] == "OBX" }
        #expect(obx.map { $0[1] } == (1...obx.count).map { String($0) })
        let spo2 = obx.firstIndex { $0[4] == "1.1.1.1" }!
        #expect(obx[spo2 + 1][4] == "1.1.1.1.1" && obx[spo2 + 2][4] == "1.1.1.1.2")
        for (offset, value, method) in [(1, "90", "MIN^minimum over the charting interval^99BSG"),
                                        (2, "99", "MAX^maximum over the charting interval^99BSG")] {
            let extreme = obx[spo2 + offset]
            #expect(extreme[3] == obx[spo2][3] && extreme[5] == value && extreme[6] == "%^%^UCUM" && extreme[11] == "R")
            #expect(extreme[14] == "20261124084000.000+0000" && extreme.count > 17 && extreme[17] == method)
            #expect(extreme[18] == obx[spo2][18])
        }
        // Pulse rate had no ok sample: no extremes, and its note still follows its own row.
        let pulse = rows.firstIndex { $0[0] == "OBX" && $0[4] == "1.1.1.2" }!
        #expect(rows[pulse + 1] == ["NTE", "1", "", "comm-loss"])
        #expect(!obx.contains { $0[4].hasPrefix("1.1.1.2.") })
    }

    @Test func commLossAndSensorOffAreChartedAsSuchNeverAsANumber() {
        let row = Self.row { values in
            values[0].value = nil
            values[0].quality = .commLoss
            values[1].value = nil
            values[1].quality = .sensorOff
            values[2].quality = .outOfRange
        }
        let message = PCD01Encoder(sender: Self.sender, location: Self.location, site: "clinic", box: "box-1").encode(row)
        let rows = Self.segments(message)
        func after(_ name: String) -> ([String], [String]?) {
            let index = rows.firstIndex { $0[0] == "OBX" && $0[3].contains(name) }!
            return (rows[index], rows[index + 1][0] == "NTE" ? rows[index + 1] : nil)
        }
        let (spo2, spo2Note) = after("MDC_PULS_OXIM_SAT_O2")
        #expect(spo2[5] == "" && spo2[11] == "X" && spo2Note == ["NTE", "1", "", "comm-loss"])
        let (pulse, pulseNote) = after("MDC_PULS_OXIM_PULS_RATE")
        #expect(pulse[5] == "" && pulse[11] == "X" && pulseNote?[3] == "sensor-off")
        let (heart, heartNote) = after("MDC_ECG_HEART_RATE")
        #expect(heart[5] == "" && heart[11] == "X" && heartNote?[3] == "out-of-range")
        let (nibp, nibpNote) = after("MDC_PRESS_BLD_NONINV_SYS")
        #expect(nibp[5] != "" && nibp[11] == "R" && nibpNote == nil)
    }

    static func alarm(_ type: AlarmEventType, priority: AlarmPriority = .high, kind: AlarmKind = .physiological) -> AlarmEvent {
        AlarmEvent(bed: "chair-1", sequence: 42, alarm: "chair-1.spo2-low.17", condition: "spo2-low", priority: priority,
                   kind: kind, type: type, wallClockMilliseconds: rowMilliseconds + 1_250, monotonicMilliseconds: 5)
    }

    @Test func pcd04CarriesPhaseStatePriorityTypeBedAndParameter() {
        let encoder = PCD04Encoder(sender: Self.sender, locations: ["chair-1": Self.location])
        let source = AlarmSource(device: "monitor-1", point: "spo2", term: MDCTerm(150456, "MDC_PULS_OXIM_SAT_O2"))
        let rows = Self.segments(encoder.encode(Self.alarm(.start), source: source))
        #expect(rows[0][8] == "ORU^R40^ORU_R40" && rows[0][9] == "chair-1-A42")
        #expect(rows[0][20] == "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO")
        #expect(rows[2][3] == "KETAMINE^2^chair-1^Clinic North")
        #expect(rows[3][3].hasPrefix("chair-1.spo2-low.17^") && rows[3][4] == "196616^MDC_EVT_ALARM^MDC")
        let obx = rows.filter { $0[0] == "OBX" }
        #expect(obx.map { $0[4] } == ["1.0.0.0.1", "1.0.0.0.2", "1.0.0.0.3", "1.0.0.0.4", "1.0.0.0.5"])
        #expect(obx[0][5] == "spo2-low" && obx[0][8] == "PH~SP")
        #expect(obx[1][3] == "150456^MDC_PULS_OXIM_SAT_O2^MDC" && obx[1][5] == "monitor-1.spo2")
        #expect(obx[2][3] == "^MDC_ATTR_EVENT_PHASE^MDC" && obx[2][5] == "start")
        #expect(obx[3][5] == "active" && obx[4][5] == "enabled")
        #expect(obx.allSatisfy { $0[11] == "F" && $0[14] == "20261124084001.250+0000" })
        #expect(obx.allSatisfy { $0[18] == Self.sender.box.entityIdentifier }, "no equipment given: the box's")

        let end = Self.segments(encoder.encode(Self.alarm(.end, priority: .low, kind: .technical), source: nil))
        let endOBX = end.filter { $0[0] == "OBX" }
        #expect(endOBX.count == 4 && endOBX[0][8] == "PL~ST")
        #expect(endOBX[1][5] == "end" && endOBX[2][5] == "inactive")
        let medium = Self.segments(encoder.encode(Self.alarm(.acknowledge, priority: .medium), source: nil))
        #expect(medium.filter { $0[0] == "OBX" }[0][8] == "PM~SP")
        #expect(medium.filter { $0[0] == "OBX" }.last?[5] == "acknowledged")
    }

    @Test func mllpFramesAndTheDecoderSurvivesGarbageAndHalfFrames() {
        let message = Array("MSH|^~\\&|A\rMSA|AA|1\r".utf8)
        let framed = MLLP.frame(message)
        #expect(framed.first == 0x0B && framed.suffix(2) == [0x1C, 0x0D])
        var decoder = MLLPFrameDecoder(maximumFrameBytes: 64)
        // Garbage, a half frame cut short by a new one, then a frame in two pieces.
        var stream: [UInt8] = Array("junk".utf8) + [0x0B] + Array("half".utf8) + framed
        #expect(decoder.push(Array(stream.prefix(10))).isEmpty)
        stream.removeFirst(10)
        #expect(decoder.push(stream) == [message])
        #expect(decoder.discardedBytes == 4 + 4 && decoder.discardedFrames == 1)
        // An end block without its carriage return, and a frame over the size bound.
        #expect(decoder.push([0x0B, 0x41, 0x1C, 0x41] + framed) == [message])
        #expect(decoder.push([0x0B] + [UInt8](repeating: 0x41, count: 100) + [0x1C, 0x0D] + framed) == [message])
        #expect(!decoder.isInsideFrame)
    }

    @Test func acknowledgementsAreRead() throws {
        let aa = try parseHL7Acknowledgement(Array("MSH|^~\\&|R||||2026||ACK^R01^ACK|9|P|2.6\rMSA|AA|chair-1-A42\r".utf8))
        #expect(aa == HL7Acknowledgement(code: .applicationAccept, controlID: "chair-1-A42", reason: ""))
        let ae = try parseHL7Acknowledgement(Array("MSH|^~\\&|R\nMSA|AE|x\\F\\y|disk full\n".utf8))
        #expect(ae.code == .applicationError && ae.controlID == "x|y" && ae.reason == "disk full" && ae.code.isError)
        let ar = try parseHL7Acknowledgement(Array("MSH#*~\\&#R\rMSA#AR#7\rERR####E#*unknown bed##BAD*STUFF#no such bed\r".utf8))
        #expect(ar.code == .applicationReject && ar.reason == "no such bed" && ar.code.isReject)
        #expect(hl7ControlID(Array("MSH|^~\\&|A|B|||2026||ORU^R40^ORU_R40|chair\\F\\1-A42|P|2.6\rPID|1\r".utf8)) == "chair|1-A42")
        #expect(hl7ControlID(Array("MSH#^~\\&#A#B###2026##ORU#x-1#P\r".utf8)) == "x-1")
        #expect(hl7ControlID(Array("MSH|^~\\&|A|B|||2026||ORU^R01||P\r".utf8)) == nil)
        #expect(hl7ControlID(Array("PID|1|||||||||x\r".utf8)) == nil)
        let pcd04 = PCD04Encoder(sender: Self.sender, locations: [:]).encode(HL7Tests.alarm(.start), source: nil)
        #expect(hl7ControlID(Array(pcd04.utf8)) == "chair-1-A42")
        let cr = try parseHL7Acknowledgement(Array("MSH|^~\\&|R\rMSA|CR|7\rERR|||207^Application internal error^HL70357\r".utf8))
        #expect(cr.reason == "Application internal error")
        #expect(try parseHL7Acknowledgement(Array("MSH|^~\\&|R\rMSA|CA|7\r".utf8)).code.isAccepted)
        for bad in ["", "MSA|AA|1", "MSH|^~\\&|R\r", "MSH|^~\\&|R\rMSA|AB|1\r", "MSH|^~\\&|R\rMSA|AA|\r", "MSH||||\rMSA|AA|1"] {
            #expect(throws: HL7AckError.self) { try parseHL7Acknowledgement(Array(bad.utf8)) }
        }
    }
}

/// The README's example messages are what the encoders write (segments one a line).
struct HL7ReadmeExampleTests {
    static func examples() -> (pcd01: String, pcd04: String) {
        let sender = HL7Sender(facility: "Clinic North", box: EUI64(site: "clinic", box: "box-1", device: ""))
        let location = BedLocation(pointOfCare: "KETAMINE", room: "2", bed: "chair-1", facility: "Clinic North")
        let description = BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points)])
        let samples: [Double?] = [97, 68, 67, 118, 76, 90, 14, nil, nil, nil, nil]
        var values: [ChartedValue] = []
        for (index, entry) in description.entries.enumerated() {
            let value = index < samples.count ? samples[index] : nil
            values.append(ChartedValue(entry: index, value: value, quality: entry.name == "etco2" ? .sensorOff : .ok,
                                       measuredAtMilliseconds: HL7Tests.rowMilliseconds - 250, minimum: value, maximum: value,
                                       samples: 60, okSamples: 60))
        }
        let row = ChartRow(description: description, rowMilliseconds: HL7Tests.rowMilliseconds, intervalMilliseconds: 60_000,
                           sequence: 12, values: values)
        let pcd01 = PCD01Encoder(sender: sender, location: location, site: "clinic", box: "box-1").encode(row)
        let event = AlarmEvent(bed: "chair-1", sequence: 42, alarm: "chair-1.spo2-low.17", condition: "spo2-low", priority: .high,
                               kind: .physiological, type: .start, wallClockMilliseconds: HL7Tests.rowMilliseconds + 1_250,
                               monotonicMilliseconds: 0)
        let source = AlarmSource(device: "monitor-1", point: "spo2", term: MDCTerm(150456, "MDC_PULS_OXIM_SAT_O2"),
                                 equipment: EUI64(site: "clinic", box: "box-1", device: "monitor-1"))
        let pcd04 = PCD04Encoder(sender: sender, locations: ["chair-1": location]).encode(event, source: source)
        func lines(_ message: String) -> String { message.replacingOccurrences(of: "\r", with: "\n") }
        return (lines(pcd01), lines(pcd04))
    }

    @Test func readmeShowsWhatTheEncodersWrite() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let (pcd01, pcd04) = Self.examples()
        #expect(readme.contains("```\n" + pcd01 + "```\n"), "README's PCD-01 example is not the encoder's:\n\(pcd01)")
        #expect(readme.contains("```\n" + pcd04 + "```\n"), "README's PCD-04 example is not the encoder's:\n\(pcd04)")
    }
}
