/// An IEEE 11073-10101 (MDC) term with its UCUM unit: what a charting system expects to find
/// next to a value. `Nomenclature` below is the only table of them in the code, so checking
/// the codes against NIST's RTMMS database changes one line per term. The codes of the vital
/// signs come from public MDC tables and are not yet checked against RTMMS.
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

    // Infusion pump: public samples disagree on these numeric codes, so the names are carried
    // and the codes left empty until checked against RTMMS (a wrong code would chart silently).
    public static let pumpRate = Term(mdcName: "MDC_FLOW_FLUID_PUMP", mdcCode: nil, ucum: "mL/h")
    /// Drug dose rate (the term IHE PCD infusion profiles use); code unchecked, as for the other pump terms.
    public static let doseRate = Term(mdcName: "MDC_RATE_DOSE", mdcCode: nil, ucum: "mg/kg/h")
    public static let volumeInfused = Term(mdcName: "MDC_VOL_FLUID_DELIV_TOTAL", mdcCode: nil, ucum: "mL")
    public static let volumeToBeInfused = Term(mdcName: "MDC_VOL_FLUID_TBI_REMAIN", mdcCode: nil, ucum: "mL")

    // Device-specific values with no IEEE 11073 metric: empty MDC name, no code.
    /// A time of day as Unix seconds (UCUM "s"), e.g. when the last NIBP measurement was taken.
    public static let unixTime = Term(mdcName: "", mdcCode: nil, ucum: "s")
    /// A status or alarm word, a state enumeration: dimensionless (UCUM "1").
    public static let deviceWord = Term(mdcName: "", mdcCode: nil, ucum: "1")
}
