import Foundation

/// A child process whose output goes to files, so a failing test can show what it said.
public final class ChildProcess {
    public let process = Process()
    public let outputPath: String
    public let name: String

    public init(name: String, command: [String], directory: URL, environment: [String: String] = [:]) throws {
        self.name = name
        outputPath = directory.appendingPathComponent("\(name).log").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        }
        try process.run()
    }

    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, then SIGKILL if it has not gone within `grace` seconds. Returns the exit status.
    @discardableResult
    public func stop(grace: TimeInterval = 10) -> Int32 {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(grace)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL at once: for fixtures that need no graceful stop. Foundation starts children
    /// with SIGTERM blocked, so a program that does not unblock it (mosquitto, socat) would
    /// sit out the whole grace period of `stop()`.
    public func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) } }
}

/// Runs a command to completion and returns its exit status and combined output.
public func runToCompletion(_ command: [String], timeout: TimeInterval = 120) throws -> (status: Int32, output: String) {
    let directory = try temporaryDirectory("run")
    let child = try ChildProcess(name: "command", command: command, directory: directory)
    let deadline = Date().addingTimeInterval(timeout)
    while child.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    let status = child.stop(grace: 1)
    return (status, child.output)
}

public func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("bedside-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Asks the kernel for a free TCP port on loopback.
public func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The first of `count` consecutive loopback ports that are free now (the simulator's TCP
/// devices take consecutive ports). Drawn from 20000-31999, below the kernel's ephemeral
/// range (32768 and up), so that no test's outgoing connection takes one meanwhile.
public func freeConsecutiveLoopbackPorts(_ count: Int) -> Int {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<200 {
        let first = Int.random(in: 20_000...(32_000 - count), using: &generator)
        if (first..<(first + count)).allSatisfy(isFreeLoopbackPort) { return first }
    }
    return freeLoopbackPort()
}

public func isFreeLoopbackPort(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
public func waitForListener(port: Int, timeout: TimeInterval = 15) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if result == 0 { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return false
}

/// The agent as a user runs it: the host build next to the test bundle, or, when
/// BEDSIDE_AGENT_COMMAND is set (e.g. "qemu-aarch64 .build-firmware/aarch64/bedside-gateway"),
/// that command — which is how CI runs the end-to-end tests against the firmware.
public func agentCommand() -> [String] {
    if let command = ProcessInfo.processInfo.environment["BEDSIDE_AGENT_COMMAND"], !command.isEmpty {
        return command.split(separator: " ").map(String.init)
    }
    return [hostBinary()]
}

/// The host build of bedside-gateway.
public func hostBinary() -> String { builtProduct("bedside-gateway") }

/// The host build of the device simulator, the fixture every end-to-end test talks to.
public func simulatorBinary() -> String { builtProduct("bedside-simulator") }

func builtProduct(_ name: String) -> String {
    let bundle = Bundle.main.bundleURL
    let candidates = [bundle.deletingLastPathComponent(), bundle]
    for directory in candidates {
        let path = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return repositoryRoot().appendingPathComponent(".build/debug/\(name)").path
}

public func repositoryRoot() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
