import Alarms
import Charting
import Foundation
import HL7
import Testing
import Vitals

/// The agent's PCD-01 and PCD-04 messages read by two HL7 v2 implementations nobody here
/// wrote: hl7apy (strict validation against the v2.6 message structures, data types and
/// tables it ships) and python3-hl7 (Debian's; parse and read the fields back).
struct HL7ValidationTests {
    static let hl7apy = "/opt/bedside-gateway-test-venv/bin/python"

    /// Several PCD-01 rows (all values, comm-loss, sensor-off, out-of-range, awkward names),
    /// several PCD-04 events (every event type, both kinds and all priorities), and a PCD-01 row
    /// with its minimum and maximum rows.
    static func messages() -> [String] {
        let pcd01 = PCD01Encoder(sender: HL7Tests.sender, location: HL7Tests.location, site: "clinic", box: "box-1")
        var texts = [pcd01.encode(HL7Tests.row())]
        texts.append(pcd01.encode(HL7Tests.row { values in
            for index in values.indices {
                values[index].value = nil
                values[index].quality = .commLoss
            }
        }))
        texts.append(pcd01.encode(HL7Tests.row { values in
            values[0].value = nil
            values[0].quality = .sensorOff
            values[3].quality = .outOfRange
        }))
        let awkward = PCD01Encoder(sender: HL7Tests.sender,
                                   location: BedLocation(pointOfCare: "A|B", room: "R^1", bed: "c&d~e\\f", facility: "F\rG"),
                                   site: "clinic", box: "box-1")
        texts.append(awkward.encode(HL7Tests.row()))
        let pcd04 = PCD04Encoder(sender: HL7Tests.sender, locations: ["chair-1": HL7Tests.location])
        let source = AlarmSource(device: "monitor-1", point: "spo2", term: MDCTerm(150456, "MDC_PULS_OXIM_SAT_O2"))
        let types: [AlarmEventType] = [.start, .escalate, .acknowledge, .audioPaused, .audioResumed, .limitChange, .end]
        let priorities: [AlarmPriority] = [.low, .medium, .high]
        for (index, type) in types.enumerated() {
            var event = HL7Tests.alarm(type, priority: priorities[index % 3], kind: index % 2 == 0 ? .physiological : .technical)
            event.sequence = Int64(100 + index)
            event.condition = index == 3 ? "comm-loss|monitor^1" : event.condition
            texts.append(pcd04.encode(event, source: index % 2 == 0 ? source : nil))
        }
        // Last: a row with the interval's minimum and maximum rows (`charting.hl7.min_max`).
        let withExtremes = PCD01Encoder(sender: HL7Tests.sender, location: HL7Tests.location, site: "clinic", box: "box-1",
                                        reportsMinimumAndMaximum: true)
        texts.append(withExtremes.encode(HL7Tests.row { values in
            values[1].value = nil
            values[1].quality = .commLoss
            values[1].minimum = nil
            values[1].maximum = nil
        }))
        return texts
    }

    /// hl7apy 1.3.5 knows no ORU_R40 in v2.6; IHE PCD TF-2 defines ORU^R40 with the segment
    /// structure of ORU_R01, so the structure is checked as ORU_R01 and the message type read back as sent.
    static let hl7apyScript = """
        import json, sys
        from hl7apy.parser import parse_message
        from hl7apy.consts import VALIDATION_LEVEL
        out = []
        for text in json.load(sys.stdin):
            structural = text.replace('|ORU^R40^ORU_R40|', '|ORU^R01^ORU_R01|', 1)
            try:
                message = parse_message(structural, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
                message.validate()
            except Exception as error:
                out.append({'error': type(error).__name__ + ': ' + str(error)[:300]})
                continue
            result = message.oru_r01_patient_result
            order = result.oru_r01_order_observation
            out.append({'control': message.msh.msh_10.to_er7(), 'profile': message.msh.msh_21.to_er7(),
                        'location': result.oru_r01_patient.oru_r01_visit.pv1.pv1_3.to_er7(),
                        'filler': order.obr.obr_3.to_er7(),
                        'obx': [[o.obx.obx_3.to_er7(), o.obx.obx_4.to_er7(), o.obx.obx_5.to_er7(), o.obx.obx_11.to_er7()]
                                for o in order.oru_r01_observation]})
        print(json.dumps(out))
        """

    static let pythonHL7Script = """
        import json, sys
        import hl7
        out = []
        for text in json.load(sys.stdin):
            message = hl7.parse(text)
            pv1 = message.segment('PV1')
            out.append({'type': str(message.segment('MSH')[9]), 'ack': [str(message.segment('MSH')[15]), str(message.segment('MSH')[16])],
                        'bed': message.unescape(str(pv1[3][0][2])),
                        'obx': [[str(s[4]), str(s[11]), message.unescape(str(s[5]))] for s in message.segments('OBX')]})
        print(json.dumps(out))
        """

    static func run(_ script: String, _ interpreter: String, _ texts: [String]) throws -> [[String: Any]] {
        let input = String(decoding: try JSONSerialization.data(withJSONObject: texts), as: UTF8.self)
        let output = try IndependentPython.run(script, input: input, interpreter: interpreter)
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
    }

    @Test func hl7apyValidatesEveryMessageKindStrictly() throws {
        let texts = Self.messages()
        let results = try Self.run(Self.hl7apyScript, Self.hl7apy, texts)
        #expect(results.count == texts.count)
        for (index, result) in results.enumerated() {
            #expect(result["error"] == nil, "message \(index) refused by hl7apy: \(result["error"] ?? "")\n\(texts[index])")
        }
        let first = results[0]
        #expect(first["control"] as? String == "chair-1-C\(HL7Tests.rowMilliseconds)")
        #expect(first["profile"] as? String == "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO")
        #expect(first["location"] as? String == "KETAMINE^2^chair-1^Clinic North")
        let observations = try #require(first["obx"] as? [[String]])
        #expect(observations.first == ["69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC", "1.0.0.0", "", "X"])
        #expect(observations.contains(["150456^MDC_PULS_OXIM_SAT_O2^MDC", "1.1.1.1", "90", "R"]))
        let commLoss = try #require(results[1]["obx"] as? [[String]])
        #expect(commLoss.allSatisfy { $0[2].isEmpty && $0[3] == "X" })
        let alarm = results[4]
        #expect(alarm["profile"] as? String == "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO")
        #expect((alarm["obx"] as? [[String]])?.map { $0[2] } == ["spo2-low", "monitor-1.spo2", "start", "active", "enabled"])
        let extremes = try #require(results.last?["obx"] as? [[String]])
        #expect(extremes.contains(["150456^MDC_PULS_OXIM_SAT_O2^MDC", "1.1.1.1.1", "90", "R"]))
        #expect(extremes.contains(["150456^MDC_PULS_OXIM_SAT_O2^MDC", "1.1.1.1.2", "99", "R"]))
    }

    /// A message with a required field broken must be refused, or the test above proves nothing.
    @Test func hl7apyRefusesABrokenRequiredField() throws {
        let good = Self.messages()[0]
        let broken = [
            good.replacingOccurrences(of: "|ORU^R01^ORU_R01|", with: "||"),  // MSH-9
            good.replacingOccurrences(of: "|2.6|", with: "|2.6x|"),  // MSH-12
            good.replacingOccurrences(of: "PV1||U|", with: "PV1|||"),  // PV1-2
            good.replacingOccurrences(of: "|150456^MDC_PULS_OXIM_SAT_O2^MDC|", with: "||"),  // OBX-3
            good.replacingOccurrences(of: "|182777000^monitoring of patient^SCT|", with: "||"),  // OBR-4
            good.replacingOccurrences(of: "|chair-1-C\(HL7Tests.rowMilliseconds)|", with: "||"),  // MSH-10
            good.replacingOccurrences(of: "|20261124083959.600+0000|", with: "|2026-11-24|"),  // OBX-14 not a DTM
            good.replacingOccurrences(of: "\rOBR|", with: "\rZZZ|"),  // no OBR
        ]
        for text in broken { #expect(text != good) }
        let results = try Self.run(Self.hl7apyScript, Self.hl7apy, broken)
        for (index, result) in results.enumerated() {
            #expect(result["error"] != nil, "broken message \(index) passed hl7apy's strict validation")
        }
    }

    @Test func pythonHL7ReadsTheFieldsBack() throws {
        let texts = Self.messages()
        let results = try Self.run(Self.pythonHL7Script, "/usr/bin/python3", texts)
        #expect(results.count == texts.count)
        #expect(results[0]["type"] as? String == "ORU^R01^ORU_R01")
        #expect(results[0]["ack"] as? [String] == ["AL", "NE"])
        #expect(results[0]["bed"] as? String == "chair-1")
        #expect(results[3]["bed"] as? String == "c&d~e\\f")
        #expect(results[4]["type"] as? String == "ORU^R40^ORU_R40")
        let renamed = try #require(results[7]["obx"] as? [[String]])
        #expect(renamed[0][2] == "comm-loss|monitor^1")
        let rows = try #require(results[0]["obx"] as? [[String]])
        #expect(rows.map { $0[0] }.prefix(3) == ["1.0.0.0", "1.1.0.0", "1.1.1.1"])
    }
}
