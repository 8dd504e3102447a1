/// A deterministic pseudo-random source (xorshift64*), so a seed replays the same patient.
public struct SeededRandom {
    private var state: UInt64

    public init(seed: UInt64) {
        // splitmix64 spreads neighbouring seeds (one per simulated device) apart; raw
        // xorshift would start neighbouring patients with near-identical readings.
        var mixed = seed &+ 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        mixed ^= mixed >> 31
        state = mixed == 0 ? 0x9E37_79B9_7F4A_7C15 : mixed
    }

    public mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Uniform in -1...1.
    public mutating func symmetric() -> Double {
        Double(next() >> 11) / Double(1 << 53) * 2 - 1
    }
}

/// A sedated adult's vitals that drift plausibly: each value wanders around its baseline
/// and is pulled back towards it, within physiological bounds. NIBP is a cuff measurement,
/// so it changes only when a cycle runs. A `Scenario` bends the vitals from its onset.
/// Pure: time advances only through `advance`, one simulated second per call; the same seed,
/// scenario and timing replay the same patient.
public struct PatientModel {
    public private(set) var spo2: Double = 97
    public private(set) var heartRate: Double = 72
    public private(set) var pulseRate: Double = 72
    public private(set) var respiratoryRate: Double = 14
    public private(set) var etco2: Double = 38
    public private(set) var nibpSystolic: Double = 0
    public private(set) var nibpDiastolic: Double = 0
    public private(set) var nibpMean: Double = 0
    /// Simulated seconds since the model was made (advance() calls).
    public private(set) var elapsedSeconds = 0
    /// The simulated second of the last cuff measurement.
    public private(set) var nibpSecond = 0
    public private(set) var spo2ProbeOff = false

    public let nibpIntervalSeconds: Int
    public let scenario: Scenario
    public let timing: ScenarioTiming
    /// Unix time of simulated second 0, for `nibp_time`.
    public let startUnixSeconds: Int64
    private var random: SeededRandom
    private var secondsSinceNIBP = 0
    /// Values captured at the onset, where a scenario ramps from them.
    private var onsetSpO2: Double = 0
    private var onsetHeartRate: Double = 0
    private var onsetRespiratoryRate: Double = 0
    private var apneaEtCO2: Double = 0

    public init(seed: UInt64, nibpIntervalSeconds: Int = 180, scenario: Scenario = .normal,
                timing: ScenarioTiming = ScenarioTiming(), startUnixSeconds: Int64 = 0) {
        random = SeededRandom(seed: seed)
        self.scenario = scenario
        self.timing = timing
        self.startUnixSeconds = startUnixSeconds
        self.nibpIntervalSeconds = max(1, scenario == .nibp3min ? Scenario.nibp3minIntervalSeconds : nibpIntervalSeconds)
        // Each simulated patient starts from a slightly different baseline.
        heartRate = 68 + 10 * abs(random.symmetric())
        heartRate = heartRate.rounded()
        pulseRate = heartRate
        // The cuff measures once at the start, as monitors do when a case begins.
        measureNIBP()
        applyScenario()
    }

    /// Moves the patient on by one second.
    public mutating func advance() {
        elapsedSeconds += 1
        spo2 = drift(spo2, towards: 97, step: 0.6, within: 93...100, decimals: 0)
        heartRate = drift(heartRate, towards: 74, step: 2, within: 55...110, decimals: 0)
        // The oximeter's pulse rate follows the ECG within a beat or two.
        pulseRate = min(max((heartRate + random.symmetric() * 1.5).rounded(), 50), 115)
        respiratoryRate = drift(respiratoryRate, towards: 14, step: 0.7, within: 9...22, decimals: 0)
        etco2 = drift(etco2, towards: 38, step: 0.6, within: 32...45, decimals: 1)
        secondsSinceNIBP += 1
        if secondsSinceNIBP >= nibpIntervalSeconds { measureNIBP() }
        applyScenario()
    }

    private mutating func measureNIBP() {
        secondsSinceNIBP = 0
        nibpSecond = elapsedSeconds
        nibpSystolic = (124 + random.symmetric() * 12).rounded()
        nibpDiastolic = (79 + random.symmetric() * 7).rounded()
        if scenario == .hypertension && elapsedSeconds >= timing.onsetSeconds {
            nibpSystolic = Scenario.hypertensionSystolic
            nibpDiastolic = Scenario.hypertensionDiastolic
        }
        // Oscillometric mean: roughly diastolic plus a third of the pulse pressure.
        nibpMean = (nibpDiastolic + (nibpSystolic - nibpDiastolic) / 3).rounded()
    }

    /// Overrides the drifted values where the scenario says so. The random draws above are
    /// made whatever the scenario, so a scenario never changes what the seed replays elsewhere.
    private mutating func applyScenario() {
        let since = elapsedSeconds - timing.onsetSeconds
        if since < 0 { return }
        switch scenario {
        case .normal, .hypertension, .nibp3min, .unplugged, .occlusion:
            break
        case .desaturation:
            if since == 0 { onsetSpO2 = spo2 }
            spo2 = ramp(from: onsetSpO2, to: Scenario.desaturationTarget, elapsed: since, over: Scenario.desaturationSeconds)
        case .tachycardia:
            if since == 0 { onsetHeartRate = heartRate }
            heartRate = ramp(from: onsetHeartRate, to: Scenario.tachycardiaRate, elapsed: since, over: Scenario.tachycardiaSeconds)
            pulseRate = heartRate
        case .bradypneaApnea:
            if since == 0 { onsetRespiratoryRate = respiratoryRate }
            if since < Scenario.apneaStartSeconds {
                respiratoryRate = ramp(from: onsetRespiratoryRate, to: Scenario.bradypneaRate, elapsed: since,
                                       over: Scenario.bradypneaSeconds)
                apneaEtCO2 = etco2
            } else {
                respiratoryRate = 0
                // No breath, no exhaled CO2: the reading decays towards 0 from its last value.
                apneaEtCO2 *= Scenario.apneaEtCO2Retained
                etco2 = rounded(apneaEtCO2, decimals: 1)
            }
        case .probeOff:
            spo2ProbeOff = true
            spo2 = 0
            pulseRate = 0
        }
    }

    /// Unix seconds of the last cuff measurement.
    public var nibpUnixSeconds: Int64 { startUnixSeconds + Int64(nibpSecond) }

    /// Whether the monitor's own alarm is on: any value outside the usual adult defaults (the
    /// table at `BedAlarmSettings.defaultLimits`), as a bedside monitor would flag it.
    public var isAlarming: Bool {
        if spo2ProbeOff { return true }
        if spo2 < 90 { return true }
        if heartRate < 50 || heartRate > 120 || pulseRate < 50 || pulseRate > 120 { return true }
        if nibpSystolic < 90 || nibpSystolic > 160 || nibpDiastolic < 50 || nibpDiastolic > 90 { return true }
        if nibpMean < 60 || nibpMean > 110 { return true }
        if respiratoryRate < 8 || respiratoryRate > 30 { return true }
        return etco2 < 15 || etco2 > 50
    }

    /// The current value of a register map point, by its name; nil for names it does not model.
    public func value(of pointName: String) -> Double? {
        switch pointName {
        case "spo2": return spo2
        case "pulse_rate": return pulseRate
        case "heart_rate": return heartRate
        case "nibp_systolic": return nibpSystolic
        case "nibp_diastolic": return nibpDiastolic
        case "nibp_mean": return nibpMean
        case "nibp_time": return Double(nibpUnixSeconds)
        case "respiratory_rate": return respiratoryRate
        case "etco2": return etco2
        default: return nil
        }
    }

    /// A named bit of a status word (names from the profile's bit fields).
    public func flag(_ name: String) -> Bool {
        switch name {
        case "spo2_probe_off": return spo2ProbeOff
        case "ecg_leads_off", "co2_line_off", "technical_fault": return false
        case "alarm_active": return isAlarming
        default: return false
        }
    }

    private mutating func drift(_ value: Double, towards baseline: Double, step: Double,
                                within bounds: ClosedRange<Double>, decimals: Int) -> Double {
        let pulled = value + (baseline - value) * 0.1 + random.symmetric() * step
        return min(max(rounded(pulled, decimals: decimals), bounds.lowerBound), bounds.upperBound)
    }
}
