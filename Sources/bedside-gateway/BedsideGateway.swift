import Config
import Modbus
import Gateway
import Platform
import Simulator

/// Command-line entry: parses arguments and hands over to the module that does the work.
@main
struct BedsideGateway {
    static let version = "0.1.0"

    static func main() {
        var arguments = CommandLineArguments(processArguments().dropFirst())
        guard let command = arguments.next() else {
            printError(usage)
            exitProcess(2)
        }
        let code: Int32
        switch command {
        case "run": code = runAgent(&arguments)
        case "check": code = checkConfigs(&arguments)
        case "simulate": code = simulate(&arguments)
        case "watch": code = watch(&arguments)
        case "bench-loop": code = benchLoop(&arguments)
        case "--version", "version": printLine("bedside-gateway \(version) (\(buildFlavor))"); code = 0
        case "help", "--help", "-h": printLine(usage); code = 0
        default:
            printError("bedside-gateway: unknown command '\(command)'\n\(usage)")
            code = 2
        }
        exitProcess(code)
    }

    static var buildFlavor: String {
        #if hasFeature(Embedded)
        return "embedded firmware"
        #else
        return "host build"
        #endif
    }

    static let usage = """
        usage:
          bedside-gateway run --config FILE      sample the configured devices and publish to MQTT
          bedside-gateway check FILE...           check configuration files; exit 2 on any error
          bedside-gateway simulate [options]      serve simulated bedside devices over Modbus TCP and RTU
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
          bedside-gateway watch [options]         show vitals arriving at a broker
              --host ADDR (127.0.0.1)  --port N (1883)  --topic PATTERN (bedside/+/+/beds/+/vitals)
              --count N (until Ctrl-C)
          bedside-gateway bench-loop [options]    time the sampling loop against one monitor (Deploy/bench-loop.sh)
              --host ADDR (127.0.0.1)  --port N (1502)  --period-ms N (1)  --cycles N (10000)
              --priority N (80, 0 = normal)  --cpu N
          bedside-gateway --version
        """

    static func runAgent(_ arguments: inout CommandLineArguments) -> Int32 {
        var configPath: String?
        while let option = arguments.next() {
            switch option {
            case "--config": configPath = arguments.value(for: option)
            default: return arguments.fail("unknown option '\(option)' for run")
            }
        }
        if let problem = arguments.problem { return arguments.fail(problem) }
        guard let configPath else { return arguments.fail("run needs --config FILE") }
        let config: GatewayConfig
        do {
            config = try ConfigLoader.load(path: configPath)
        } catch {
            printError(error.description)
            printError("bedside-gateway: refusing to start: \(error.errors.count) configuration error(s) in \(configPath)")
            return 2
        }
        do {
            let agent = try Agent(config: config)
            return agent.run()
        } catch {
            log(.error, error.description)
            return 1
        }
    }

    static func checkConfigs(_ arguments: inout CommandLineArguments) -> Int32 {
        var paths: [String] = []
        while let path = arguments.next() { paths.append(path) }
        if paths.isEmpty { return arguments.fail("check needs at least one FILE") }
        var failed = false
        for path in paths {
            do {
                let config = try ConfigLoader.load(path: path)
                var devices = 0
                for bed in config.beds { devices += bed.devices.count }
                printLine("\(path): ok (\(config.beds.count) bed(s), \(devices) device(s))")
            } catch {
                printError(error.description)
                failed = true
            }
        }
        return failed ? 2 : 0
    }

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
                        options.patternProfile = try ConfigLoader.loadProfile(path: text)
                    } catch {
                        printError(error.description)
                        return arguments.fail("--pattern-profile '\(text)' is neither a built-in profile nor a valid profile file")
                    }
                }
            case "--seed": options.seed = UInt64(arguments.integer(for: option, in: 0...Int.max) ?? 1)
            case "--update-ms": options.updateIntervalMilliseconds = arguments.integer(for: option, in: 10...60_000) ?? 1000
            case "--nibp-interval-s": options.nibpIntervalSeconds = arguments.integer(for: option, in: 1...86_400) ?? 180
            case "--served-log": options.servedLogPath = arguments.value(for: option)
            default: return arguments.fail("unknown option '\(option)' for simulate")
            }
        }
        if let problem = arguments.problem { return arguments.fail(problem) }
        if options.rtuDevice != nil && !tcpDevicesGiven { options.tcpDevices = [] }
        let problems = options.problems()
        if let first = problems.first {
            for problem in problems.dropFirst() { printError("bedside-gateway: \(problem)") }
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
