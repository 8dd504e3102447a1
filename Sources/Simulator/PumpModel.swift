import RegisterMaps

/// An infusion pump running a programmed infusion: it delivers at its rate, the volume
/// infused integrates over time and the volume to be infused counts down; at zero the pump
/// stops. The `occlusion` scenario pauses it with the occlusion bit set. Pure and
/// deterministic: the seed picks the programme, time advances one second per `advance()`.
public struct PumpModel {
    /// Programmed rate, mL/h (what the pump delivers while running).
    public let programmedRate: Double
    /// Programmed dose rate, mg/kg/h.
    public let programmedDoseRate: Double
    /// Volume to be infused when the infusion was started, mL.
    public let programmedVolume: Double
    public private(set) var volumeInfused: Double = 0
    public private(set) var volumeToBeInfused: Double
    public private(set) var state: BuiltinProfiles.PumpState = .running
    public private(set) var occlusion = false
    public private(set) var airInLine = false
    public private(set) var doorOpen = false
    public private(set) var batteryLow = false
    public private(set) var elapsedSeconds = 0
    public let scenario: Scenario
    public let timing: ScenarioTiming

    /// `rate` and `volume` override the seeded programme (mL/h and mL).
    public init(seed: UInt64, rate: Double? = nil, volume: Double? = nil, scenario: Scenario = .normal,
                timing: ScenarioTiming = ScenarioTiming()) {
        var random = SeededRandom(seed: seed)
        // Ketamine in 100 mL over 40-60 min: 100-150 mL/h, to a tenth of a mL/h.
        programmedRate = rate ?? ((125 + 25 * random.symmetric()) * 10).rounded() / 10
        // 0.5 mg/kg over 40 min is 0.75 mg/kg/h; pumps show two decimals.
        programmedDoseRate = ((0.75 + 0.1 * random.symmetric()) * 100).rounded() / 100
        programmedVolume = volume ?? 100
        volumeToBeInfused = programmedVolume
        self.scenario = scenario
        self.timing = timing
        if programmedVolume <= 0 || programmedRate <= 0 { state = .stopped }
        applyScenario()
    }

    /// Moves the pump on by one second.
    public mutating func advance() {
        elapsedSeconds += 1
        if state == .running {
            let delivered = min(programmedRate / 3600, volumeToBeInfused)
            volumeInfused += delivered
            volumeToBeInfused -= delivered
            // Stop at the end of the programme (and do not chase floating-point crumbs).
            if volumeToBeInfused <= 1e-9 {
                volumeToBeInfused = 0
                state = .stopped
            }
        }
        applyScenario()
    }

    private mutating func applyScenario() {
        if scenario == .occlusion && elapsedSeconds >= timing.onsetSeconds && !occlusion {
            occlusion = true
            if state == .running { state = .paused }
        }
    }

    /// Rate being delivered now, mL/h: the programmed rate while running, else 0.
    public var rate: Double { state == .running ? programmedRate : 0 }
    public var doseRate: Double { state == .running ? programmedDoseRate : 0 }

    public func value(of pointName: String) -> Double? {
        switch pointName {
        case "rate": return rate
        case "dose_rate": return doseRate
        case "volume_infused": return volumeInfused
        case "volume_to_be_infused": return volumeToBeInfused
        case "state": return Double(state.rawValue)
        default: return nil
        }
    }

    /// A named bit of the pump's status word (names from the profile's bit fields).
    public func flag(_ name: String) -> Bool {
        switch name {
        case "occlusion": return occlusion
        case "air_in_line": return airInLine
        case "door_open": return doorOpen
        case "battery_low": return batteryLow
        default: return false
        }
    }
}
