/// A document in the Prometheus text exposition format 0.0.4, written family by family.
/// Pure: no OS calls, so it is tested on its own and its output is checked with an
/// independent parser.
///
/// Each `add…` call writes one complete family: `# HELP`, `# TYPE` (once each) and its
/// samples. Names are checked before anything is written, so a rejected family leaves the
/// document as it was.
public struct PrometheusDocument {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public private(set) var text = ""
    /// Every sample name in use (a summary takes name, name_sum and name_count), so no two
    /// families can claim the same series.
    private var usedNames: Set<String> = []

    public init() {}

    public mutating func addCounter(_ name: String, help: String, samples: [PrometheusSample]) throws(PrometheusError) {
        try addSimple(name, type: "counter", help: help, samples: samples)
    }

    public mutating func addGauge(_ name: String, help: String, samples: [PrometheusSample]) throws(PrometheusError) {
        try addSimple(name, type: "gauge", help: help, samples: samples)
    }

    /// One summary family; each element of `series` is one label set with its quantiles,
    /// sum and count.
    public mutating func addSummary(_ name: String, help: String, series: [PrometheusSummary]) throws(PrometheusError) {
        let names = [name, name + "_sum", name + "_count"]
        try checkFamilyName(name, claiming: names)
        for entry in series {
            try PrometheusDocument.checkLabels(entry.labels, reserved: "quantile")
            for quantile in entry.quantiles where !(quantile.quantile >= 0 && quantile.quantile <= 1) {
                throw PrometheusError.invalidQuantile(metric: name, quantile: quantile.quantile)
            }
        }
        for used in names { usedNames.insert(used) }
        writeHeader(name, type: "summary", help: help)
        for entry in series {
            for quantile in entry.quantiles {
                let labels = entry.labels + [PrometheusLabel("quantile", PrometheusDocument.format(quantile.quantile))]
                writeSample(name, labels: labels, value: quantile.value)
            }
            writeSample(name + "_sum", labels: entry.labels, value: entry.sum)
            writeSample(name + "_count", labels: entry.labels, value: entry.count)
        }
    }

    private mutating func addSimple(_ name: String, type: String, help: String, samples: [PrometheusSample]) throws(PrometheusError) {
        try checkFamilyName(name, claiming: [name])
        for sample in samples { try PrometheusDocument.checkLabels(sample.labels, reserved: nil) }
        usedNames.insert(name)
        writeHeader(name, type: type, help: help)
        for sample in samples { writeSample(name, labels: sample.labels, value: sample.value) }
    }

    // MARK: - Checks

    private func checkFamilyName(_ name: String, claiming names: [String]) throws(PrometheusError) {
        guard PrometheusDocument.isValidMetricName(name) else { throw PrometheusError.invalidMetricName(name) }
        for claimed in names where usedNames.contains(claimed) { throw PrometheusError.duplicateMetric(claimed) }
    }

    private static func checkLabels(_ labels: [PrometheusLabel], reserved: String?) throws(PrometheusError) {
        var seen: [String] = []
        for label in labels {
            guard isValidLabelName(label.name), label.name != reserved else { throw PrometheusError.invalidLabelName(label.name) }
            if seen.contains(label.name) { throw PrometheusError.duplicateLabel(label.name) }
            seen.append(label.name)
        }
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    public static func isValidMetricName(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            let letter = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x3A
            let digit = byte >= 0x30 && byte <= 0x39
            if !(letter || (!first && digit)) { return false }
            first = false
        }
        return !first
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, and not starting with `__` (reserved for Prometheus itself).
    public static func isValidLabelName(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            let letter = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
            let digit = byte >= 0x30 && byte <= 0x39
            if !(letter || (!first && digit)) { return false }
            first = false
        }
        return !first && !name.utf8.starts(with: "__".utf8)
    }

    // MARK: - Writing

    private mutating func writeHeader(_ name: String, type: String, help: String) {
        text += "# HELP \(name) \(PrometheusDocument.escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    private mutating func writeSample(_ name: String, labels: [PrometheusLabel], value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{"
            var first = true
            for label in labels {
                text += first ? "" : ","
                text += "\(label.name)=\"\(PrometheusDocument.escapeLabelValue(label.value))\""
                first = false
            }
            text += "}"
        }
        text += " \(PrometheusDocument.format(value))\n"
    }

    /// HELP text: backslash and line feed are escaped (`\\`, `\n`); quotes stay as they are.
    public static func escapeHelp(_ help: String) -> String { escape(help, quotes: false) }

    /// Label values: backslash, double quote and line feed are escaped.
    public static func escapeLabelValue(_ value: String) -> String { escape(value, quotes: true) }

    private static func escape(_ text: String, quotes: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\""):
                if quotes { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A sample value as Prometheus (Go's ParseFloat) reads it: `NaN`, `+Inf`, `-Inf`;
    /// integral values below 2^63 as plain digits (counters stay readable, no exponent);
    /// anything else as the shortest decimal that reads back to the same Double
    /// (e.g. `0.1`, `1e-05`, `1.5e+300`).
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == value.rounded(.towardZero) && abs(value) < 9.223372036854775807e18 {
            return String(Int64(value))
        }
        return value.description
    }
}

public struct PrometheusLabel: Equatable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One series of a counter or gauge family.
public struct PrometheusSample: Equatable, Sendable {
    public var labels: [PrometheusLabel]
    public var value: Double

    public init(labels: [PrometheusLabel] = [], value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// One series of a summary family: quantiles (0...1) with their values, plus sum and count.
public struct PrometheusSummary: Equatable, Sendable {
    public struct Quantile: Equatable, Sendable {
        public var quantile: Double
        public var value: Double

        public init(_ quantile: Double, _ value: Double) {
            self.quantile = quantile
            self.value = value
        }
    }

    public var labels: [PrometheusLabel]
    public var quantiles: [Quantile]
    public var sum: Double
    public var count: Double

    public init(labels: [PrometheusLabel] = [], quantiles: [Quantile], sum: Double, count: Double) {
        self.labels = labels
        self.quantiles = quantiles
        self.sum = sum
        self.count = count
    }
}

/// A family the writer refused: a programming error in the agent, reported with the name.
public enum PrometheusError: Error, Equatable, CustomStringConvertible {
    case invalidMetricName(String)
    case invalidLabelName(String)
    case duplicateMetric(String)
    case duplicateLabel(String)
    case invalidQuantile(metric: String, quantile: Double)

    public var description: String {
        switch self {
        case .invalidMetricName(let name): return "invalid Prometheus metric name '\(name)' (allowed: [a-zA-Z_:][a-zA-Z0-9_:]*)"
        case .invalidLabelName(let name):
            return "invalid Prometheus label name '\(name)' (allowed: [a-zA-Z_][a-zA-Z0-9_]*, not starting with __, not 'quantile' in a summary)"
        case .duplicateMetric(let name): return "Prometheus metric '\(name)' is written twice"
        case .duplicateLabel(let name): return "Prometheus label '\(name)' appears twice in one sample"
        case .invalidQuantile(let metric, let quantile):
            return "summary '\(metric)' has quantile \(PrometheusDocument.format(quantile)), outside 0...1"
        }
    }
}
