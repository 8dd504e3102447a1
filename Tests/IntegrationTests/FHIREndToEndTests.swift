import Foundation
import MQTT
import Testing
import TestSupport

/// Charting as FHIR R4 from end to end: Debian's mosquitto, the simulator, the agent as its
/// own process charting every 2 s. The bundles and devices that arrive are validated by
/// fhir.resources (the test venv of Deploy/install-deps.sh), carry the simulated values, and
/// chart a monitor that stopped answering as comm-loss.
@Suite(.tags(.slow))
struct FHIREndToEndTests {
    static let prefix = "bedside/test/box-1"
    static let venvPython = "/opt/bedside-gateway-test-venv/bin/python"

    static func json(_ message: MQTTClient.Message) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]
    }

    static func bed(of topic: String) -> String { topic.split(separator: "/").dropLast().last.map(String.init) ?? "" }

    /// The observation coded with MDC `code` in a bundle.
    static func observation(_ bundle: [String: Any], mdc code: String) -> [String: Any]? {
        for entry in (bundle["entry"] as? [[String: Any]]) ?? [] {
            guard let resource = entry["resource"] as? [String: Any],
                  let coding = (resource["code"] as? [String: Any])?["coding"] as? [[String: Any]] else { continue }
            if coding.contains(where: { $0["system"] as? String == "urn:iso:std:iso:11073:10101" && $0["code"] as? String == code }) {
                return resource
            }
        }
        return nil
    }

    static func isCommLoss(_ observation: [String: Any]?) -> Bool {
        guard let observation, observation["valueQuantity"] == nil, observation["status"] as? String == "cancelled" else { return false }
        return ((observation["dataAbsentReason"] as? [String: Any])?["text"] as? String)?.hasPrefix("comm-loss") == true
    }

    @Test func bundlesArriveEachIntervalValidateAndChartAStoppedMonitorAsCommLoss() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.venvPython), "no \(Self.venvPython): run Deploy/install-deps.sh")
        let rig = try PublishingRig("fhir")
        defer { rig.stopAll() }
        let broker = try rig.startBroker()
        // The second monitor stops answering 6 s after the simulator starts, for ten minutes.
        let ports = try rig.startSimulator(monitors: 2, arguments: ["--scenario", "unplugged@2", "--unplugged-after-s", "6",
                                                                    "--unplugged-s", "600"])
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 250, extra: "charting: { interval_s: 2 }")
        let bundles = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/beds/+/fhir")
        let devices = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/devices/+/fhir")
        try rig.startAgent()

        let received = bundles.wait(timeout: 90) { messages in
            let first = messages.filter { Self.bed(of: $0.topic) == "chair-1" }
            let second = messages.filter { Self.bed(of: $0.topic) == "chair-2" }
            return first.count >= 6 && second.contains { message in
                Self.json(message).map { Self.isCommLoss(Self.observation($0, mdc: "150456")) } ?? false
            }
        }
        let retained = devices.wait(timeout: 30) { $0.count >= 2 }
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")

        // What the bundles say.
        let first = received.filter { Self.bed(of: $0.topic) == "chair-1" }.compactMap(Self.json)
        let second = received.filter { Self.bed(of: $0.topic) == "chair-2" }.compactMap(Self.json)
        #expect(first.count >= 6, "chair-1 bundles: \(first.count)\n\(rig.agentOutput)")
        let commLossRows = second.filter { Self.isCommLoss(Self.observation($0, mdc: "150456")) }
        #expect(!commLossRows.isEmpty, "chair-2 was never charted as comm-loss: \(second.count) bundles\n\(rig.agentOutput)")
        // Rows fall on 2 s boundaries, one per boundary, in order (the first may be partial).
        let times = first.compactMap { $0["timestamp"] as? String }
        #expect(times == times.sorted() && Set(times).count == times.count, "\(times)")
        for time in times { #expect(time.hasSuffix(".000Z") && (Int(time.dropLast(5).suffix(2)) ?? 1) % 2 == 0, "\(time)") }
        let deviceIDs = Dictionary(retained.compactMap(Self.json).compactMap { device -> (String, String)? in
            guard let name = ((device["identifier"] as? [[String: Any]])?.first?["value"] as? String), let id = device["id"] as? String
            else { return nil }
            return (name, id)
        }, uniquingKeysWith: { a, _ in a })
        #expect(Set(deviceIDs.keys) == ["monitor-1", "monitor-2"], "\(deviceIDs)")
        for bundle in first.dropFirst() {
            // The simulated patient of chair-1: SpO2 and heart rate in the normal range, both named by monitor-1's Device.
            let spo2 = try #require(Self.observation(bundle, mdc: "150456"))
            let value = (spo2["valueQuantity"] as? [String: Any])?["value"] as? Double
            #expect(value.map { (85...100).contains($0) } == true, "SpO2 \(String(describing: spo2))")
            #expect((spo2["device"] as? [String: Any])?["reference"] as? String == "Device/\(deviceIDs["monitor-1"] ?? "?")")
            let heartRate = (Self.observation(bundle, mdc: "147842")?["valueQuantity"] as? [String: Any])?["value"] as? Double
            #expect(heartRate.map { (40...140).contains($0) } == true, "heart rate \(String(describing: heartRate))")
            #expect(Self.observation(bundle, mdc: "150020")?["component"] != nil, "no blood pressure panel")
        }

        // Every bundle and device through fhir.resources' strict R4 models.
        let file = rig.directory.appendingPathComponent("fhir-documents.jsonl")
        let lines = received.map { ["kind": "Bundle", "json": String(decoding: $0.payload, as: UTF8.self)] }
            + retained.map { ["kind": "Device", "json": String(decoding: $0.payload, as: UTF8.self)] }
        try lines.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }.joined(separator: "\n")
            .write(to: file, atomically: true, encoding: .utf8)
        let script = """
            import json, sys
            from fhir.resources.bundle import Bundle
            from fhir.resources.device import Device
            refused = 0
            for line in open(sys.argv[1]):
                item = json.loads(line)
                try:
                    (Bundle if item["kind"] == "Bundle" else Device).parse_obj(json.loads(item["json"]))
                except Exception as error:
                    refused += 1
                    print("refused " + " ".join(str(error).split())[:400])
            print("checked %d refused %d" % (sum(1 for _ in open(sys.argv[1])), refused))
            """
        let result = try runToCompletion([Self.venvPython, "-c", script, file.path], timeout: 120)
        #expect(result.status == 0 && result.output.contains("checked \(lines.count) refused 0"), "\(result.output)")
    }
}
