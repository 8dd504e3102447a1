import Foundation
import Health
import MLLP
import Testing
@testable import Gateway

/// The Prometheus text format writer: escaping, numbers, name checks, and a whole document
/// read back by prometheus_client's parser (Debian's python3-prometheus-client), an
/// implementation that shares nothing with ours.
struct PrometheusTests {
    @Test func labelValuesEscapeBackslashQuoteAndLineFeed() {
        #expect(PrometheusDocument.escapeLabelValue(#"a\b"c"# + "\nd") == #"a\\b\"c\nd"#)
        #expect(PrometheusDocument.escapeLabelValue("Bett 3 – Süd {x=1,y}") == "Bett 3 – Süd {x=1,y}")
        #expect(PrometheusDocument.escapeLabelValue(#"\\"#) == #"\\\\"#)
    }

    @Test func helpEscapesBackslashAndLineFeedButNotQuotes() {
        #expect(PrometheusDocument.escapeHelp(#"say "hi" \ now"# + "\nthen") == #"say "hi" \\ now\nthen"#)
    }

    @Test func numbersAreWrittenAsPrometheusReadsThem() {
        let cases: [(Double, String)] = [
            (0, "0"), (42, "42"), (-7, "-7"), (-0.0, "0"), (1e15, "1000000000000000"),
            (9_007_199_254_740_993, "9007199254740992"), (0.1, "0.1"), (-2.5, "-2.5"), (1e-5, "1e-05"),
            (1.5e300, "1.5e+300"), (1e19, "1e+19"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
        ]
        for (value, expected) in cases {
            #expect(PrometheusDocument.format(value) == expected, "format(\(value))")
        }
    }

    @Test func everyFiniteValueReadsBackExactly() {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<20_000 {
            let value = Double(bitPattern: generator.next())
            guard value.isFinite else { continue }
            let text = PrometheusDocument.format(value)
            #expect(Double(text) == value, "\(value) written as \(text)")
            if value == value.rounded() && abs(value) < 1e18 { #expect(!text.contains("e"), "integer \(value) written as \(text)") }
        }
    }

    @Test func namesAreChecked() {
        #expect(PrometheusDocument.isValidMetricName("bedside_samples_total"))
        #expect(PrometheusDocument.isValidMetricName("ns:rule_x"))
        for bad in ["", "1abc", "a-b", "bed space", "süd"] { #expect(!PrometheusDocument.isValidMetricName(bad), "\(bad)") }
        #expect(PrometheusDocument.isValidLabelName("bed_id"))
        for bad in ["", "9a", "__name__", "a:b", "a-b"] { #expect(!PrometheusDocument.isValidLabelName(bad), "\(bad)") }
    }

    @Test func rejectedFamiliesLeaveTheDocumentUnchanged() throws {
        var document = PrometheusDocument()
        try document.addGauge("up", help: "1 when running", samples: [PrometheusSample(value: 1)])
        try document.addGauge("latency_sum", help: "collides with a summary's _sum", samples: [])
        let before = document.text

        #expect(throws: PrometheusError.invalidMetricName("bad-name")) {
            try document.addCounter("bad-name", help: "", samples: [])
        }
        #expect(throws: PrometheusError.duplicateMetric("up")) {
            try document.addCounter("up", help: "", samples: [])
        }
        #expect(throws: PrometheusError.duplicateMetric("latency_sum")) {
            try document.addSummary("latency", help: "", series: [])
        }
        #expect(throws: PrometheusError.invalidLabelName("__bed")) {
            try document.addGauge("g1", help: "", samples: [PrometheusSample(labels: [PrometheusLabel("__bed", "1")], value: 1)])
        }
        #expect(throws: PrometheusError.duplicateLabel("bed")) {
            try document.addGauge("g2", help: "", samples: [PrometheusSample(labels: [PrometheusLabel("bed", "1"), PrometheusLabel("bed", "2")], value: 1)])
        }
        #expect(throws: PrometheusError.invalidLabelName("quantile")) {
            try document.addSummary("s1", help: "", series: [PrometheusSummary(labels: [PrometheusLabel("quantile", "x")], quantiles: [], sum: 0, count: 0)])
        }
        #expect(throws: PrometheusError.invalidQuantile(metric: "s2", quantile: 1.5)) {
            try document.addSummary("s2", help: "", series: [PrometheusSummary(quantiles: [.init(1.5, 1)], sum: 0, count: 0)])
        }
        #expect(document.text == before)
        // A rejected name is not taken: the family can still be written correctly afterwards.
        try document.addGauge("g1", help: "", samples: [])
        #expect(document.text.hasSuffix("# TYPE g1 gauge\n"))
    }

    @Test func helpAndTypeAppearOnceEachPerFamily() throws {
        let (document, families) = try Self.trickyDocument()
        let lines = document.text.split(separator: "\n").map(String.init)
        for family in families {
            #expect(lines.filter { $0.hasPrefix("# HELP \(family.name) ") }.count == 1, "HELP of \(family.name)")
            #expect(lines.filter { $0 == "# TYPE \(family.name) \(family.type)" }.count == 1, "TYPE of \(family.name)")
        }
        #expect(lines.filter { $0.hasPrefix("#") }.count == 2 * families.count)
        #expect(PrometheusDocument.contentType == "text/plain; version=0.0.4; charset=utf-8")
    }

    @Test func anIndependentParserReadsBackEveryKindOfFamily() throws {
        let (document, families) = try Self.trickyDocument()
        let parsed = try Self.parseWithPrometheusClient(document.text)

        #expect(parsed.count == families.count, "families: \(parsed.map(\.name))\n\(document.text)")
        for (family, read) in zip(families, parsed) {
            // prometheus_client names a counter family without its `_total` suffix.
            let expectedName = family.type == "counter" && family.name.hasSuffix("_total")
                ? String(family.name.dropLast(6)) : family.name
            #expect(read.name == expectedName)
            #expect(read.type == family.type, "type of \(family.name)")
            #expect(read.help == family.help, "help of \(family.name)")
            #expect(read.samples.count == family.samples.count, "samples of \(family.name)")
            for (sample, readSample) in zip(family.samples, read.samples) {
                #expect(readSample.name == sample.name)
                #expect(Set(readSample.labels.keys) == Set(sample.labels.keys), "label names of \(sample.name)")
                for (name, value) in sample.labels {
                    if name == "quantile" {
                        #expect(Double(readSample.labels[name] ?? "") == Double(value), "quantile of \(sample.name)")
                    } else {
                        #expect(readSample.labels[name] == value, "label \(name) of \(sample.name)")
                    }
                }
                let readValue = Double(readSample.value) ?? -1
                #expect(readValue == sample.value || (readValue.isNaN && sample.value.isNaN),
                        "\(sample.name)\(sample.labels): wrote \(sample.value), read \(readSample.value)")
            }
        }
    }

    // MARK: - Fixtures

    /// What the test expects a family to read back as.
    struct ExpectedFamily {
        var name: String
        var type: String
        var help: String
        var samples: [(name: String, labels: [String: String], value: Double)]
    }

    /// A document with every kind of family, awkward labels and help, and awkward values;
    /// with the families as they were written, to compare with what a parser reads.
    /// Both MLLP links in one family each, told apart by `link`; the names stay as they were.
    @Test func theAlarmAndChartingLinksAreOneFamilyEachWithALinkLabel() throws {
        var figures = HealthFigures()
        var alarms = MLLPFigures()
        alarms.connected = true
        alarms.sent = 5
        var charting = MLLPFigures()
        charting.pending = 7
        charting.connectFailures = 3
        figures.publishing.alarmForward = ("127.0.0.1:2575", alarms, false)
        figures.publishing.chartForward = ("127.0.0.1:2576", charting, true)
        let families = try Self.parseWithPrometheusClient(HealthDocuments.metrics(figures))
        func samples(_ name: String) -> [String: String] {
            var byLink: [String: String] = [:]
            for family in families { for sample in family.samples where sample.name == name { byLink[sample.labels["link"] ?? "?"] = sample.value } }
            return byLink
        }
        #expect(samples("bedside_hl7_connected") == ["alarms": "1.0", "charting": "0.0"])
        #expect(samples("bedside_hl7_pending_messages") == ["alarms": "0.0", "charting": "7.0"])
        #expect(samples("bedside_hl7_fault") == ["alarms": "0.0", "charting": "1.0"])
        #expect(samples("bedside_hl7_sent_total") == ["alarms": "5.0", "charting": "0.0"])
        #expect(samples("bedside_hl7_connect_failures_total") == ["alarms": "0.0", "charting": "3.0"])

        figures.publishing.alarmForward = nil
        let chartingOnly = try Self.parseWithPrometheusClient(HealthDocuments.metrics(figures))
        let pending = chartingOnly.flatMap(\.samples).filter { $0.name == "bedside_hl7_pending_messages" }
        #expect(pending.map(\.labels) == [["link": "charting"]])
    }

    static func trickyDocument() throws -> (PrometheusDocument, [ExpectedFamily]) {
        let awkward = [#"back\slash"#, #"say "hi""#, "two\nlines", "Bett 3 – Süd", "{x=1,y=\"2\"}", #"trailing\"#, "", "#not a comment"]
        var document = PrometheusDocument()
        var families: [ExpectedFamily] = []

        let counterSamples = awkward.enumerated().map { index, value in
            PrometheusSample(labels: [PrometheusLabel("bed", value), PrometheusLabel("device", "pump-\(index)")], value: Double(index * 1000 + 7))
        }
        let counterHelp = #"Samples read, by bed. Backslash \ and "quotes" and"# + "\na second line"
        try document.addCounter("bedside_samples_total", help: counterHelp, samples: counterSamples)
        families.append(ExpectedFamily(name: "bedside_samples_total", type: "counter", help: counterHelp,
                                       samples: counterSamples.map { ("bedside_samples_total", Self.dictionary($0.labels), $0.value) }))

        let gaugeValues: [Double] = [0, -1, 0.1, 1e-5, 123_456.789, 1.5e300, 2.5e-300, .infinity, -.infinity, .nan, 9_007_199_254_740_993]
        let gaugeSamples = gaugeValues.enumerated().map { index, value in
            PrometheusSample(labels: [PrometheusLabel("case", "c\(index)")], value: value)
        }
        try document.addGauge("bedside_test_value", help: "Values that are awkward to print.", samples: gaugeSamples)
        families.append(ExpectedFamily(name: "bedside_test_value", type: "gauge", help: "Values that are awkward to print.",
                                       samples: gaugeSamples.map { ("bedside_test_value", Self.dictionary($0.labels), $0.value) }))

        try document.addGauge("bedside_up", help: "1 while the agent runs.", samples: [PrometheusSample(value: 1)])
        families.append(ExpectedFamily(name: "bedside_up", type: "gauge", help: "1 while the agent runs.",
                                       samples: [("bedside_up", [:], 1)]))

        let series = [
            PrometheusSummary(labels: [PrometheusLabel("bus", "tcp \"A\"")],
                              quantiles: [.init(0.5, 0.0012), .init(0.9, 0.0031), .init(0.99, 0.015)], sum: 12.75, count: 9000),
            PrometheusSummary(labels: [PrometheusLabel("bus", "rtu\\1")], quantiles: [.init(0, 0.001), .init(1, 0.2)], sum: 0.5, count: 3),
        ]
        try document.addSummary("bedside_cycle_seconds", help: "Bus cycle time.", series: series)
        var summarySamples: [(name: String, labels: [String: String], value: Double)] = []
        for entry in series {
            for quantile in entry.quantiles {
                var labels = Self.dictionary(entry.labels)
                labels["quantile"] = String(quantile.quantile)
                summarySamples.append(("bedside_cycle_seconds", labels, quantile.value))
            }
            summarySamples.append(("bedside_cycle_seconds_sum", Self.dictionary(entry.labels), entry.sum))
            summarySamples.append(("bedside_cycle_seconds_count", Self.dictionary(entry.labels), entry.count))
        }
        families.append(ExpectedFamily(name: "bedside_cycle_seconds", type: "summary", help: "Bus cycle time.", samples: summarySamples))

        try document.addCounter("bedside_restarts_total", help: "", samples: [])
        families.append(ExpectedFamily(name: "bedside_restarts_total", type: "counter", help: "", samples: []))
        return (document, families)
    }

    static func dictionary(_ labels: [PrometheusLabel]) -> [String: String] {
        var result: [String: String] = [:]
        for label in labels { result[label.name] = label.value }
        return result
    }

    struct ParsedFamily: Decodable {
        var name: String
        var type: String
        var help: String
        var samples: [ParsedSample]
    }

    struct ParsedSample: Decodable {
        var name: String
        var labels: [String: String]
        /// Python's repr of the float: "0.1", "inf", "nan", ...
        var value: String
    }

    /// Feeds `text` to prometheus_client's parser on stdin and returns what it read.
    static func parseWithPrometheusClient(_ text: String) throws -> [ParsedFamily] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            families = []
            for family in text_string_to_metric_families(sys.stdin.read()):
                families.append({"name": family.name, "type": family.type, "help": family.documentation,
                                 "samples": [{"name": s.name, "labels": s.labels, "value": repr(s.value)} for s in family.samples]})
            print(json.dumps(families))
            """
        let output = try IndependentPython.run(script, input: text)
        return try JSONDecoder().decode([ParsedFamily].self, from: Data(output.utf8))
    }
}

/// Debian's python3, the one python3-prometheus-client is installed for, whatever
/// `python3` on PATH is (a pyenv shim on some machines).
enum IndependentPython {
    /// The venv Deploy/install-deps.sh makes with hl7apy and fhir.resources.
    static let testVenv = "/opt/bedside-gateway-test-venv/bin/python"
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `script` with `input` on stdin; returns stdout, throws with stderr. `interpreter`:
    /// Debian's python3, or the test venv's (`testVenv`) for the PyPI validators.
    static func run(_ script: String, input: String = "", interpreter: String = "/usr/bin/python3") throws -> String {
        guard FileManager.default.isExecutableFile(atPath: interpreter) else {
            throw Failure(description: "\(interpreter) is missing: run Deploy/install-deps.sh")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = ["-c", script]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Drain both pipes while writing, so a large output cannot fill a pipe and stall python.
        let group = DispatchGroup()
        nonisolated(unsafe) var output = Data(), errors = Data()
        DispatchQueue.global().async(group: group) { output = stdout.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errors = stderr.fileHandleForReading.readDataToEndOfFile() }
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        group.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(interpreter) exited with \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}
