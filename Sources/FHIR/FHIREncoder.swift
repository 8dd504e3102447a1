import Charting
import JSON
import Platform
import Vitals

/// Who writes the resources: the box's site and id, which make every id and identifier
/// system unique to the box (beds and devices are unique only within one box).
public struct FHIRContext: Sendable {
    public var site: String
    public var box: String

    public init(site: String, box: String) {
        self.site = site
        self.box = box
    }

    /// `urn:bedside-gateway:<site>:<box>:<kind>`: the system of the box's bed, device and row
    /// identifiers. Site and box ids are letters, digits, '-', '_' and '.', all valid in a URN.
    func identifierSystem(_ kind: String) -> String { "urn:bedside-gateway:\(site):\(box):\(kind)" }
}

/// FHIR R4 resources for charting, following the HL7 Point-of-Care Device IG's flat model: one
/// Observation per charted value, whose `device` is the monitor's Device. Pure: text out.
///
/// A chart row becomes a Bundle of type `collection` (see `bundle`); each device becomes a
/// Device resource (see `device`), published retained apart from the bundles. No `subject`:
/// the box knows no patient. The bed is carried as a logical Location reference (an
/// identifier, no resource) on the Device (`location`) and on every Observation (the R4
/// `event-location` extension), which is how an EHR binds the observations to the patient its
/// ADT placed in that bed.
public enum FHIREncoder {
    /// The complex extension carrying what a row says beyond the value at its boundary.
    public static let chartingIntervalURL = "urn:bedside-gateway:fhir:charting-interval"
    public static let eventLocationURL = "http://hl7.org/fhir/StructureDefinition/event-location"
    public static let deliveryTagSystem = "urn:bedside-gateway:fhir:delivery"

    /// The id of a device's Device resource: the same on every start of the same box.
    public static func deviceID(_ device: String, context: FHIRContext) -> String {
        stableUUID("device|\(context.site)|\(context.box)|\(device)")
    }

    /// The Device resource of the description's device at `index`.
    public static func device(at index: Int, of description: BedDescription, context: FHIRContext) -> String {
        let name = description.devices[index]
        var json = JSONWriter()
        json.beginObject()
        json.member("resourceType", "Device")
        json.member("id", deviceID(name, context: context))
        json.key("identifier")
        json.beginArray()
        json.beginObject()
        json.member("system", context.identifierSystem("device"))
        json.member("value", name)
        json.endObject()
        json.endArray()
        json.member("status", "active")
        json.key("deviceName")
        json.beginArray()
        json.beginObject()
        json.member("name", name)
        json.member("type", "user-friendly-name")
        json.endObject()
        json.endArray()
        var terms: [String] = []
        for entry in description.entries where entry.deviceIndex == index { terms.append(entry.mdcName) }
        if let type = FHIRTerms.deviceType(forPointTerms: terms) {
            json.key("type")
            json.beginObject()
            json.key("coding")
            json.beginArray()
            appendCoding(&json, system: FHIRTerms.mdcSystem, code: String(type.code), display: type.name)
            json.endArray()
            json.member("text", type.text)
            json.endObject()
        }
        json.key("location")
        appendBedReference(&json, bed: description.bedID, context: context)
        json.endObject()
        return json.text
    }

    /// The Bundle (type `collection`) of one chart row: one Observation per charted entry with
    /// an MDC term (status words and times have none and are left out), and one blood
    /// pressure panel per device with both a systolic and a diastolic pressure.
    public static func bundle(_ row: ChartRow, context: FHIRContext) -> String {
        let description = row.description
        let rowTime = formatUTCTimestamp(millisecondsSinceEpoch: row.rowMilliseconds)
        var json = JSONWriter()
        json.beginObject()
        json.member("resourceType", "Bundle")
        json.member("id", stableUUID("row|\(context.site)|\(context.box)|\(row.bedID)|\(row.rowMilliseconds)"))
        json.key("identifier")
        json.beginObject()
        json.member("system", context.identifierSystem("chart-row"))
        json.member("value", "\(row.bedID)/\(rowTime)")
        json.endObject()
        json.member("type", "collection")
        json.member("timestamp", rowTime)
        json.key("entry")
        json.beginArray()
        var partnerOf = [Int?](repeating: nil, count: description.entries.count)
        for (index, entry) in description.entries.enumerated() where entry.mdcName == FHIRTerms.systolicName {
            for (other, candidate) in description.entries.enumerated()
            where candidate.deviceIndex == entry.deviceIndex && candidate.mdcName == FHIRTerms.diastolicName && partnerOf[other] == nil {
                partnerOf[index] = other
                partnerOf[other] = index
                break
            }
        }
        for charted in row.values where charted.entry >= 0 && charted.entry < description.entries.count {
            let entry = description.entries[charted.entry]
            guard !entry.mdcName.isEmpty else { continue }
            if let partner = partnerOf[charted.entry] {
                // The panel is written once, where its systolic entry comes.
                guard entry.mdcName == FHIRTerms.systolicName,
                      let diastolic = row.values.first(where: { $0.entry == partner }) else { continue }
                appendEntry(&json, id: observationID(row, entry: entry, context: context)) { json in
                    appendBloodPressurePanel(&json, row: row, systolic: charted, diastolic: diastolic, rowTime: rowTime,
                                             context: context)
                }
            } else {
                appendEntry(&json, id: observationID(row, entry: entry, context: context)) { json in
                    appendObservation(&json, row: row, charted: charted, rowTime: rowTime, context: context)
                }
            }
        }
        json.endArray()
        json.endObject()
        return json.text
    }

    /// A bundle as replayed from the disk queue: tagged `replayed` in `Bundle.meta.tag` (a
    /// member outside FHIR, as the vitals messages carry, would make it invalid), everything
    /// else as first written.
    public static func markedReplayed(_ payload: [UInt8]) -> [UInt8] {
        guard let open = payload.firstIndex(of: UInt8(ascii: "{")) else { return payload }
        var marked = Array(payload[...open])
        var tag = JSONWriter()
        tag.key("meta")
        tag.beginObject()
        tag.key("tag")
        tag.beginArray()
        appendCoding(&tag, system: deliveryTagSystem, code: "replayed",
                     display: "sent again from the box's disk queue; the receiver may hold it already")
        tag.endArray()
        tag.endObject()
        marked.append(contentsOf: Array(tag.text.utf8))
        marked.append(UInt8(ascii: ","))
        marked.append(contentsOf: payload[payload.index(after: open)...])
        return marked
    }

    // MARK: Resources

    private static func observationID(_ row: ChartRow, entry: BedDescription.Entry, context: FHIRContext) -> String {
        stableUUID("observation|\(context.site)|\(context.box)|\(row.bedID)|\(row.rowMilliseconds)|\(entry.name)")
    }

    private static func appendEntry(_ json: inout JSONWriter, id: String, resource: (inout JSONWriter) -> Void) {
        json.beginObject()
        json.member("fullUrl", "urn:uuid:\(id)")
        json.key("resource")
        json.beginObject()
        json.member("resourceType", "Observation")
        json.member("id", id)
        resource(&json)
        json.endObject()
        json.endObject()
    }

    private static func appendObservation(_ json: inout JSONWriter, row: ChartRow, charted: ChartedValue, rowTime: String,
                                          context: FHIRContext) {
        let entry = row.description.entries[charted.entry]
        json.key("extension")
        json.beginArray()
        appendChartingInterval(&json, row: row, charted: charted, unit: entry.unit)
        appendEventLocation(&json, bed: row.bedID, context: context)
        json.endArray()
        json.member("status", hasValue(charted) ? "final" : "cancelled")
        let loinc = FHIRTerms.loinc(forMDC: entry.mdcName)
        appendCategory(&json, vitalSign: !loinc.isEmpty)
        appendCode(&json, mdcCode: entry.mdcCode, mdcName: entry.mdcName, loinc: loinc, text: entry.name)
        json.member("effectiveDateTime", rowTime)
        appendValueOrAbsence(&json, charted: charted, entry: entry)
        appendDeviceReference(&json, device: entry.device, context: context)
    }

    private static func appendBloodPressurePanel(_ json: inout JSONWriter, row: ChartRow, systolic: ChartedValue,
                                                 diastolic: ChartedValue, rowTime: String, context: FHIRContext) {
        let systolicEntry = row.description.entries[systolic.entry]
        json.key("extension")
        json.beginArray()
        appendEventLocation(&json, bed: row.bedID, context: context)
        json.endArray()
        json.member("status", hasValue(systolic) || hasValue(diastolic) ? "final" : "cancelled")
        appendCategory(&json, vitalSign: true)
        let panel = FHIRTerms.bloodPressurePanelMDC
        appendCode(&json, mdcCode: panel.code, mdcName: panel.name, loinc: [FHIRTerms.bloodPressurePanelLOINC],
                   text: "blood pressure (non-invasive)")
        json.member("effectiveDateTime", rowTime)
        appendDeviceReference(&json, device: systolicEntry.device, context: context)
        json.key("component")
        json.beginArray()
        for charted in [systolic, diastolic] {
            let entry = row.description.entries[charted.entry]
            json.beginObject()
            json.key("extension")
            json.beginArray()
            appendChartingInterval(&json, row: row, charted: charted, unit: entry.unit)
            json.endArray()
            appendCode(&json, mdcCode: entry.mdcCode, mdcName: entry.mdcName, loinc: FHIRTerms.loinc(forMDC: entry.mdcName),
                       text: entry.name)
            appendValueOrAbsence(&json, charted: charted, entry: entry)
            json.endObject()
        }
        json.endArray()
    }

    // MARK: Elements

    private static func hasValue(_ charted: ChartedValue) -> Bool {
        guard let value = charted.value, value.isFinite else { return false }
        return charted.quality == .ok || charted.quality == .stale
    }

    /// The value at the boundary, or why there is none: comm-loss and an implausible value
    /// (out of the device's range) are `error`, a probe or lead off is `not-performed`
    /// (R4 data-absent-reason codes); the text names our quality.
    private static func appendValueOrAbsence(_ json: inout JSONWriter, charted: ChartedValue, entry: BedDescription.Entry) {
        if hasValue(charted), let value = charted.value {
            json.key("valueQuantity")
            appendQuantity(&json, value: value, entry: entry)
            return
        }
        let absence: (code: String, display: String, text: String)
        switch charted.quality {
        case .sensorOff:
            absence = ("not-performed", "Not Performed", "sensor-off: the probe, leads or sampling line was off")
        case .outOfRange:
            absence = ("error", "Error", "out-of-range: outside the device's valid range")
        default:
            absence = ("error", "Error", "comm-loss: the device did not answer")
        }
        json.key("dataAbsentReason")
        json.beginObject()
        json.key("coding")
        json.beginArray()
        appendCoding(&json, system: FHIRTerms.dataAbsentReasonSystem, code: absence.code, display: absence.display)
        json.endArray()
        json.member("text", absence.text)
        json.endObject()
    }

    private static func appendQuantity(_ json: inout JSONWriter, value: Double, entry: BedDescription.Entry) {
        json.beginObject()
        json.key("value")
        json.rawNumber(formatDecimal(value, decimals: entry.decimals))
        json.member("unit", entry.unit)
        json.member("system", FHIRTerms.ucumSystem)
        json.member("code", FHIRTerms.ucumCode(entry.unit))
        json.endObject()
    }

    private static func appendCategory(_ json: inout JSONWriter, vitalSign: Bool) {
        guard vitalSign else { return }
        json.key("category")
        json.beginArray()
        json.beginObject()
        json.key("coding")
        json.beginArray()
        appendCoding(&json, system: FHIRTerms.observationCategorySystem, code: "vital-signs", display: "Vital Signs")
        json.endArray()
        json.endObject()
        json.endArray()
    }

    /// MDC first (the PoCD IG's code system, code = the numeric term, display = the reference
    /// id), then the LOINC codings the vital-signs profiles look for. A term whose number is
    /// not checked yet (pump terms) is carried by its reference id alone.
    private static func appendCode(_ json: inout JSONWriter, mdcCode: Int?, mdcName: String, loinc: [FHIRTerms.LOINC],
                                   text: String) {
        json.key("code")
        json.beginObject()
        json.key("coding")
        json.beginArray()
        appendCoding(&json, system: FHIRTerms.mdcSystem, code: mdcCode.map { String($0) }, display: mdcName)
        for coding in loinc { appendCoding(&json, system: FHIRTerms.loincSystem, code: coding.code, display: coding.display) }
        json.endArray()
        json.member("text", text)
        json.endObject()
    }

    private static func appendCoding(_ json: inout JSONWriter, system: String, code: String?, display: String) {
        json.beginObject()
        json.member("system", system)
        if let code { json.member("code", code) }
        json.member("display", display)
        json.endObject()
    }

    private static func appendDeviceReference(_ json: inout JSONWriter, device: String, context: FHIRContext) {
        json.key("device")
        json.beginObject()
        json.member("reference", "Device/\(deviceID(device, context: context))")
        json.member("display", device)
        json.endObject()
    }

    private static func appendBedReference(_ json: inout JSONWriter, bed: String, context: FHIRContext) {
        json.beginObject()
        json.key("identifier")
        json.beginObject()
        json.member("system", context.identifierSystem("bed"))
        json.member("value", bed)
        json.endObject()
        json.member("display", bed)
        json.endObject()
    }

    private static func appendEventLocation(_ json: inout JSONWriter, bed: String, context: FHIRContext) {
        json.beginObject()
        json.member("url", eventLocationURL)
        json.key("valueReference")
        appendBedReference(&json, bed: bed, context: context)
        json.endObject()
    }

    /// What the row says beyond the value at the boundary: the interval it covers, the
    /// sample's own quality and read time, the sample counts and the range of the `ok`
    /// values (low and high in the value's unit). Not `referenceRange` (that is the normal
    /// range a value is judged against) nor `component` (that is a part of the measurement).
    private static func appendChartingInterval(_ json: inout JSONWriter, row: ChartRow, charted: ChartedValue, unit: String) {
        let entry = row.description.entries[charted.entry]
        json.beginObject()
        json.member("url", chartingIntervalURL)
        json.key("extension")
        json.beginArray()
        json.beginObject()
        json.member("url", "period")
        json.key("valuePeriod")
        json.beginObject()
        json.member("start", formatUTCTimestamp(millisecondsSinceEpoch: row.coveredFromMilliseconds))
        json.member("end", formatUTCTimestamp(millisecondsSinceEpoch: row.rowMilliseconds))
        json.endObject()
        json.endObject()
        json.beginObject()
        json.member("url", "quality")
        json.member("valueCode", charted.quality.rawValue)
        json.endObject()
        if charted.samples > 0 {
            json.beginObject()
            json.member("url", "sampleTime")
            json.member("valueDateTime", formatUTCTimestamp(millisecondsSinceEpoch: charted.measuredAtMilliseconds))
            json.endObject()
        }
        json.beginObject()
        json.member("url", "samples")
        json.member("valueUnsignedInt", charted.samples)
        json.endObject()
        json.beginObject()
        json.member("url", "okSamples")
        json.member("valueUnsignedInt", charted.okSamples)
        json.endObject()
        if let minimum = charted.minimum, let maximum = charted.maximum {
            json.beginObject()
            json.member("url", "range")
            json.key("valueRange")
            json.beginObject()
            json.key("low")
            appendQuantity(&json, value: minimum, entry: entry)
            json.key("high")
            appendQuantity(&json, value: maximum, entry: entry)
            json.endObject()
            json.endObject()
        }
        json.endArray()
        json.endObject()
    }

    // MARK: Ids

    /// A name-based UUID (RFC 9562 version 8, the custom layout) from two FNV-1a 64 hashes of
    /// `name`: the same name gives the same id on every start and box, different names
    /// different ids (128 bits, of which 122 come from the hashes).
    static func stableUUID(_ name: String) -> String {
        let high = StableHash.fnv1a64(name)
        let low = StableHash.fnv1a64(name, basis: 0x6c62_272e_07bb_0142)
        let versioned = (high & ~0xF000) | 0x8000
        let varianted = (low & ~(UInt64(0xC) << 60)) | (UInt64(0x8) << 60)
        var digits = StableHash.hexadecimal(versioned) + StableHash.hexadecimal(varianted)
        for position in [20, 16, 12, 8] { digits.insert("-", at: digits.index(digits.startIndex, offsetBy: position)) }
        return digits
    }
}
