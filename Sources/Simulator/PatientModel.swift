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
/// so it changes only when a cycle runs. Pure: time advances only through `advance`.
public struct PatientModel {
    public private(set) var spo2: Double = 97
    public private(set) var heartRate: Double = 72
    public private(set) var pulseRate: Double = 72
    public private(set) var respiratoryRate: Double = 14
    public private(set) var etco2: Double = 38
    public private(set) var nibpSystolic: Double = 0
    public private(set) var nibpDiastolic: Double = 0
    public private(set) var nibpMean: Double = 0

    public let nibpIntervalSeconds: Int
    private var random: SeededRandom
    private var secondsSinceNIBP: Int

    public init(seed: UInt64, nibpIntervalSeconds: Int = 180) {
        random = SeededRandom(seed: seed)
        self.nibpIntervalSeconds = max(1, nibpIntervalSeconds)
        secondsSinceNIBP = self.nibpIntervalSeconds
        // Each simulated patient starts from a slightly different baseline.
        heartRate = 68 + 10 * abs(random.symmetric())
        pulseRate = heartRate
        advance()
    }

    /// Moves the patient on by one second.
    public mutating func advance() {
        spo2 = drift(spo2, towards: 97, step: 0.6, within: 93...100, decimals: 0)
        heartRate = drift(heartRate, towards: 74, step: 2, within: 55...110, decimals: 0)
        // The oximeter's pulse rate follows the ECG within a beat or two.
        pulseRate = min(max((heartRate + random.symmetric() * 1.5).rounded(), 50), 115)
        respiratoryRate = drift(respiratoryRate, towards: 14, step: 0.7, within: 9...22, decimals: 0)
        etco2 = drift(etco2, towards: 38, step: 0.6, within: 32...45, decimals: 1)
        secondsSinceNIBP += 1
        if secondsSinceNIBP >= nibpIntervalSeconds {
            secondsSinceNIBP = 0
            nibpSystolic = (124 + random.symmetric() * 12).rounded()
            nibpDiastolic = (79 + random.symmetric() * 7).rounded()
            // Oscillometric mean: roughly diastolic plus a third of the pulse pressure.
            nibpMean = (nibpDiastolic + (nibpSystolic - nibpDiastolic) / 3).rounded()
        }
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
        case "respiratory_rate": return respiratoryRate
        case "etco2": return etco2
        default: return nil
        }
    }

    private mutating func drift(_ value: Double, towards baseline: Double, step: Double,
                                within bounds: ClosedRange<Double>, decimals: Int) -> Double {
        let pulled = value + (baseline - value) * 0.1 + random.symmetric() * step
        var factor: Double = 1
        for _ in 0..<decimals { factor *= 10 }
        let rounded = (pulled * factor).rounded() / factor
        return min(max(rounded, bounds.lowerBound), bounds.upperBound)
    }
}
