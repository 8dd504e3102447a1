import Charting
import YAMLReader

/// `charting:`: how often each bed is charted, and whether rows go out as FHIR bundles.
extension ConfigDecoder {
    func decodeCharting(_ field: Field?) -> ChartingSettings? {
        let defaults = ChartingSettings()
        guard let field, !field.node.isNull else { return defaults }
        guard let charting = mapping(field, expected: "a mapping with the charting settings", allowedKeys: ["interval_s", "fhir"])
        else { return nil }
        let interval = optionalInteger(charting, "interval_s", in: ChartingSettings.intervalRange, default: defaults.intervalSeconds)
        var fhir: Bool? = defaults.publishesFHIR
        if let fhirField = charting.optional("fhir") { fhir = boolean(fhirField, defaultHint: "true") }
        guard let interval, let fhir else { return nil }
        return ChartingSettings(intervalSeconds: interval, publishesFHIR: fhir)
    }
}
