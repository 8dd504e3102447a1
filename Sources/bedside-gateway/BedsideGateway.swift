import ClinicView
import Commands
import Config
import Modbus
import Gateway
import Platform
import Profiles
import YAMLReader

/// Command-line entry: parses arguments and hands over to the module that does the work.
@main
struct BedsideGateway {
    static let version = "0.2.0"

    static func main() {
        var arguments = CommandLineArguments(program: "bedside-gateway", processArguments().dropFirst())
        guard let command = arguments.next() else {
            printError(usage)
            exitProcess(2)
        }
        let code: Int32
        switch command {
        case "run": code = runAgent(&arguments)
        case "check": code = checkConfigs(&arguments)
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
          bedside-gateway check --board FILE...   check board profiles (Boards/*.yaml); exit 2 on any error
          bedside-simulator [options]             simulated devices for tests and demos (a separate program)
          bedside-gateway watch [options]         show vitals and alarms arriving at a broker: a board
                                                  redrawn in place on a terminal, a line per message piped
              --host ADDR (127.0.0.1)  --port N (1883)  --prefix PREFIX (bedside/+/+)  --bed ID (+)
              --count N (until Ctrl-C)  --lines (a line per message on a terminal too)
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
            let agent = try Agent(config: config, version: version)
            return agent.run()
        } catch {
            log(.error, error.description)
            return 1
        }
    }

    static func checkConfigs(_ arguments: inout CommandLineArguments) -> Int32 {
        var paths: [String] = []
        while let path = arguments.next() { paths.append(path) }
        if paths.first == "--board" {
            paths.removeFirst()
            if paths.isEmpty { return arguments.fail("check --board needs at least one FILE") }
            return checkBoards(paths)
        }
        if paths.isEmpty { return arguments.fail("check needs at least one FILE") }
        var failed = false
        for path in paths {
            do {
                let config = try ConfigLoader.load(path: path)
                // The command tokens file has its own format; check it with the rest.
                do throws(TokenFileErrors) {
                    _ = try CommandTokens.load(path: config.commands.tokensFile)
                } catch {
                    printError(error.description)
                    failed = true
                    continue
                }
                var devices = 0
                for bed in config.beds { devices += bed.devices.count }
                printLine("\(path): ok (\(config.beds.count) bed(s), \(devices) device(s))")
                if let view = config.view {
                    printLine(view.requiresLogin
                        ? "\(path): clinic view on \(view.listenAddress):\(view.port) for the \(view.users.count) user(s) of \(view.usersFile ?? "")"
                            + (view.certificateFile == nil ? " without TLS (passwords cross the LAN readable: set view.cert_file and view.key_file)" : " over TLS")
                        : "\(path): clinic view on 127.0.0.1:\(view.port) only: no view.users_file, so only this box can open it")
                }
            } catch {
                printError(error.description)
                failed = true
            }
        }
        return failed ? 2 : 0
    }

    static func checkBoards(_ paths: [String]) -> Int32 {
        var failed = false
        for path in paths {
            do {
                let board = try ProfileLoader.loadBoard(path: path)
                printLine("\(path): ok (board \(board.id), \(board.architecture.rawValue), \(board.serialPorts.count) serial port(s))")
            } catch {
                printError(error.description)
                failed = true
            }
        }
        return failed ? 2 : 0
    }
}
