import Alarms
import Config
import Foundation
@testable import Gateway
import HL7
import Testing

/// What the alarm forwarder adds to an event (the parameter it concerns) and when it raises
/// the link's technical alarm; the link itself runs end to end in MLLPEndToEndTests.
struct AlarmForwarderTests {
    static func forwarder() throws -> AlarmForwarder {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("forwarder-\(UUID().uuidString)").path
        let text = PublishingConfigTests.base + """
            alarms:
              forward:
                hl7: { host: 127.0.0.1, port: 9, ack_timeout_ms: 1000, queue_directory: \(directory) }

            """
        let config = try ConfigLoader.parse(text: text, file: "config.yaml")
        return try AlarmForwarder(config: config, settings: try #require(config.alarmForward))
    }

    static func event(_ condition: String) -> AlarmEvent {
        AlarmEvent(bed: "chair-1", sequence: 1, alarm: "chair-1.\(condition).1", condition: condition, priority: .high,
                   kind: .physiological, type: .start, wallClockMilliseconds: 0, monotonicMilliseconds: 0)
    }

    @Test func aConditionNamesTheValueItConcerns() throws {
        let forwarder = try Self.forwarder()
        let spo2 = try #require(forwarder.source(of: Self.event("spo2-low")))
        #expect(spo2.device == "monitor-1" && spo2.point == "spo2" && spo2.term == MDCTerm(150456, "MDC_PULS_OXIM_SAT_O2"))
        #expect(spo2.equipment == EUI64(site: "clinic-a", box: "edge-01", device: "monitor-1"))
        #expect(forwarder.source(of: Self.event("nibp-sys-high"))?.point == "nibp_systolic")
        #expect(forwarder.source(of: Self.event("sensor-off-spo2"))?.point == "spo2")
        #expect(forwarder.source(of: Self.event("out-of-range-etco2"))?.term.name == "MDC_AWAY_CO2_ET")
        #expect(forwarder.source(of: Self.event("comm-loss-monitor-1")) == nil)
        #expect(forwarder.source(of: Self.event("agent-loop-overrun")) == nil)
    }

    @Test func theFaultWaitsForAWholeAckTimeoutOfFailure() throws {
        let forwarder = try Self.forwarder()
        // Nothing pending: a receiver nobody needs yet is no fault.
        #expect(forwarder.faultChange(nowMilliseconds: 0) == nil)
        #expect(forwarder.faultChange(nowMilliseconds: 60_000) == nil)
        #expect(!forwarder.faultRaised)
        // An event waiting and no receiver (nothing listens on port 9 here): the fault is raised
        // one ACK timeout after the failure was first seen, not before.
        try forwarder.start()
        defer { forwarder.stop() }
        forwarder.forward(Self.event("spo2-low"))
        let deadline = Date().addingTimeInterval(10)
        var failing = false
        while !failing && Date() < deadline {
            let figures = forwarder.link.currentFigures
            failing = figures.pending == 1 && figures.connectFailures > 0
            if !failing { Thread.sleep(forTimeInterval: 0.02) }
        }
        #expect(failing, "\(forwarder.link.currentFigures)")
        #expect(forwarder.faultChange(nowMilliseconds: 100_000) == nil)
        #expect(forwarder.faultChange(nowMilliseconds: 100_999) == nil)
        #expect(forwarder.faultChange(nowMilliseconds: 101_000) == true && forwarder.faultRaised)
        #expect(forwarder.faultChange(nowMilliseconds: 102_000) == nil)
    }
}
