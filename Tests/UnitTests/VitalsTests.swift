import Testing
import JSON
import Platform
import RegisterMaps
@testable import Vitals

struct VitalsTests {
    let monitor = BuiltinProfiles.patientMonitor
    let pump = BuiltinProfiles.infusionPump

    func bed(_ id: String = "chair-1", pump withPump: Bool = false) -> BedDescription {
        var devices: [(id: String, points: [Point])] = [("monitor-1", monitor.points)]
        if withPump { devices.append(("pump-1", pump.points)) }
        return BedDescription(bedID: id, devices: devices)
    }

    func value(_ description: BedDescription, _ name: String, _ value: Double?, quality: Quality = .ok,
               at wall: Int64 = 0) -> VitalValue {
        let entry = description.entries.firstIndex { $0.name == name }!
        return VitalValue(entry: entry, value: value, quality: quality, wallClockMilliseconds: wall)
    }

    func encode(_ description: BedDescription, sequence: Int64 = 1, at wall: Int64 = 0, _ values: [VitalValue]) -> [UInt8] {
        var encoder = VitalsEncoder(description: description)
        encoder.encode(sequence: sequence, wallClockMilliseconds: wall, values: values)
        return encoder.bytes
    }

    func book(_ descriptions: BedDescription...) throws -> DescriptionBook {
        let book = DescriptionBook()
        for description in descriptions { book.add(try decodeBedDescription(Array(description.payload.utf8))) }
        return book
    }

    func interpreted(_ payload: [UInt8], with book: DescriptionBook) throws -> ReceivedVitals {
        guard case .interpreted(let vitals) = try book.interpret(payload) else {
            Issue.record("the description was not found")
            throw VitalsMessageError(reason: "no description")
        }
        return vitals
    }

    @Test func messageCarriesNameValueQualityAndTheRevisionOfItsDescription() throws {
        let description = bed()
        let bytes = encode(description, sequence: 42, at: 1_764_000_000_200, [
            value(description, "etco2", 38.5, at: 1_764_000_000_123),
            value(description, "spo2", nil, quality: .commLoss, at: 1_764_000_000_124),
        ])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text == #"{"bed":"chair-1","seq":42,"time":"2025-11-24T16:00:00.200Z","description":""#
            + description.revision + #"","reads":{"monitor-1":"2025-11-24T16:00:00.123Z"},"vitals":[{"name":"etco2","value":38.5,"quality":"ok"},{"name":"spo2","value":null,"quality":"comm-loss"}]}"#)
        let parsed = try interpreted(bytes, with: try book(description))
        #expect(parsed.bedID == "chair-1")
        #expect(parsed.sequence == 42)
        #expect(parsed.value(named: "etco2")?.value == 38.5)
        #expect(parsed.value(named: "etco2")?.unit == "mm[Hg]", "the unit comes from the description")
        #expect(parsed.value(named: "etco2")?.device == "monitor-1")
        #expect(parsed.value(named: "spo2")?.value == nil)
        #expect(parsed.value(named: "spo2")?.quality == "comm-loss")
        #expect(parsed.reads.map(\.device) == ["monitor-1"])
    }

    @Test func theEncoderReusesItsBufferAndLeavesNoTraceOfTheLastMessage() throws {
        let description = bed(pump: true)
        var encoder = VitalsEncoder(description: description)
        encoder.encode(sequence: 1, wallClockMilliseconds: 0, values: description.entries.indices.map {
            VitalValue(entry: $0, value: 1234.5, quality: .ok, wallClockMilliseconds: 0)
        })
        encoder.encode(sequence: 2, wallClockMilliseconds: 0, values: [value(description, "rate", 12.5)])
        let parsed = try interpreted(encoder.bytes, with: try book(description))
        #expect(parsed.sequence == 2)
        #expect(parsed.values.map(\.name) == ["rate"])
        #expect(parsed.reads.map(\.device) == ["pump-1"], "only devices with values in this message")
    }

    @Test func theRevisionIsStableAndFollowsTheContent() {
        #expect(bed().revision == bed().revision)
        #expect(bed().revision.utf8.count == 16)
        #expect(bed().revision != bed(pump: true).revision)
        #expect(bed("chair-1").revision != bed("chair-2").revision)
        var changed = monitor.points
        changed[0].unit = "1"
        #expect(BedDescription(bedID: "chair-1", devices: [("monitor-1", changed)]).revision != bed().revision)
    }

    @Test func aMessageNamingAnUnknownRevisionIsNotInterpreted() throws {
        let old = bed()
        let current = bed(pump: true)
        let bytes = encode(old, [value(old, "spo2", 97)])
        guard case .unknownDescription(let bedID, let revision) = try book(current).interpret(bytes) else {
            Issue.record("interpreted against another revision")
            return
        }
        #expect(bedID == "chair-1" && revision == old.revision)
        #expect(try interpreted(bytes, with: try book(current, old)).value(named: "spo2")?.unit == "%")
    }

    @Test func decimalsAndEscapingAreWrittenExactly() throws {
        var points = monitor.points
        points[0].name = "a\"b\\c\n"
        let description = BedDescription(bedID: "chair \"1\"", devices: [("m\t1", points)])
        let bytes = encode(description, [
            VitalValue(entry: 0, value: -0.04, quality: .ok, wallClockMilliseconds: 0),
            value(description, "etco2", -1.25), value(description, "heart_rate", .infinity),
        ])
        let document = try JSONParser.parse(bytes)
        #expect(document["bed"]?.stringValue == "chair \"1\"")
        guard case .array(let vitals)? = document["vitals"] else { Issue.record("no vitals"); return }
        #expect(vitals[0]["name"]?.stringValue == "a\"b\\c\n")
        #expect(vitals[0]["value"] == .number("0"))
        #expect(vitals[1]["value"] == .number("-1.3"))
        #expect(vitals[2]["value"] == .null)
        for (number, decimals, text) in [(38.46, 1, "38.5"), (0.05, 2, "0.05"), (-0.5, 0, "-1"), (1e16, 0, "null"), (7, 3, "7.000")] {
            #expect(formatDecimal(number, decimals: decimals) == text)
        }
    }

    @Test func malformedMessagesAreRejectedWithAReason() throws {
        let known = try book(bed())
        for payload in ["", "{}", #"{"bed":"b","seq":"1","time":"t","description":"r","vitals":[]}"#,
                        #"{"bed":"chair-1","seq":1,"time":"t","vitals":[]}"#,
                        #"{"bed":"chair-1","seq":1,"time":"t","description":"\#(bed().revision)","vitals":[{}]}"#,
                        #"{"bed":"chair-1","seq":1,"time":"t","description":"\#(bed().revision)","vitals":[{"name":"nope"}]}"#] {
            #expect(throws: VitalsMessageError.self) { try known.interpret(Array(payload.utf8)) }
        }
        #expect(throws: VitalsMessageError.self) { try decodeBedDescription(Array(#"{"bed":"b","points":[]}"#.utf8)) }
    }

    @Test func terminalLineShowsEveryVital() throws {
        let description = bed("chair-9")
        let bytes = encode(description, sequence: 3, at: 3_723_000, description.entries.indices.map {
            VitalValue(entry: $0, value: description.entries[$0].name == "etco2" ? 38.0 : 90, quality: .ok,
                       wallClockMilliseconds: 0)
        })
        let line = formatVitalsLine(try interpreted(bytes, with: try book(description)))
        #expect(line == "chair-9  #3  01:02:03Z  SpO2 90 %  PR 90  HR 90  NIBP 90/90 (90)  RR 90  EtCO2 38.0")
    }

    @Test func terminalLineAddsThePumpAndFlagsValuesThatAreNotOK() throws {
        let description = bed(pump: true)
        var values = monitor.points.filter { $0.name != "spo2" }.map { value(description, $0.name, 20) }
        values.append(value(description, "spo2", 97, quality: .sensorOff))
        values.append(value(description, "rate", 12.5))
        values.append(value(description, "volume_infused", 3.25))
        values.append(value(description, "state", 1))
        let line = formatVitalsLine(try interpreted(encode(description, values), with: try book(description)))
        #expect(line.contains("SpO2 97? %"))
        #expect(line.contains("pump 12.5 mL/h 3.3 mL running"), "\(line)")
        #expect(line.hasSuffix("[monitor-1: sensor-off]"), "\(line)")
    }
}
