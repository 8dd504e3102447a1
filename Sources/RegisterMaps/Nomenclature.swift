/// IEEE 11073-10101 terms a charting system expects, with UCUM units: the one table to
/// change when the codes are checked against NIST RTMMS (see DESIGN.md section 4).
public struct Term: Sendable, Equatable {
    public var mdcName: String
    public var mdcCode: Int?
    public var ucum: String
}

public enum Nomenclature {
    public static let spo2 = Term(mdcName: "MDC_PULS_OXIM_SAT_O2", mdcCode: 150456, ucum: "%")
    public static let pulseRate = Term(mdcName: "MDC_PULS_OXIM_PULS_RATE", mdcCode: 149530, ucum: "{beat}/min")
    public static let heartRate = Term(mdcName: "MDC_ECG_HEART_RATE", mdcCode: 147842, ucum: "{beat}/min")
    public static let nibpSystolic = Term(mdcName: "MDC_PRESS_BLD_NONINV_SYS", mdcCode: 150021, ucum: "mm[Hg]")
    public static let nibpDiastolic = Term(mdcName: "MDC_PRESS_BLD_NONINV_DIA", mdcCode: 150022, ucum: "mm[Hg]")
    public static let nibpMean = Term(mdcName: "MDC_PRESS_BLD_NONINV_MEAN", mdcCode: 150023, ucum: "mm[Hg]")
    public static let respiratoryRate = Term(mdcName: "MDC_RESP_RATE", mdcCode: 151562, ucum: "{breath}/min")
    /// 151728 is derived from Philips' term 0x50B0 (2 * 65536 + 0x50B0); some tables give
    /// 151708, which is MDC_CONC_AWAY_CO2_ET. Unverified against RTMMS.
    public static let etco2 = Term(mdcName: "MDC_AWAY_CO2_ET", mdcCode: 151728, ucum: "mm[Hg]")
}
