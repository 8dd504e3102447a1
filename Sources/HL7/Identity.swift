import Platform

/// An IEEE EUI-64 for a device that has none the agent could read: derived from the
/// configured names, so the same configuration gives the same identifier on every start and
/// box image, and two devices of a site never share one unless their names are equal.
///
/// FNV-1a 64 of "<site>/<box>/<device>", with the first octet marked locally administered
/// (bit 0x02 set) and unicast (bit 0x01 clear), the way IEEE reserves for identifiers not
/// assigned from a manufacturer's OUI.
public struct EUI64: Sendable, Equatable {
    public let value: UInt64

    public init(value: UInt64) { self.value = value }

    public init(site: String, box: String, device: String) {
        let hash = StableHash.fnv1a64("\(site)/\(box)/\(device)")
        let locallyAdministered: UInt64 = 0x02 << 56
        let multicast: UInt64 = 0x01 << 56
        value = (hash | locallyAdministered) & ~multicast
    }

    /// Sixteen upper-case hexadecimal digits, as IHE PCD writes EUI-64s in EI fields.
    public var text: String { StableHash.hexadecimal(value, uppercase: true) }

    /// An EI field naming this identifier: "<hex>^^<hex>^EUI-64".
    public var entityIdentifier: String { hl7Components([text, "", text, "EUI-64"]) }
}

/// Where a bed is, as PV1-3 (PL) carries it: point of care ^ room ^ bed ^ facility.
public struct BedLocation: Sendable, Equatable {
    public var pointOfCare: String
    public var room: String
    public var bed: String
    public var facility: String

    public init(pointOfCare: String, room: String, bed: String, facility: String) {
        self.pointOfCare = pointOfCare
        self.room = room
        self.bed = bed
        self.facility = facility
    }

    public var field: String { hl7Components([pointOfCare, room, bed, facility]) }
}

/// Who sends: MSH-3 (application, with the box's EUI-64) and MSH-4 (facility); the receiver
/// in MSH-5 and MSH-6.
public struct HL7Sender: Sendable {
    public var application: String
    public var facility: String
    public var box: EUI64
    public var receivingApplication: String
    public var receivingFacility: String

    public init(application: String = "BEDSIDE-GATEWAY", facility: String, box: EUI64,
                receivingApplication: String = "", receivingFacility: String = "") {
        self.application = application
        self.facility = facility
        self.box = box
        self.receivingApplication = receivingApplication
        self.receivingFacility = receivingFacility
    }

    /// MSH through MSH-21 for one message of `type` (e.g. ["ORU", "R01", "ORU_R01"]).
    func header(type: [String], controlID: String, milliseconds: Int64, profile: [String]) -> String {
        var msh = HL7Header()
        msh.set(3, hl7Components([application, box.text, "EUI-64"]))
        msh.set(4, hl7Components([facility]))
        msh.set(5, hl7Components([receivingApplication]))
        msh.set(6, hl7Components([receivingFacility]))
        msh.set(7, hl7Timestamp(millisecondsSinceEpoch: milliseconds))
        msh.set(9, hl7Components(type))
        msh.set(10, hl7Escaped(controlID))
        msh.set(11, "P")
        msh.set(12, "2.6")
        // Accept acknowledgment always (the link deletes a message only on its ACK); no
        // application acknowledgment, as IHE PCD asks of a device observation reporter.
        msh.set(15, "AL")
        msh.set(16, "NE")
        msh.set(18, "UNICODE UTF-8")
        msh.set(21, hl7Components(profile))
        return msh.text
    }
}

/// PID and PV1 of a device that is not bound to a patient: the box holds no patient identity
/// (README "No patient identity on the box"), and the receiver binds the patient from its own
/// ADT by the bed's location in PV1-3. HL7 v2.6 requires PID-3, so it names the bed as the box
/// knows it (assigning authority: the box's EUI-64; identifier type U, unspecified), never a
/// patient; PID-5, required too, is a name of type U (unspecified) with no name in it. PV1-2 is U (unknown patient class).
func unboundPatientSegments(bed: String, box: EUI64, location: BedLocation) -> [String] {
    var pid = HL7Segment("PID")
    pid.set(1, "1")
    pid.set(3, hl7Escaped(bed) + "^^^" + hl7Escaped(box.text) + "&" + hl7Escaped(box.text) + "&EUI-64^U")
    pid.set(5, "^^^^^^U")
    var pv1 = HL7Segment("PV1")
    pv1.set(2, "U")
    pv1.set(3, location.field)
    return [pid.text, pv1.text]
}
