import Charting
import JSON
import Vitals

/// An IEEE 11073 term as OBX-3 carries it: "code^name^MDC". A term whose number is not
/// checked yet goes without it ("^name^MDC"), as the vitals description does: a wrong
/// number would chart under another parameter without anyone noticing.
public struct MDCTerm: Sendable, Equatable {
    public var code: Int?
    public var name: String

    public init(_ code: Int?, _ name: String) {
        self.code = code
        self.name = name
    }

    public var field: String { hl7Components([code.map { String($0) } ?? "", name, "MDC"]) }
}

/// The IEEE 11073 containment a metric is reported under in PCD-01's OBX-4
/// (<MDS>.<VMD>.<channel>.<metric>). Terms are the ones public IHE PCD-01 samples use, with
/// the numbers their manufacturers print (GE B40 HL7 reference: MDS 69965, SpO2 VMD 1::4106,
/// ECG VMD 1::4262, blood pressure VMD 1::4318 and channel 1::4319, NIBP channel 1::5151);
/// where no such source gave a term, the level keeps its number in OBX-4 and no header row
/// is written for it rather than an invented term.
public enum PCDContainment {
    public static let monitorSystem = MDCTerm(69965, "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS")
    public static let pumpSystem = MDCTerm(nil, "MDC_DEV_PUMP_INFUS_MDS")

    /// The VMD and channel header terms of a metric, by its MDC name.
    public static func group(ofMetric name: String) -> (vmd: MDCTerm?, channel: MDCTerm?, key: String) {
        if name.hasPrefix("MDC_PULS_OXIM_") { return (MDCTerm(69642, "MDC_DEV_ANALY_SAT_O2_VMD"), nil, "spo2") }
        if name.hasPrefix("MDC_ECG_") { return (MDCTerm(69798, "MDC_DEV_ECG_VMD"), nil, "ecg") }
        if name.hasPrefix("MDC_PRESS_BLD_NONINV_") {
            return (MDCTerm(69854, "MDC_DEV_METER_PRESS_BLD_VMD"), MDCTerm(70687, "MDC_DEV_PRESS_BLD_NONINV_CHAN"), "nibp")
        }
        if name.hasPrefix("MDC_PRESS_BLD_") {
            return (MDCTerm(69854, "MDC_DEV_METER_PRESS_BLD_VMD"), MDCTerm(69855, "MDC_DEV_METER_PRESS_BLD_CHAN"), "ibp")
        }
        return (nil, nil, "other")
    }

    /// A device is reported as an infusion pump when one of its points is a pump term.
    public static func isPump(metricNames: [String]) -> Bool {
        metricNames.contains { $0.hasPrefix("MDC_FLOW_FLUID_PUMP") || $0.hasPrefix("MDC_VOL_FLUID") || $0.hasPrefix("MDC_RATE_DOSE") }
    }
}

/// IHE PCD profile identifiers for MSH-21.
public enum PCDProfile {
    public static let deviceObservation = ["IHE_PCD_001", "IHE PCD", "1.3.6.1.4.1.19376.1.6.1.1.1", "ISO"]
    public static let alertCommunication = ["IHE_PCD_ACM_001", "IHE PCD", "1.3.6.1.4.1.19376.1.6.4.4", "ISO"]
}

/// Builds IHE PCD-01 (Communicate PCD Data) `ORU^R01^ORU_R01` v2.6 messages from chart rows:
/// one message per row, one OBR for the row's interval, and under it each device of the bed
/// as an MDS with its VMDs, channels and metrics in containment order.
public struct PCD01Encoder: Sendable {
    public var sender: HL7Sender
    public var location: BedLocation
    /// The site and box names the devices' EUI-64s are derived from (`EUI64(site:box:device:)`).
    public var site: String
    public var box: String
    /// Whether each metric's lowest and highest `ok` value of the interval follow it as two
    /// more OBX rows (see `statisticRows`). Off by default: an interface engine that maps by
    /// OBX-3 alone would chart them as three readings of the same time.
    public var reportsMinimumAndMaximum: Bool

    public init(sender: HL7Sender, location: BedLocation, site: String, box: String, reportsMinimumAndMaximum: Bool = false) {
        self.sender = sender
        self.location = location
        self.site = site
        self.box = box
        self.reportsMinimumAndMaximum = reportsMinimumAndMaximum
    }

    /// OBX-17 of the minimum and maximum rows: a code of ours (HL7's `99zzz` form for a local
    /// coding system), as IEEE 11073-10101 has no term for a statistic over a charting interval.
    public static let statisticCodingSystem = "99BSG"
    public static let minimumMethod = hl7Components(["MIN", "minimum over the charting interval", statisticCodingSystem])
    public static let maximumMethod = hl7Components(["MAX", "maximum over the charting interval", statisticCodingSystem])

    /// MSH-10: the same row always gets the same id (a message sent again is recognisable),
    /// and rows of one bed never share one.
    public static func controlID(bed: String, rowMilliseconds: Int64) -> String { "\(bed)-C\(rowMilliseconds)" }

    public func encode(_ row: ChartRow) -> String {
        let description = row.description
        let rowTime = hl7Timestamp(millisecondsSinceEpoch: row.rowMilliseconds)
        var segments: [String] = []
        segments.append(sender.header(type: ["ORU", "R01", "ORU_R01"],
                                      controlID: PCD01Encoder.controlID(bed: row.bedID, rowMilliseconds: row.rowMilliseconds),
                                      milliseconds: row.rowMilliseconds, profile: PCDProfile.deviceObservation))
        segments += unboundPatientSegments(bed: row.bedID, box: sender.box, location: location)

        var obr = HL7Segment("OBR")
        obr.set(1, "1")
        obr.set(3, hl7Components(["\(row.bedID)-\(row.rowMilliseconds)", sender.application, sender.box.text, "EUI-64"]))
        obr.set(4, hl7Components(["182777000", "monitoring of patient", "SCT"]))
        obr.set(7, hl7Timestamp(millisecondsSinceEpoch: row.rowMilliseconds - row.intervalMilliseconds))
        obr.set(8, rowTime)
        segments.append(obr.text)

        var setID = 0
        func observation(_ build: (inout HL7Segment) -> Void) {
            setID += 1
            var obx = HL7Segment("OBX")
            obx.set(1, String(setID))
            build(&obx)
            segments.append(obx.text)
        }

        for (deviceIndex, device) in description.devices.enumerated() {
            let entryIndexes = description.entries.indices.filter {
                description.entries[$0].deviceIndex == deviceIndex && !description.entries[$0].mdcName.isEmpty
            }
            if entryIndexes.isEmpty { continue }
            let mds = deviceIndex + 1
            let equipment = EUI64(site: site, box: box, device: device).entityIdentifier
            let system = PCDContainment.isPump(metricNames: entryIndexes.map { description.entries[$0].mdcName })
                ? PCDContainment.pumpSystem : PCDContainment.monitorSystem
            observation { obx in
                obx.set(3, system.field)
                obx.set(4, "\(mds).0.0.0")
                obx.set(11, "X")
                obx.set(18, equipment)
            }
            // VMDs in order of their first metric; each with one channel.
            var groupKeys: [String] = []
            for index in entryIndexes {
                let key = PCDContainment.group(ofMetric: description.entries[index].mdcName).key
                if !groupKeys.contains(key) { groupKeys.append(key) }
            }
            for (groupIndex, key) in groupKeys.enumerated() {
                let vmd = groupIndex + 1
                let members = entryIndexes.filter { PCDContainment.group(ofMetric: description.entries[$0].mdcName).key == key }
                let terms = PCDContainment.group(ofMetric: description.entries[members[0]].mdcName)
                if let term = terms.vmd {
                    observation { obx in
                        obx.set(3, term.field)
                        obx.set(4, "\(mds).\(vmd).0.0")
                        obx.set(11, "X")
                        obx.set(18, equipment)
                    }
                }
                if let term = terms.channel {
                    observation { obx in
                        obx.set(3, term.field)
                        obx.set(4, "\(mds).\(vmd).1.0")
                        obx.set(11, "X")
                        obx.set(18, equipment)
                    }
                }
                for (metricIndex, entryIndex) in members.enumerated() {
                    let entry = description.entries[entryIndex]
                    let charted = row.values.first { $0.entry == entryIndex }
                    observation { obx in
                        obx.set(2, "NM")
                        obx.set(3, MDCTerm(entry.mdcCode, entry.mdcName).field)
                        obx.set(4, "\(mds).\(vmd).1.\(metricIndex + 1)")
                        let status = PCD01Encoder.resultStatus(charted)
                        if status == "R", let value = charted?.value {
                            obx.set(5, formatDecimal(value, decimals: entry.decimals))
                        }
                        obx.set(6, hl7Components([entry.unit, entry.unit, "UCUM"]))
                        obx.set(11, status)
                        obx.set(14, hl7Timestamp(millisecondsSinceEpoch: charted?.measuredAtMilliseconds ?? row.rowMilliseconds))
                        obx.set(18, equipment)
                    }
                    let quality = charted?.quality ?? .commLoss
                    if quality != .ok && quality != .stale {
                        // Says why OBX-5 is empty: a chart shows comm-loss and sensor-off differently.
                        var nte = HL7Segment("NTE")
                        nte.set(1, "1")
                        nte.set(3, hl7Escaped(quality.rawValue))
                        segments.append(nte.text)
                    }
                    // The interval's extremes, as a fifth containment level under the metric
                    // (PCD TF-2 lets a profile add levels below the metric for its attributes).
                    let extremes = [(charted?.minimum, 1, PCD01Encoder.minimumMethod), (charted?.maximum, 2, PCD01Encoder.maximumMethod)]
                    for (value, facet, method) in extremes where reportsMinimumAndMaximum {
                        guard let value else { continue }
                        observation { obx in
                            obx.set(2, "NM")
                            obx.set(3, MDCTerm(entry.mdcCode, entry.mdcName).field)
                            obx.set(4, "\(mds).\(vmd).1.\(metricIndex + 1).\(facet)")
                            obx.set(5, formatDecimal(value, decimals: entry.decimals))
                            obx.set(6, hl7Components([entry.unit, entry.unit, "UCUM"]))
                            obx.set(11, "R")
                            obx.set(14, hl7Timestamp(millisecondsSinceEpoch: row.rowMilliseconds))
                            obx.set(17, method)
                            obx.set(18, equipment)
                        }
                    }
                }
            }
        }
        return hl7Message(segments)
    }

    /// OBX-11: R (a device result, not verified by anyone) for a value that was measured;
    /// X (no result could be obtained) for comm-loss, sensor-off and a value outside the
    /// point's valid range, whose number is not charted.
    static func resultStatus(_ charted: ChartedValue?) -> String {
        guard let charted, charted.value != nil else { return "X" }
        switch charted.quality {
        case .ok, .stale: return "R"
        case .outOfRange, .commLoss, .sensorOff: return "X"
        }
    }
}
