import Foundation
import MQTT
import Testing
@testable import Gateway

/// The publisher's charting: Device resources retained on connection, a bundle per bed and
/// interval through the disk queue, and a bundle sent again tagged replayed inside FHIR.
struct PublisherChartingTests {
    static let prefix = PublisherTests.prefix

    static func bundles(_ sink: RecordingSink, bed: String) -> [RecordingSink.Message] {
        sink.published.filter { $0.topic == "\(prefix)/beds/\(bed)/fhir" }
    }

    static func spo2(_ bundle: RecordingSink.Message) -> Double? {
        for entry in (bundle.json["entry"] as? [[String: Any]]) ?? [] {
            guard let resource = entry["resource"] as? [String: Any],
                  (resource["code"] as? [String: Any])?["text"] as? String == "spo2" else { continue }
            return (resource["valueQuantity"] as? [String: Any])?["value"] as? Double
        }
        return nil
    }

    static func isTaggedReplayed(_ bundle: RecordingSink.Message) -> Bool {
        let tags = ((bundle.json["meta"] as? [String: Any])?["tag"] as? [[String: Any]]) ?? []
        return tags.contains { $0["code"] as? String == "replayed" }
    }

    @Test func aBundlePerIntervalGoesThroughTheQueueAndIsTaggedWhenSentAgain() throws {
        let world = try PublisherWorld("charting")
        defer { world.remove() }
        world.connect()
        let devices = world.sink.published.filter { $0.topic.hasPrefix("\(Self.prefix)/devices/") && $0.topic.hasSuffix("/fhir") }
        #expect(devices.map(\.topic).sorted() == ["\(Self.prefix)/devices/monitor-1/fhir", "\(Self.prefix)/devices/monitor-2/fhir"])
        #expect(devices.allSatisfy { $0.retain && $0.qos == .atLeastOnce && $0.json["resourceType"] as? String == "Device" })

        // The clock starts at 22:13:20.000 plus a few steps: the first boundary is 22:14:00.
        world.completeCycle(device: 0, value: 93)
        world.step()
        #expect(Self.bundles(world.sink, bed: "chair-1").isEmpty, "no boundary crossed yet")
        world.clock.advance(milliseconds: 40_000)
        world.completeCycle(device: 0, value: 97)
        world.step()
        let first = try #require(Self.bundles(world.sink, bed: "chair-1").first)
        #expect(first.qos == .atLeastOnce && !first.retain)
        #expect(first.json["timestamp"] as? String == "2023-11-14T22:14:00.000Z")
        #expect(Self.spo2(first) == 93, "the value read before the boundary, not the one after it")
        #expect(!Self.isTaggedReplayed(first))
        #expect(world.publisher.figures.pendingMessages == 3, "two vitals and the bundle wait for their PUBACKs")

        // Lost before its PUBACK: sent again after the reconnection, tagged inside FHIR.
        world.sink.connected = false
        world.publisher.inbox.post(.lost(code: 7))
        world.step()
        world.sink.published.removeAll()
        world.connect()
        let again = try #require(Self.bundles(world.sink, bed: "chair-1").first)
        #expect(Self.isTaggedReplayed(again) && again.json["replayed"] == nil)
        #expect(again.json["id"] as? String == first.json["id"] as? String)
        #expect(Self.spo2(again) == 93)
    }
}
