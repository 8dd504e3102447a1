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
          bedside-gateway simulate [options]      serve simulated patient monitors over Modbus TCP
              --host ADDR (127.0.0.1)  --port N (1502)  --count N (1)  --seed N (1)
              --update-ms N (1000)  --nibp-interval-s N (180)  --served-log FILE
          bedside-gateway watch [options]         show vitals arriving at a broker
              --host ADDR (127.0.0.1)  --port N (1883)  --topic PATTERN (bedside/+/+/beds/+/vitals)
              --count N (until Ctrl-C)
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
        while let option = arguments.next() {
            switch option {
            case "--host": options.host = arguments.value(for: option) ?? options.host
            case "--port": options.firstPort = arguments.integer(for: option, in: 1...65_535) ?? options.firstPort
            case "--count": options.deviceCount = arguments.integer(for: option, in: 1...1000) ?? options.deviceCount
            case "--seed": options.seed = UInt64(arguments.integer(for: option, in: 0...Int.max) ?? 1)
            case "--update-ms": options.updateIntervalMilliseconds = arguments.integer(for: option, in: 10...60_000) ?? 1000
            case "--nibp-interval-s": options.nibpIntervalSeconds = arguments.integer(for: option, in: 1...86_400) ?? 180
            case "--served-log": options.servedLogPath = arguments.value(for: option)
            default: return arguments.fail("unknown option '\(option)' for simulate")
            }
        }
        if let problem = arguments.problem { return arguments.fail(problem) }
        if options.firstPort + options.deviceCount - 1 > 65_535 { return arguments.fail("--port + --count exceeds 65535") }
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
