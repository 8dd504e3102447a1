/// Device profiles that ship with the agent. The simulator serves these maps and the agent
/// reads them: one definition, used on both sides of the wire. Point and bit names are a
/// contract with the rest of the agent, the simulator and the charting side: do not rename.
public enum BuiltinProfiles {
    public static let all: [DeviceProfile] = [patientMonitor, infusionPump]

    public static func named(_ name: String) -> DeviceProfile? {
        for profile in all where profile.name == name { return profile }
        return nil
    }

    /// A multiparameter patient monitor, all input registers, read in 1 request (0-11):
    ///
    /// | address | point             | type   | order | scale | unit         |
    /// |---------|-------------------|--------|-------|-------|--------------|
    /// | 0       | spo2              | uint16 |       | 1     | %            |
    /// | 1       | pulse_rate        | uint16 |       | 1     | {beat}/min   |
    /// | 2       | heart_rate        | uint16 |       | 1     | {beat}/min   |
    /// | 3       | nibp_systolic     | uint16 |       | 1     | mm[Hg]       |
    /// | 4       | nibp_diastolic    | uint16 |       | 1     | mm[Hg]       |
    /// | 5       | nibp_mean         | uint16 |       | 1     | mm[Hg]       |
    /// | 6       | respiratory_rate  | uint16 |       | 1     | {breath}/min |
    /// | 7       | etco2             | uint16 |       | 0.1   | mm[Hg]       |
    /// | 8-9     | nibp_time         | uint32 | cdab  | 1     | s (Unix time of the last NIBP) |
    /// | 10      | sensor_status     | uint16 bits: 0 spo2_probe_off, 1 ecg_leads_off, 2 co2_line_off |
    /// | 11      | device_status     | uint16 bits: 0 alarm_active, 1 technical_fault |
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
            // Unix seconds of the last NIBP measurement (0 = none yet), low register first: the
            // one word-swapped value of the monitor, as several real monitors send it.
            measurement("nibp_time", 8, Nomenclature.unixTime, type: .uint32, order: .cdab,
                        range: 0...4_294_967_295),
            statusWord("sensor_status", 10, bits: [
                BitField(name: "spo2_probe_off", bit: 0, meaning: .sensorOff(points: ["spo2", "pulse_rate"])),
                BitField(name: "ecg_leads_off", bit: 1, meaning: .sensorOff(points: ["heart_rate"])),
                BitField(name: "co2_line_off", bit: 2, meaning: .sensorOff(points: ["etco2", "respiratory_rate"])),
            ]),
            statusWord("device_status", 11, bits: [
                BitField(name: "alarm_active", bit: 0, meaning: .deviceAlarm),
                BitField(name: "technical_fault", bit: 1, meaning: .technicalFault),
            ]),
        ])

    /// Values of the infusion pump's `state` register.
    public enum PumpState: Int, Sendable, CaseIterable {
        case stopped = 0
        case running = 1
        case paused = 2
    }

    /// A syringe or volumetric infusion pump, all input registers, read in 1 request (0-9,
    /// bridging the reserved registers 6-7 with largestGap 2):
    ///
    /// | address | point                | type    | order | scale | unit    |
    /// |---------|----------------------|---------|-------|-------|---------|
    /// | 0       | rate                 | uint16  |       | 0.1   | mL/h    |
    /// | 1       | dose_rate            | uint16  |       | 0.01  | mg/kg/h |
    /// | 2-3     | volume_infused       | float32 | abcd  | 1     | mL      |
    /// | 4-5     | volume_to_be_infused | float32 | dcba  | 1     | mL      |
    /// | 6-7     | (reserved)           |         |       |       |         |
    /// | 8       | state                | uint16: 0 stopped, 1 running, 2 paused (`PumpState`) |
    /// | 9       | pump_status          | uint16 bits: 0 occlusion, 1 air_in_line, 2 door_open, 3 battery_low |
    public static let infusionPump = DeviceProfile(
        name: "infusion-pump",
        summary: "infusion pump (rate, dose rate, volume infused and to be infused, state, occlusion/air/door/battery)",
        points: [
            measurement("rate", 0, Nomenclature.pumpRate, scale: 0.1, decimals: 1, range: 0...1200),
            measurement("dose_rate", 1, Nomenclature.doseRate, scale: 0.01, decimals: 2, range: 0...100),
            measurement("volume_infused", 2, Nomenclature.volumeInfused, type: .float32, decimals: 1,
                        range: 0...10_000),
            // Little-endian float: the pump's other non-default byte order.
            measurement("volume_to_be_infused", 4, Nomenclature.volumeToBeInfused, type: .float32, order: .dcba,
                        decimals: 1, range: 0...10_000),
            measurement("state", 8, Nomenclature.deviceWord, range: 0...2),
            statusWord("pump_status", 9, bits: [
                BitField(name: "occlusion", bit: 0, meaning: .technicalFault),
                BitField(name: "air_in_line", bit: 1, meaning: .technicalFault),
                BitField(name: "door_open", bit: 2, meaning: .technicalFault),
                BitField(name: "battery_low", bit: 3, meaning: .status),
            ]),
        ],
        largestGap: 2)

    static func measurement(_ name: String, _ address: Int, _ term: Term, type: PointType = .uint16,
                            order: WordOrder = .abcd, scale: Double = 1, decimals: Int = 0,
                            range: ClosedRange<Double>) -> Point {
        Point(name: name, function: .inputRegisters, address: address, type: type, wordOrder: order,
              scale: scale, decimals: decimals, unit: term.ucum,
              mdcName: term.mdcName, mdcCode: term.mdcCode, validRange: range)
    }

    static func statusWord(_ name: String, _ address: Int, bits: [BitField]) -> Point {
        Point(name: name, function: .inputRegisters, address: address, type: .uint16,
              unit: Nomenclature.deviceWord.ucum, mdcName: Nomenclature.deviceWord.mdcName,
              mdcCode: Nomenclature.deviceWord.mdcCode, validRange: 0...65_535, bitFields: bits)
    }
}
