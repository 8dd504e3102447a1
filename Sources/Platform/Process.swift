import CShims

/// The process arguments, including the program name at index 0.
public func processArguments() -> [String] {
    let argv = bedside_argv()
    var arguments: [String] = []
    guard let argv else { return arguments }
    for index in 0..<Int(bedside_argc()) {
        if let argument = argv[index] { arguments.append(String(cString: argument)) }
    }
    return arguments
}

public func environmentValue(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

/// SIGINT/SIGTERM handling: the handler only sets a flag; loops poll `stopRequested`.
public enum StopSignal {
    public static func install() { bedside_install_stop_handlers() }
    public static var requested: Bool { bedside_stop_requested() != 0 }
    public static func request() { bedside_request_stop() }
}

public func exitProcess(_ code: Int32) -> Never { exit(code) }

public func getProcessID() -> Int32 { getpid() }
