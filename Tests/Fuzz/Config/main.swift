import Acquisition
import Alarms
import Config
import FuzzSupport
import RegisterMaps
import Vitals

// The agent's configuration file, then what `run` builds from it before any I/O: the
// acquisition plan, each bed's description and the alarm engine's limits. A configuration
// that passes the check must start: building any of these must not trap.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    // Relative `board:` and `device_profiles:` paths resolve from this directory (the
    // repository's Deploy/config, when run by Deploy/fuzz.sh).
    guard let config = try? ConfigLoader.parse(text: text, file: "Deploy/config/fuzz-input.yaml") else { return 0 }
    let plan = AcquisitionPlan(beds: config.beds.map { $0.devices }) { name in config.profile(named: name) }
    for bus in plan.buses {
        for device in bus.devices { _ = planReads(device.profile) }
    }
    var engine = AlarmEngine()
    for bed in config.beds {
        var devices: [(id: String, points: [Point])] = []
        for device in bed.devices {
            guard let profile = config.profile(named: device.profile) else { continue }
            devices.append((device.id, profile.points))
        }
        let description = BedDescription(bedID: bed.id, devices: devices)
        fuzzRequire(description.entries.count == devices.reduce(0) { $0 + $1.points.count },
                    "bed \(bed.id): the description lost entries")
        do {
            _ = try engine.configure(bed: bed.id, settings: bed.alarms, monotonicMilliseconds: 0, wallClockMilliseconds: 0)
        } catch {
            fuzzRequire(false, "bed \(bed.id): the configuration passed the check but its alarm limits are refused: \(error)")
        }
    }
    return 0
}

runFuzzTarget(fuzzConfig)
