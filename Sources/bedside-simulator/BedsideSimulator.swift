import Profiles
import YAMLReader
import Modbus
import Platform
import Simulator

/// The bedside device simulator: patient monitors, infusion pumps and test-pattern devices
/// on Modbus TCP and RTU, for tests, demos and benchmarks. A program of its own so that the
/// agent a clinic runs carries no simulator.
@main
struct BedsideSimulator {
    static let version = "0.1.0"

    static func main() {
        logProgramName = "bedside-simulator"
        var arguments = CommandLineArguments(program: "bedside-simulator", processArguments().dropFirst())
        exitProcess(simulate(&arguments))
    }

    static var buildFlavor: String {
        #if hasFeature(Embedded)
        return "embedded firmware"
        #else
        return "host build"
        #endif
    }

    static let usage = """
        usage: bedside-simulator [options]      serve simulated bedside devices over Modbus TCP and RTU
            --devices KIND[:N],...  TCP devices, one port each from --port (default monitor:1);
                                    KIND: monitor, pump, pattern (values from addresses, see TestPattern)
            --count N               same as --devices monitor:N
            --host ADDR (127.0.0.1)  --port N (1502)
            --rtu PATH              serve an RTU line on PATH (serial device or pty; then no TCP
                                    devices unless --devices or --count is given)
            --units LIST (1)        its unit ids, one device each, e.g. 1-8 or 1,3,5-7
            --rtu-devices KIND[:N],...  kinds on the line in unit order (default a monitor per unit)
            --baud N (19200)  --parity N|E|O (E)  --data-bits N (8)  --stop-bits N (1)
            --scenario NAME[@LIST]  repeatable; LIST: device numbers, TCP devices first then RTU units
                                    (default: every device the scenario concerns). NAME: normal,
                                    desaturation, hypertension, bradypnea-apnea, tachycardia,
                                    unplugged, occlusion, nibp-3min, probe-off
            --scenario-after-s N (0)  onset of the patient and pump scenarios
            --unplugged-after-s N (10)  --unplugged-s N (20)
            --pattern-profile NAME|FILE  register map of pattern devices (default: every type and order)
            --seed N (1)  --nibp-interval-s N (180)  --served-log FILE (a JSON line per device update)
            --update-ms N (1000)    real milliseconds per simulated second (100: ten times faster)
            --reply-time-register TABLE:ADDRESS  (benchmarks) every TCP device stamps this register
                                    (TABLE holding or input) right before each reply with the wall-clock
                                    time in 100 us units modulo 65536, overriding its served value
            --reply-log FILE        (benchmarks) a JSON line per TCP reply: the CLOCK_MONOTONIC ns right
                                    before it was sent, the device number and port
        """

    static func simulate(_ arguments: inout CommandLineArguments) -> Int32 {
        var options = SimulatorOptions()
        var tcpDevicesGiven = false
        while let option = arguments.next() {
            switch option {
            case "--host": options.host = arguments.value(for: option) ?? options.host
            case "--port": options.firstPort = arguments.integer(for: option, in: 1...65_535) ?? options.firstPort
            case "--count":
                options.deviceCount = arguments.integer(for: option, in: 1...1000) ?? options.deviceCount
                tcpDevicesGiven = true
            case "--devices", "--rtu-devices":
                guard let text = arguments.value(for: option) else { break }
                guard let groups = DeviceGroup.parseList(text) else {
                    return arguments.fail("\(option) '\(text)': expected KIND[:N],... with KIND monitor, pump or pattern")
                }
                if option == "--devices" {
                    options.tcpDevices = groups
                    tcpDevicesGiven = true
                } else {
                    options.rtuDevices = groups
                }
            case "--rtu": options.rtuDevice = arguments.value(for: option)
            case "--units":
                guard let text = arguments.value(for: option) else { break }
                guard let units = parseNumberList(text) else {
                    return arguments.fail("--units '\(text)': expected unit ids like 1-8 or 1,3,5-7")
                }
                options.rtuUnits = units
            case "--baud": options.rtuBaud = arguments.integer(for: option, in: 50...4_000_000) ?? options.rtuBaud
            case "--parity":
                guard let text = arguments.value(for: option) else { break }
                switch text {
                case "N", "n", "none": options.rtuParity = .none
                case "E", "e", "even": options.rtuParity = .even
                case "O", "o", "odd": options.rtuParity = .odd
                default: return arguments.fail("--parity '\(text)': expected N, E or O")
                }
            case "--data-bits": options.rtuDataBits = arguments.integer(for: option, in: 5...8) ?? options.rtuDataBits
            case "--stop-bits": options.rtuStopBits = arguments.integer(for: option, in: 1...2) ?? options.rtuStopBits
            case "--scenario":
                guard let text = arguments.value(for: option) else { break }
                guard let assignment = ScenarioAssignment.parse(text) else {
                    return arguments.fail("--scenario '\(text)': expected NAME or NAME@LIST with NAME one of \(Scenario.names)")
                }
                options.scenarios.append(assignment)
            case "--scenario-after-s":
                options.timing.onsetSeconds = arguments.integer(for: option, in: 0...31_536_000) ?? 0
            case "--unplugged-after-s":
                options.timing.unpluggedAfterSeconds = arguments.integer(for: option, in: 0...31_536_000) ?? 10
            case "--unplugged-s":
                options.timing.unpluggedSeconds = arguments.integer(for: option, in: 1...31_536_000) ?? 20
            case "--pattern-profile":
                guard let text = arguments.value(for: option) else { break }
                if let profile = SimulatorOptions.knownProfile(named: text) {
                    options.patternProfile = profile
                } else {
                    do {
                        options.patternProfile = try ProfileLoader.loadProfile(path: text)
                    } catch {
                        printError(error.description)
                        return arguments.fail("--pattern-profile '\(text)' is neither a built-in profile nor a valid profile file")
                    }
                }
            case "--seed": options.seed = UInt64(arguments.integer(for: option, in: 0...Int.max) ?? 1)
            case "--update-ms": options.updateIntervalMilliseconds = arguments.integer(for: option, in: 10...60_000) ?? 1000
            case "--nibp-interval-s": options.nibpIntervalSeconds = arguments.integer(for: option, in: 1...86_400) ?? 180
            case "--served-log": options.servedLogPath = arguments.value(for: option)
            case "--reply-log": options.replyLogPath = arguments.value(for: option)
            case "--reply-time-register":
                guard let text = arguments.value(for: option) else { break }
                guard let register = ReplyTimeRegister.parse(text) else {
                    return arguments.fail("--reply-time-register '\(text)': expected holding:ADDRESS or input:ADDRESS, e.g. holding:1")
                }
                options.replyTimeRegister = register
            case "--version":
                printLine("bedside-simulator \(version) (\(buildFlavor))")
                return 0
            case "--help", "-h", "help":
                printLine(usage)
                return 0
            default: return arguments.fail("unknown option '\(option)'")
            }
        }
        if let problem = arguments.problem { return arguments.fail(problem) }
        if options.rtuDevice != nil && !tcpDevicesGiven { options.tcpDevices = [] }
        let problems = options.problems()
        if let first = problems.first {
            for problem in problems.dropFirst() { printError("bedside-simulator: \(problem)") }
            return arguments.fail(first)
        }
        do {
            let simulator = try DeviceSimulator(options: options)
            simulator.run()
            return 0
        } catch {
            log(.error, error.description)
            return 1
        }
    }
}
