import Config
import HL7
import Testing

/// `alarms.forward.hl7`, `charting.hl7` and the beds' `location:`.
struct HL7ConfigTests {
    static let base = PublishingConfigTests.base

    @Test func forwardingIsOffUnlessConfigured() throws {
        let config = try ConfigLoader.parse(text: Self.base, file: "config.yaml")
        #expect(config.alarmForward == nil)
        #expect(config.chartForward == nil)
        #expect(config.beds[0].location == BedLocation(pointOfCare: "", room: "", bed: "chair-1", facility: ""))
    }

    @Test func forwardingAndLocationsAreRead() throws {
        let text = Self.base.replacingOccurrences(of: "  - id: chair-1\n", with: """
              - id: chair-1
                location: { point_of_care: KETAMINE, room: "2", bed: "B|1", facility: Clinic North }

            """) + """
            alarms:
              forward:
                hl7: { host: 10.0.0.9, port: 2575, ack_timeout_ms: 3000, error_attempts: 2, facility: Clinic North }

            """
        let config = try ConfigLoader.parse(text: text, file: "config.yaml")
        let forward = try #require(config.alarmForward)
        #expect(forward.link.host == "10.0.0.9" && forward.link.port == 2575)
        #expect(forward.link.ackTimeoutMilliseconds == 3000 && forward.link.errorAttempts == 2)
        #expect(forward.link.queue.directory == "/var/lib/bedside-gateway/hl7-alarms")
        #expect(forward.facility == "Clinic North")
        #expect(config.beds[0].location == BedLocation(pointOfCare: "KETAMINE", room: "2", bed: "B|1", facility: "Clinic North"))
    }

    @Test func mistakesNameTheirPositionAndKey() {
        let cases: [(String, String)] = [
            ("alarms:\n  forward:\n    hl7: { port: 2575 }\n", "config.yaml:11:10: alarms.forward.hl7: missing required key 'host'"),
            ("alarms:\n  forward:\n    hl7: { host: a, port: 70000 }\n", "config.yaml:11:27: alarms.forward.hl7.port: 70000 is out of range (1...65535)"),
            ("alarms:\n  forward:\n    hl7: { host: a, port: 1, ack_timeout_ms: 5 }\n",
             "config.yaml:11:46: alarms.forward.hl7.ack_timeout_ms: 5 is out of range (100...600000)"),
            ("alarms:\n  forward:\n    mllp: {}\n", "config.yaml:11:5: alarms.forward.mllp: unknown key"),
        ]
        for (addition, expected) in cases {
            let errors = renderedErrors(Self.base + addition)
            #expect(errors.count == 1 && errors.first?.hasPrefix(expected) == true, "\(addition): \(errors)")
        }
    }

    @Test func chartingLinkIsReadWithItsOwnQueue() throws {
        let text = Self.base + """
            queue: { directory: /data/queue }
            charting:
              interval_s: 30
              hl7: { host: charts.example, port: 2576, facility: Clinic North, min_max: true }
            alarms:
              forward:
                hl7: { host: 10.0.0.9, port: 2575 }

            """
        let config = try ConfigLoader.parse(text: text, file: "config.yaml")
        let charts = try #require(config.chartForward)
        #expect(charts.link.host == "charts.example" && charts.link.port == 2576 && charts.facility == "Clinic North")
        #expect(charts.link.queue.directory == "/data/hl7-charting")
        #expect(config.alarmForward?.link.queue.directory == "/data/hl7-alarms")
        #expect(config.charting.intervalSeconds == 30)
        #expect(charts.reportsMinimumAndMaximum && config.alarmForward?.reportsMinimumAndMaximum == false)
    }

    @Test func chartingLinkMistakesNameTheirPosition() {
        let cases: [(String, String)] = [
            ("charting:\n  hl7: { port: 2575 }\n", "config.yaml:10:8: charting.hl7: missing required key 'host'"),
            ("charting:\n  hl7: { host: a, port: 1, queue_direktory: /x }\n", "config.yaml:10:28: charting.hl7.queue_direktory: unknown key"),
            ("charting:\n  hl7: { host: a, port: 1, min_max: often }\n", "config.yaml:10:37: charting.hl7.min_max:"),
            ("alarms:\n  forward:\n    hl7: { host: b, port: 2, min_max: true }\n", "config.yaml:11:30: alarms.forward.hl7.min_max: unknown key"),
            ("charting:\n  hl7: { host: a, port: 1, queue_directory: /q }\nalarms:\n  forward:\n    hl7: { host: b, port: 2, queue_directory: /q }\n",
             "config.yaml:10:8: charting.hl7: the charting HL7 queue needs a directory of its own, not the alarm link's (\"/q\")"),
        ]
        for (addition, expected) in cases {
            let errors = renderedErrors(Self.base + addition)
            #expect(errors.count == 1 && errors.first?.hasPrefix(expected) == true, "\(addition): \(errors)")
        }
    }
}
