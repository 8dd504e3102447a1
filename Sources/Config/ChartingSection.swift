import Charting
import MLLP
import StoreAndForward
import YAMLReader

/// `charting:`: how often each bed is charted, whether rows go out as FHIR bundles, and
/// where they go as IHE PCD-01 (`hl7:`).
extension ConfigDecoder {
    /// `hl7:`'s queue lives next to the disk queue's directory (/var/lib/bedside-gateway/hl7-charting
    /// with the default queue) unless `queue_directory` says.
    func decodeCharting(_ field: Field?, queueDirectory: String?) -> ChartingSettings? {
        let defaults = ChartingSettings()
        guard let field, !field.node.isNull else { return defaults }
        guard let charting = mapping(field, expected: "a mapping with the charting settings (interval_s, fhir, hl7)",
                                     allowedKeys: ["interval_s", "fhir", "hl7"])
        else { return nil }
        let interval = optionalInteger(charting, "interval_s", in: ChartingSettings.intervalRange, default: defaults.intervalSeconds)
        var fhir: Bool? = defaults.publishesFHIR
        if let fhirField = charting.optional("fhir") { fhir = boolean(fhirField, defaultHint: "true") }
        var hl7Complete = true
        if let hl7Field = charting.optional("hl7"), !hl7Field.node.isNull {
            chartForward = decodeHL7Link(hl7Field, queueDirectory: queueDirectory, queueName: "hl7-charting", charting: true)
            hl7Complete = chartForward != nil
            if let charts = chartForward?.link.queue.directory, let alarms = alarmForward?.link.queue.directory, charts == alarms {
                report(hl7Field, "the charting HL7 queue needs a directory of its own, not the alarm link's (\(quote(alarms))): set queue_directory")
                chartForward = nil
                hl7Complete = false
            }
        }
        guard let interval, let fhir, hl7Complete else { return nil }
        return ChartingSettings(intervalSeconds: interval, publishesFHIR: fhir)
    }
}
