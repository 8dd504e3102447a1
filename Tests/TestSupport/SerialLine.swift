import Foundation

/// A serial line for end-to-end tests: two connected pseudo-terminals made by socat, so a
/// simulator serving Modbus RTU on one end and the agent polling on the other talk as over
/// a real RS-485 pair. The ends are symlinks in a fresh directory (`simulatorEnd`, `agentEnd`).
public final class SerialLinePair {
    public let process = Process()
    public let directory: URL
    public let simulatorEnd: String
    public let agentEnd: String
    public let logPath: String

    public init() throws {
        directory = try temporaryDirectory("serial")
        simulatorEnd = directory.appendingPathComponent("simulator-end").path
        agentEnd = directory.appendingPathComponent("agent-end").path
        logPath = directory.appendingPathComponent("socat.log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
        process.arguments = ["-d", "-d", "pty,raw,echo=0,link=\(simulatorEnd)", "pty,raw,echo=0,link=\(agentEnd)"]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: simulatorEnd) && FileManager.default.fileExists(atPath: agentEnd) { return }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        stop()
        throw TestFailure("socat did not create both ptys: \(log)")
    }

    /// What socat said (with -d -d: the pty names and any error).
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGKILL, not SIGTERM: Foundation's Process starts children with the test process's
    /// signal mask, in which SIGTERM is blocked, so socat would never see a SIGTERM.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}
