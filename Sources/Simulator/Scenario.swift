/// Scripted clinical and technical situations the simulator can play, by name on the command
/// line (`--scenario NAME`). Each is pure: a function of simulated seconds since its onset, so
/// unit tests step it without a clock. Patient scenarios act on monitors, pump scenarios on
/// pumps, `unplugged` on any device (its server stops answering).
public enum Scenario: String, Sendable, CaseIterable {
    /// Vitals drift around a sedated adult's baseline.
    case normal
    /// SpO2 falls linearly to 85 % over 30 s from the onset, then holds at 85.
    case desaturation
    /// The first cuff cycle at or after the onset reads 190/110 (mean 137), and every one after it.
    case hypertension
    /// Respiratory rate falls linearly to 6/min over 30 s, holds there until 60 s after the onset,
    /// then apnea: 0/min, with EtCO2 falling from its last value towards 0 (30 % less each second).
    case bradypneaApnea = "bradypnea-apnea"
    /// ECG heart rate and pulse rate rise linearly to 140/min over 20 s, then hold.
    case tachycardia
    /// The device stops answering for `--unplugged-s` seconds, starting `--unplugged-after-s`
    /// seconds after the start, then answers again (TCP: connections closed and refused; RTU:
    /// the unit stays silent on the line).
    case unplugged
    /// The pump detects an occlusion: the occlusion bit is set and the pump pauses.
    case occlusion
    /// A cuff cycle every 180 s (the same as `--nibp-interval-s 180`).
    case nibp3min = "nibp-3min"
    /// The SpO2 probe comes off the finger: the spo2_probe_off bit is set and SpO2 and pulse
    /// rate read 0 (exercises the sensor-off quality end to end).
    case probeOff = "probe-off"

    public static func named(_ name: String) -> Scenario? {
        for scenario in allCases where scenario.rawValue == name { return scenario }
        return nil
    }

    /// All names, for help text and error messages.
    public static var names: String {
        var text = ""
        for scenario in allCases { text += (text.isEmpty ? "" : ", ") + scenario.rawValue }
        return text
    }

    public var concernsMonitors: Bool {
        switch self {
        case .normal, .desaturation, .hypertension, .bradypneaApnea, .tachycardia, .nibp3min, .probeOff, .unplugged: return true
        case .occlusion: return false
        }
    }

    public var concernsPumps: Bool { self == .occlusion || self == .unplugged || self == .normal }

    // Figures of the scripts, in one place.
    public static let desaturationTarget: Double = 85
    public static let desaturationSeconds = 30
    public static let hypertensionSystolic: Double = 190
    public static let hypertensionDiastolic: Double = 110
    public static let bradypneaRate: Double = 6
    public static let bradypneaSeconds = 30
    public static let apneaStartSeconds = 60
    /// Fraction of EtCO2 left after each second of apnea.
    public static let apneaEtCO2Retained: Double = 0.7
    public static let tachycardiaRate: Double = 140
    public static let tachycardiaSeconds = 20
    public static let nibp3minIntervalSeconds = 180
}

/// When a scenario plays, in simulated seconds from the simulator's start.
public struct ScenarioTiming: Sendable, Equatable {
    /// Onset of patient and pump scenarios (`--scenario-after-s`).
    public var onsetSeconds: Int
    /// `unplugged`: silent from this second (`--unplugged-after-s`) ...
    public var unpluggedAfterSeconds: Int
    /// ... for this many seconds (`--unplugged-s`).
    public var unpluggedSeconds: Int

    public init(onsetSeconds: Int = 0, unpluggedAfterSeconds: Int = 10, unpluggedSeconds: Int = 20) {
        self.onsetSeconds = onsetSeconds
        self.unpluggedAfterSeconds = unpluggedAfterSeconds
        self.unpluggedSeconds = unpluggedSeconds
    }

    /// Whether an `unplugged` device is away at simulated second `second`.
    public func isUnplugged(atSecond second: Int) -> Bool {
        second >= unpluggedAfterSeconds && second < unpluggedAfterSeconds + unpluggedSeconds
    }
}

/// A straight line from `start` to `target` over `duration` seconds, then `target`; rounded
/// to `decimals` places. `elapsed` < 0 gives `start`.
func ramp(from start: Double, to target: Double, elapsed: Int, over duration: Int, decimals: Int = 0) -> Double {
    if elapsed <= 0 { return start }
    if elapsed >= duration { return target }
    return rounded(start + (target - start) * Double(elapsed) / Double(duration), decimals: decimals)
}

func rounded(_ value: Double, decimals: Int) -> Double {
    var factor: Double = 1
    for _ in 0..<decimals { factor *= 10 }
    return (value * factor).rounded() / factor
}
