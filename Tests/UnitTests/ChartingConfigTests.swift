import Charting
@testable import Config
import Testing

/// `charting:`: the interval and the FHIR output, their defaults and their mistakes.
struct ChartingConfigTests {
    @Test func defaultsChartEveryMinuteAsFHIR() throws {
        let config = try ConfigLoader.parse(text: PublishingConfigTests.base, file: "config.yaml")
        #expect(config.charting == ChartingSettings(intervalSeconds: 60, publishesFHIR: true))
    }

    @Test func everyChartingKeyIsRead() throws {
        let config = try ConfigLoader.parse(text: PublishingConfigTests.base + "charting: { interval_s: 300, fhir: false }\n",
                                            file: "config.yaml")
        #expect(config.charting == ChartingSettings(intervalSeconds: 300, publishesFHIR: false))
    }

    @Test func mistakesNameTheirPositionAndKey() {
        let cases: [(String, String)] = [
            ("charting: { interval_s: 0 }\n", "config.yaml:9:25: charting.interval_s: 0 is out of range (1...3600)"),
            ("charting: { interval_s: 3601 }\n", "config.yaml:9:25: charting.interval_s: 3601 is out of range (1...3600)"),
            ("charting: { interval: 60 }\n", "config.yaml:9:13: charting.interval: unknown key (expected one of: interval_s, fhir, hl7)"),
        ]
        for (addition, expected) in cases {
            do {
                _ = try ConfigLoader.parse(text: PublishingConfigTests.base + addition, file: "config.yaml")
                Issue.record("accepted: \(addition)")
            } catch {
                #expect(error.description.contains(expected), "\(error.description)")
            }
        }
        do {
            _ = try ConfigLoader.parse(text: PublishingConfigTests.base + "charting: { fhir: yes please }\n", file: "config.yaml")
            Issue.record("accepted a non-boolean fhir")
        } catch {
            #expect(error.description.contains("config.yaml:9:19: charting.fhir:"), "\(error.description)")
        }
    }
}
