/// Device profiles that ship with the agent. The simulator serves these maps and the agent
/// reads them: one definition, used on both sides of the wire.
public enum BuiltinProfiles {
    public static let all: [DeviceProfile] = [patientMonitor]

    public static func named(_ name: String) -> DeviceProfile? {
        for profile in all where profile.name == name { return profile }
        return nil
    }

    /// A multiparameter patient monitor: measurements as input registers from address 0.
    public static let patientMonitor = DeviceProfile(
        name: "patient-monitor",
        summary: "multiparameter patient monitor (SpO2, pulse, ECG heart rate, NIBP, respiration, EtCO2)",
        points: [
            measurement("spo2", 0, Nomenclature.spo2, range: 0...100),
            measurement("pulse_rate", 1, Nomenclature.pulseRate, range: 0...350),
            measurement("heart_rate", 2, Nomenclature.heartRate, range: 0...350),
            measurement("nibp_systolic", 3, Nomenclature.nibpSystolic, range: 0...300),
            measurement("nibp_diastolic", 4, Nomenclature.nibpDiastolic, range: 0...300),
            measurement("nibp_mean", 5, Nomenclature.nibpMean, range: 0...300),
            measurement("respiratory_rate", 6, Nomenclature.respiratoryRate, range: 0...150),
            // EtCO2 in tenths of mmHg: 385 on the wire is 38.5 mm[Hg].
            measurement("etco2", 7, Nomenclature.etco2, scale: 0.1, decimals: 1, range: 0...150),
        ])

    static func measurement(_ name: String, _ address: Int, _ term: Term, scale: Double = 1,
                            decimals: Int = 0, range: ClosedRange<Double>) -> Point {
        Point(name: name, function: .inputRegisters, address: address, type: .uint16,
              scale: scale, decimals: decimals, unit: term.ucum,
              mdcName: term.mdcName, mdcCode: term.mdcCode, validRange: range)
    }
}
