/// The codings a FHIR R4 consumer looks for next to our IEEE 11073 (MDC) terms, keyed by the
/// MDC reference id the register maps carry (`Sources/RegisterMaps/Nomenclature.swift`).
///
/// LOINC codes are the ones FHIR R4's vital-signs value set (observation-vitalsignresult)
/// and profiles name: heart rate 8867-4, respiratory rate 9279-1, oxygen saturation 2708-6
/// (the R4 oxygensat profile) with 59408-5 (by pulse oximetry, which US Core's pulse oximetry
/// profile adds), the blood pressure panel 85354-9 with systolic 8480-6 and diastolic 8462-4
/// components, mean blood pressure 8478-0. The pulse rate of the oximeter gets no LOINC
/// coding: the ECG's heart rate is charted as "Heart rate", and two values per row under one
/// flowsheet line would look like a conflict; its MDC coding says what it is.
enum FHIRTerms {
    static let mdcSystem = "urn:iso:std:iso:11073:10101"
    static let loincSystem = "http://loinc.org"
    static let ucumSystem = "http://unitsofmeasure.org"
    static let observationCategorySystem = "http://terminology.hl7.org/CodeSystem/observation-category"
    static let dataAbsentReasonSystem = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

    struct LOINC {
        var code: String
        var display: String
    }

    static let systolicName = "MDC_PRESS_BLD_NONINV_SYS"
    static let diastolicName = "MDC_PRESS_BLD_NONINV_DIA"
    /// The NIBP panel's own MDC term (partition 2, term 0x4A04), of which _SYS, _DIA and
    /// _MEAN are the next three codes.
    static let bloodPressurePanelMDC = (code: 150020, name: "MDC_PRESS_BLD_NONINV")
    static let bloodPressurePanelLOINC = LOINC(code: "85354-9", display: "Blood pressure panel with all children optional")

    /// The vital-sign LOINC codings of an MDC term; empty for a term outside the vital signs.
    static func loinc(forMDC name: String) -> [LOINC] {
        switch name {
        case "MDC_ECG_HEART_RATE": return [LOINC(code: "8867-4", display: "Heart rate")]
        case "MDC_RESP_RATE": return [LOINC(code: "9279-1", display: "Respiratory rate")]
        case "MDC_PULS_OXIM_SAT_O2":
            return [LOINC(code: "2708-6", display: "Oxygen saturation in Arterial blood"),
                    LOINC(code: "59408-5", display: "Oxygen saturation in Arterial blood by Pulse oximetry")]
        case systolicName: return [LOINC(code: "8480-6", display: "Systolic blood pressure")]
        case diastolicName: return [LOINC(code: "8462-4", display: "Diastolic blood pressure")]
        case "MDC_PRESS_BLD_NONINV_MEAN": return [LOINC(code: "8478-0", display: "Mean blood pressure")]
        default: return []
        }
    }

    /// MDS (whole device) types of IEEE 11073-10101, as IHE PCD messages use them.
    static let multiParameterMonitor = (code: 69965, name: "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS", text: "Patient monitor")
    static let infusionPump = (code: 69985, name: "MDC_DEV_PUMP_INFUS_MDS", text: "Infusion pump")

    /// A device's MDS type from the terms of its points: a pump's terms make it a pump, vital
    /// signs a monitor; nil for a device with neither (only status words, say).
    static func deviceType(forPointTerms names: [String]) -> (code: Int, name: String, text: String)? {
        let pumpTerms: Set<String> = ["MDC_FLOW_FLUID_PUMP", "MDC_RATE_DOSE", "MDC_VOL_FLUID_DELIV_TOTAL", "MDC_VOL_FLUID_TBI_REMAIN"]
        var vitalSigns = false
        for name in names {
            if pumpTerms.contains(name) { return infusionPump }
            if !name.isEmpty { vitalSigns = true }
        }
        return vitalSigns ? multiParameterMonitor : nil
    }

    /// The UCUM code of a unit: annotations (`{beat}`) stand for 1 in UCUM, and the vital-signs
    /// profiles expect the code without them ("/min"); the unit as configured stays the display.
    static func ucumCode(_ unit: String) -> String {
        var code = ""
        var inAnnotation = false
        for character in unit {
            if character == "{" { inAnnotation = true; continue }
            if character == "}" { inAnnotation = false; continue }
            if !inAnnotation { code.append(character) }
        }
        return code.isEmpty ? "1" : code
    }
}
