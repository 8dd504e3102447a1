import Acquisition
import Profiles
import YAMLReader

/// `sampling:`: the bus loops' period and where their threads run.
extension ConfigDecoder {
    func decodeSampling(_ field: Field?) -> SamplingSettings? {
        let defaultInterval = 1000
        let defaultPriority = board?.realtime.priority ?? SamplingSettings.defaultPriority
        let defaultCPU = board?.realtime.cpu
        // An empty `sampling:` (every line commented out) means "all defaults", not a mistake.
        guard let field, !field.node.isNull else {
            return SamplingSettings(intervalMilliseconds: defaultInterval, realtimePriority: defaultPriority, cpu: defaultCPU)
        }
        guard let sampling = mapping(field, expected: "a mapping with the sampling settings",
                                     allowedKeys: ["interval_ms", "priority", "cpu"])
        else { return nil }
        let interval = optionalInteger(sampling, "interval_ms", in: 10...60000, default: defaultInterval)
        let priority = optionalInteger(sampling, "priority", in: SamplingSettings.priorityRange, default: defaultPriority)
        var cpu = defaultCPU
        if let field = sampling.optional("cpu") {
            guard let pinned = integer(field, in: SamplingSettings.cpuRange, defaultHint: defaultCPU.map { "\($0)" } ?? "none")
            else { return nil }
            cpu = pinned
        }
        guard let interval, let priority else { return nil }
        return SamplingSettings(intervalMilliseconds: interval, realtimePriority: priority, cpu: cpu)
    }
}
