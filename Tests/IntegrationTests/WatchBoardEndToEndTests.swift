import Foundation
import TestSupport
import Testing

/// `bedside-gateway watch` as a board, as a person sees it: in a real terminal (tmux), against
/// mosquitto, the simulator and the agent, while chair-2 desaturates. The pane is read back
/// with `tmux capture-pane`, and tmux's own flags say whether the alternate screen is on and
/// the cursor hidden.
struct WatchBoardEndToEndTests {
    /// A tmux server of this test's own (its own socket), so nothing else's sessions are touched.
    final class Terminal {
        let socket = "bedside-watch-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        static let tmux = "/usr/bin/tmux"

        init(width: Int, height: Int, command: String) throws {
            guard FileManager.default.isExecutableFile(atPath: Self.tmux) else {
                throw TestFailure("\(Self.tmux) is missing: run Deploy/install-deps.sh")
            }
            // bash waits for the board to end and then says how it ended, in the same pane. The
            // server tmux forks would keep every descriptor the test runner handed it, and
            // Foundation takes a child for running while one of its descriptors is open, and
            // starts children with most signals blocked, which the pane's programs would
            // inherit (kill-server's SIGHUP would then end nothing): Python starts tmux with
            // only stdin, stdout and stderr, and no signal blocked.
            let python = "import signal, subprocess, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
                + "sys.exit(subprocess.run(sys.argv[1:]).returncode)"
            let start = try runToCompletion(["/usr/bin/python3", "-c", python,
                                             Self.tmux, "-L", socket, "new-session", "-d", "-s", "board", "-x", String(width),
                                             "-y", String(height), "/bin/bash -c '\(command); echo watch exited $?; exec sleep 60'"],
                                            timeout: 20)
            guard start.status == 0 else { throw TestFailure("tmux new-session: \(start.output)") }
        }

        @discardableResult
        func run(_ arguments: [String]) throws -> String {
            let result = try runToCompletion([Self.tmux, "-L", socket] + arguments, timeout: 20)
            guard result.status == 0 else { throw TestFailure("tmux \(arguments.joined(separator: " ")): \(result.output)") }
            return result.output
        }

        /// The pane as text; with `escapes`, with its colours as SGR sequences.
        func capture(escapes: Bool = false) -> String {
            (try? run(["capture-pane", "-p", "-t", "board"] + (escapes ? ["-e"] : []))) ?? ""
        }

        func flag(_ name: String) -> String {
            ((try? run(["display-message", "-p", "-t", "board", "#{\(name)}"])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func stop() { _ = try? run(["kill-server"]) }
    }

    @Test func theBoardShowsTheAlarmInPlaceAndRestoresTheTerminal() throws {
        let rig = try PublishingRig("watch-board")
        defer { rig.stopAll() }
        try rig.startBroker()
        let ports = try rig.startSimulator(monitors: 2, arguments: ["--scenario", "desaturation@2", "--scenario-after-s", "2",
                                                                    "--update-ms", "250"])
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 500)
        try rig.startAgent()

        let watch = (agentCommand() + ["watch", "--port", String(rig.brokerPort), "--prefix", "bedside/test/box-1"]).joined(separator: " ")
        let terminal = try Terminal(width: 120, height: 20, command: watch)
        defer { terminal.stop() }

        func row(_ bed: String, in screen: String) -> String? {
            screen.split(separator: "\n").map(String.init).first { $0.hasPrefix(bed + " ") }
        }
        // chair-2's SpO2 crosses 90 % a few seconds in: its row carries the high alarm.
        let alarmed = waitUntil(timeout: 40, checkingEvery: 0.25) {
            row("chair-2", in: terminal.capture())?.contains("spo2-low") == true
        }
        let screen = terminal.capture()
        #expect(alarmed, "no spo2-low on chair-2's row:\n\(screen)\n\(rig.agentOutput)")
        print("the board during the alarm (tmux capture-pane -p):\n\(screen)")
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first?.hasPrefix("bedside-gateway watch") == true)
        #expect(lines.count > 1 && lines[1].contains("SpO2 %") && lines[1].contains("HR /min") && lines[1].contains("alarms"))
        #expect(row("chair-1", in: screen)?.contains("spo2-low") == false, "chair-1 does not desaturate:\n\(screen)")
        // Drawn in place: one row per chair, not a line per message.
        #expect(screen.components(separatedBy: "\nchair-2 ").count == 2, "chair-2 appears more than once:\n\(screen)")
        // In IEC 60601-1-8's red, with the chair's name.
        let coloured = terminal.capture(escapes: true)
        #expect(coloured.contains("41m spo2-low"), "the alarm is not on red:\n\(coloured)")
        #expect(terminal.flag("alternate_on") == "1" && terminal.flag("cursor_flag") == "0",
                "the board is on the alternate screen with the cursor hidden")

        // A narrower window: the board is laid out again for it, the alarm still there.
        try terminal.run(["resize-window", "-t", "board", "-x", "72", "-y", "14"])
        let narrow = waitUntil(timeout: 10, checkingEvery: 0.1) {
            let shown = terminal.capture()
            return shown.split(separator: "\n").first?.count ?? 99 <= 72 && row("chair-2", in: shown)?.contains("spo2-low") == true
                && !shown.contains("PR /min")
        }
        #expect(narrow, "not laid out again for 72 columns:\n\(terminal.capture())")

        // Ctrl-C: the board ends, the screen and the cursor are back as they were.
        try terminal.run(["send-keys", "-t", "board", "C-c"])
        let ended = waitUntil(timeout: 10, checkingEvery: 0.1) { terminal.capture().contains("watch exited 0") }
        #expect(ended, "watch did not end on Ctrl-C:\n\(terminal.capture())")
        #expect(terminal.flag("alternate_on") == "0" && terminal.flag("cursor_flag") == "1",
                "the alternate screen and the hidden cursor were not restored")
        #expect(!terminal.capture().contains("chair-2 "), "the board was left on the normal screen")

        // Piped (its output a file, not a terminal): a line per message, as before the board.
        let piped = try runToCompletion(agentCommand() + ["watch", "--port", String(rig.brokerPort), "--prefix", "bedside/test/box-1",
                                                          "--count", "6"], timeout: 30)
        let printed = piped.output.split(separator: "\n").filter { $0.hasPrefix("chair-") }
        #expect(piped.status == 0 && printed.count >= 4, "piped watch printed:\n\(piped.output)")
        #expect(!piped.output.contains("\u{1B}["), "escape sequences in piped output")
    }
}
