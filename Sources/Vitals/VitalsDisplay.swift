import JSON

/// One terminal line for a bed, as the demo shows it (units as the bed's description gives them):
/// "chair-1  #42  08:40:01  SpO2 97 %  PR 72  HR 73  NIBP 121/79 (93)  RR 14  EtCO2 38.5"
public func formatVitalsLine(_ vitals: ReceivedVitals) -> String {
    func shown(_ name: String, _ decimals: Int = 0) -> String {
        guard let value = vitals.value(named: name) else { return "-" }
        guard let number = value.value else { return "--" }
        let text = formatDecimal(number, decimals: decimals)
        return value.quality == "ok" ? text : text + "?"
    }
    func unit(_ name: String) -> String {
        guard let unit = vitals.value(named: name)?.unit, !unit.isEmpty else { return "" }
        return " " + unit
    }
    let clock = vitals.time.utf8.count >= 19 ? String(vitals.time.dropFirst(11).prefix(8)) : vitals.time
    var line = "\(vitals.bedID)  #\(vitals.sequence)  \(clock)Z"
    line += "  SpO2 \(shown("spo2"))\(unit("spo2"))"
    line += "  PR \(shown("pulse_rate"))"
    line += "  HR \(shown("heart_rate"))"
    line += "  NIBP \(shown("nibp_systolic"))/\(shown("nibp_diastolic")) (\(shown("nibp_mean")))"
    line += "  RR \(shown("respiratory_rate"))"
    line += "  EtCO2 \(shown("etco2", 1))"
    if vitals.value(named: "rate") != nil {
        let states = ["stopped", "running", "paused"]
        var state = "?"
        if let code = vitals.value(named: "state")?.value, code >= 0, code < Double(states.count) {
            state = states[Int(code)]
        }
        line += "  pump \(shown("rate", 1))\(unit("rate")) \(shown("volume_infused", 1))\(unit("volume_infused")) \(state)"
    }
    let unwell = vitals.values.filter { $0.quality != "ok" }
    if let first = unwell.first { line += "  [\(first.device): \(first.quality)]" }
    return line
}
