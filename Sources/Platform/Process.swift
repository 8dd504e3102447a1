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

/// SIGINT/SIGTERM handling: the handler only sets a flag (and signals the `wakes` counter);
/// loops check `requested` whenever they wake.
public enum StopSignal {
    public static func install() { bedside_install_stop_handlers() }
    /// Signals `wakeUp` on a stop as well: a thread blocked on it need not be the one the
    /// kernel interrupts. Pass nil before the counter goes away, so a late signal cannot
    /// write to a descriptor number that was reused.
    public static func wakes(_ wakeUp: WakeUp?) { bedside_set_stop_wakeup(wakeUp?.descriptor ?? -1) }
    public static var requested: Bool { bedside_stop_requested() != 0 }
    public static func request() { bedside_request_stop() }
}

public func exitProcess(_ code: Int32) -> Never { exit(code) }

public func getProcessID() -> Int32 { getpid() }
