import Charting
import FHIR
import Foundation
import RegisterMaps
import Testing
import Vitals

/// The FHIR R4 bundles and devices the agent publishes, on fixed rows: read back with
/// Foundation for what they say, and validated by fhir.resources (R4 4.0.1 models, PyPI),
/// an implementation nobody here wrote.
struct FHIREncoderTests {
    static let description = BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                                        ("pump-1", BuiltinProfiles.infusionPump.points)])
    static let context = FHIRContext(site: "clinic-a", box: "box-1")
    /// 2026-12-03T10:01:00Z.
    static let rowTime: Int64 = 1_796_292_060_000

    static func entry(_ name: String) -> Int { description.entries.firstIndex { $0.name == name }! }

    /// A row with every entry ok (value 10 + index) unless `overrides` says otherwise.
    static func row(_ overrides: [String: (value: Double?, quality: Quality)] = [:], range: (Double, Double)? = nil) -> ChartRow {
        var values: [ChartedValue] = []
        for (index, entry) in description.entries.enumerated() {
            let override = overrides[entry.name]
            let value = override.map { $0.value } ?? Double(10 + index)
            let quality = override?.quality ?? .ok
            values.append(ChartedValue(entry: index, value: value, quality: quality, measuredAtMilliseconds: rowTime - 400,
                                       minimum: quality == .ok ? (range?.0 ?? value) : nil,
                                       maximum: quality == .ok ? (range?.1 ?? value) : nil,
                                       samples: quality == .commLoss ? 0 : 60, okSamples: quality == .ok ? 60 : 0))
        }
        return ChartRow(description: description, rowMilliseconds: rowTime, intervalMilliseconds: 60_000, sequence: 7,
                        values: values)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func observations(_ bundle: [String: Any]) -> [[String: Any]] {
        ((bundle["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }
    }

    static func codes(_ concept: Any?, system: String) -> [String] {
        (((concept as? [String: Any])?["coding"] as? [[String: Any]]) ?? []).filter { $0["system"] as? String == system }
            .compactMap { $0["code"] as? String }
    }

    static func observation(_ bundle: [String: Any], mdc: String) -> [String: Any]? {
        observations(bundle).first { codes($0["code"], system: "urn:iso:std:iso:11073:10101").contains(mdc) }
    }

    @Test func anAllOkRowIsABundleOfObservationsWithMDCAndLOINCCodes() throws {
        let bundle = try Self.json(FHIREncoder.bundle(Self.row(range: (90, 99)), context: Self.context))
        #expect(bundle["resourceType"] as? String == "Bundle" && bundle["type"] as? String == "collection")
        #expect(bundle["timestamp"] as? String == "2026-12-03T10:01:00.000Z")
        let observations = Self.observations(bundle)
        // 8 monitor measurements with a term, systolic and diastolic as one panel: 7; 4 pump terms.
        #expect(observations.count == 11)
        let spo2 = try #require(Self.observation(bundle, mdc: "150456"))
        #expect(Self.codes(spo2["code"], system: "http://loinc.org") == ["2708-6", "59408-5"])
        #expect(spo2["status"] as? String == "final" && spo2["subject"] == nil)
        #expect(spo2["effectiveDateTime"] as? String == "2026-12-03T10:01:00.000Z")
        let quantity = try #require(spo2["valueQuantity"] as? [String: Any])
        #expect(quantity["value"] as? Double == Double(10 + Self.entry("spo2")))
        #expect(quantity["system"] as? String == "http://unitsofmeasure.org" && quantity["code"] as? String == "%")
        let heartRate = try #require(Self.observation(bundle, mdc: "147842"))
        #expect(Self.codes(heartRate["code"], system: "http://loinc.org") == ["8867-4"])
        #expect((heartRate["valueQuantity"] as? [String: Any])?["code"] as? String == "/min")
        #expect(Self.codes(Self.observation(bundle, mdc: "151562")?["code"], system: "http://loinc.org") == ["9279-1"])
        #expect(Self.codes(Self.observation(bundle, mdc: "150023")?["code"], system: "http://loinc.org") == ["8478-0"])
        #expect(Self.codes(Self.observation(bundle, mdc: "149530")?["code"], system: "http://loinc.org") == [])
        let panel = try #require(Self.observation(bundle, mdc: "150020"))
        #expect(Self.codes(panel["code"], system: "http://loinc.org") == ["85354-9"] && panel["valueQuantity"] == nil)
        let components = try #require(panel["component"] as? [[String: Any]])
        #expect(components.map { Self.codes($0["code"], system: "http://loinc.org") } == [["8480-6"], ["8462-4"]])
        #expect((components[0]["valueQuantity"] as? [String: Any])?["value"] as? Double == Double(10 + Self.entry("nibp_systolic")))
        // Every observation names its device, and ids are unique.
        let monitorID = FHIREncoder.deviceID("monitor-1", context: Self.context)
        #expect((spo2["device"] as? [String: Any])?["reference"] as? String == "Device/\(monitorID)")
        let ids = observations.compactMap { $0["id"] as? String }
        #expect(Set(ids).count == observations.count)
        // The range of ok values rides in the charting-interval extension, in the value's unit.
        let interval = try #require((spo2["extension"] as? [[String: Any]])?.first { $0["url"] as? String == FHIREncoder.chartingIntervalURL })
        let range = try #require((interval["extension"] as? [[String: Any]])?.first { $0["url"] as? String == "range" }?["valueRange"] as? [String: Any])
        #expect((range["low"] as? [String: Any])?["value"] as? Double == 90 && (range["high"] as? [String: Any])?["value"] as? Double == 99)
    }

    @Test func commLossAndSensorOffHaveNoValueButAReason() throws {
        let row = Self.row(["spo2": (nil, .sensorOff), "heart_rate": (nil, .commLoss), "nibp_diastolic": (nil, .commLoss),
                            "etco2": (151, .outOfRange)])
        let bundle = try Self.json(FHIREncoder.bundle(row, context: Self.context))
        let spo2 = try #require(Self.observation(bundle, mdc: "150456"))
        #expect(spo2["valueQuantity"] == nil && spo2["status"] as? String == "cancelled")
        #expect(Self.codes(spo2["dataAbsentReason"], system: "http://terminology.hl7.org/CodeSystem/data-absent-reason") == ["not-performed"])
        let heartRate = try #require(Self.observation(bundle, mdc: "147842"))
        #expect(Self.codes(heartRate["dataAbsentReason"], system: "http://terminology.hl7.org/CodeSystem/data-absent-reason") == ["error"])
        let etco2 = try #require(Self.observation(bundle, mdc: "151728"))
        #expect(etco2["valueQuantity"] == nil && etco2["status"] as? String == "cancelled")
        // A panel with one pressure missing is still final, the missing one has its reason.
        let panel = try #require(Self.observation(bundle, mdc: "150020"))
        #expect(panel["status"] as? String == "final")
        let components = try #require(panel["component"] as? [[String: Any]])
        #expect(components[0]["valueQuantity"] != nil && components[1]["valueQuantity"] == nil && components[1]["dataAbsentReason"] != nil)
    }

    @Test func idsAreStableAndDifferPerBoxRowAndEntry() throws {
        let first = FHIREncoder.bundle(Self.row(), context: Self.context)
        #expect(first == FHIREncoder.bundle(Self.row(), context: Self.context))
        let otherBox = FHIREncoder.bundle(Self.row(), context: FHIRContext(site: "clinic-a", box: "box-2"))
        let ids = Set(Self.observations(try Self.json(first)).compactMap { $0["id"] as? String })
        let otherIDs = Set(Self.observations(try Self.json(otherBox)).compactMap { $0["id"] as? String })
        #expect(ids.isDisjoint(with: otherIDs))
        let id = try #require(ids.first)
        #expect(id.range(of: #"^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"#, options: .regularExpression) != nil)
    }

    @Test func aReplayedBundleIsTaggedInsideFHIR() throws {
        let bundle = FHIREncoder.bundle(Self.row(), context: Self.context)
        let marked = try Self.json(String(decoding: FHIREncoder.markedReplayed(Array(bundle.utf8)), as: UTF8.self))
        let tags = try #require((marked["meta"] as? [String: Any])?["tag"] as? [[String: Any]])
        #expect(tags.first?["code"] as? String == "replayed")
        #expect(Self.observations(marked).count == 11)
    }

    @Test func theDevicesCarryTheirMDCTypeAndTheBed() throws {
        let monitor = try Self.json(FHIREncoder.device(at: 0, of: Self.description, context: Self.context))
        #expect(monitor["id"] as? String == FHIREncoder.deviceID("monitor-1", context: Self.context))
        #expect(Self.codes(monitor["type"], system: "urn:iso:std:iso:11073:10101") == ["69965"])
        let pump = try Self.json(FHIREncoder.device(at: 1, of: Self.description, context: Self.context))
        #expect(Self.codes(pump["type"], system: "urn:iso:std:iso:11073:10101") == ["69985"])
        let location = try #require((pump["location"] as? [String: Any])?["identifier"] as? [String: Any])
        #expect(location["value"] as? String == "chair-1" && location["system"] as? String == "urn:bedside-gateway:clinic-a:box-1:bed")
    }

    /// Every kind of row and both devices through fhir.resources' strict R4 models; and a
    /// bundle with a required element removed must be refused, or the check proves nothing.
    @Test func fhirResourcesAcceptsEveryBundleAndDeviceAndRefusesABrokenOne() throws {
        #expect(FileManager.default.isExecutableFile(atPath: IndependentPython.testVenv),
                "no \(IndependentPython.testVenv): run Deploy/install-deps.sh")
        var documents: [(kind: String, json: String)] = [
            ("Bundle", FHIREncoder.bundle(Self.row(range: (90, 99)), context: Self.context)),
            ("Bundle", FHIREncoder.bundle(Self.row(["spo2": (nil, .sensorOff), "pulse_rate": (nil, .sensorOff)]), context: Self.context)),
            ("Bundle", FHIREncoder.bundle(Self.row(Dictionary(uniqueKeysWithValues: Self.description.entries.map { ($0.name, (nil, .commLoss)) })),
                                          context: Self.context)),
            ("Bundle", FHIREncoder.bundle(Self.row(["nibp_systolic": (nil, .commLoss), "etco2": (Double.nan, .outOfRange)]), context: Self.context)),
            ("Bundle", String(decoding: FHIREncoder.markedReplayed(Array(FHIREncoder.bundle(Self.row(), context: Self.context).utf8)), as: UTF8.self)),
            ("Device", FHIREncoder.device(at: 0, of: Self.description, context: Self.context)),
            ("Device", FHIREncoder.device(at: 1, of: Self.description, context: Self.context)),
        ]
        var broken = try Self.json(documents[0].json)
        var entries = try #require(broken["entry"] as? [[String: Any]])
        var resource = try #require(entries[0]["resource"] as? [String: Any])
        resource["status"] = nil
        entries[0]["resource"] = resource
        broken["entry"] = entries
        documents.append(("Bundle", String(decoding: try JSONSerialization.data(withJSONObject: broken), as: UTF8.self)))
        let script = """
            import json, sys
            from fhir.resources.bundle import Bundle
            from fhir.resources.device import Device
            for line in sys.stdin:
                item = json.loads(line)
                model = Bundle if item["kind"] == "Bundle" else Device
                try:
                    parsed = model.parse_obj(json.loads(item["json"]))
                    print("ok " + parsed.resource_type)
                except Exception as error:
                    print("refused " + " ".join(str(error).split()))
            """
        let input = documents.map { document in
            String(decoding: try! JSONSerialization.data(withJSONObject: ["kind": document.kind, "json": document.json]), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
        let output = try IndependentPython.run(script, input: input, interpreter: IndependentPython.testVenv)
        let verdicts = output.split(separator: "\n").map(String.init)
        #expect(verdicts.count == documents.count, "\(output)")
        for (index, verdict) in verdicts.dropLast().enumerated() {
            #expect(verdict.hasPrefix("ok "), "document \(index) (\(documents[index].kind)): \(verdict)\n\(documents[index].json)")
        }
        #expect(verdicts.last?.hasPrefix("refused") == true && verdicts.last?.contains("status") == true,
                "a bundle whose observation has no status was not refused: \(verdicts.last ?? "")")
    }
}
