import Foundation
import Testing
@testable import Config
import YAMLReader
import Modbus
import Supervision
@testable import Profiles

private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let boardsDirectory = repositoryRoot.appendingPathComponent("Boards")
private let expectedBoards = ["generic-arm64", "imx8mp-edge", "qemu-virt-aarch64", "raspberry-pi-4", "x86_64-dev"]

private func shippedBoardText(_ id: String) throws -> String {
    try String(contentsOf: boardsDirectory.appendingPathComponent("\(id).yaml"), encoding: .utf8)
}

/// Rendered errors of board text checked on its own, or [] when it loads.
private func boardErrors(_ text: String, file: String = "qemu-virt-aarch64.yaml") -> [String] {
    do {
        _ = try ProfileLoader.parseBoard(text: text, file: file)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

/// A small board; broken cases change one of its lines.
private let smallBoard = """
    board: qemu-virt-aarch64
    name: QEMU virt
    architecture: arm64
    sources: ["QEMU hw/arm/virt.c"]
    gpio_chips:
      - {chip: /dev/gpiochip0, lines: 8, reserved: [3]}
    hardware:
      buzzer: {chip: /dev/gpiochip0, line: 0}
      button: {chip: /dev/gpiochip0, line: 2}
      status_led: {chip: /dev/gpiochip0, line: 1}
      watchdog: {device: /dev/watchdog, timeout_s: 10}
    watchdog_timeouts_s: {min: 1, max: 15}
    serial_ports:
      - {device: /dev/ttyAMA0, rs485_rts: true, rts_delay_us: 50, description: RS-485 port}
    realtime: {cpu: 1, priority: 70}

    """

private func board(replacing line: String, with replacement: String) -> String {
    precondition(smallBoard.contains(line + "\n"), line)
    return smallBoard.replacingOccurrences(of: line + "\n", with: replacement.isEmpty ? "" : replacement + "\n")
}

/// A configuration naming `board`, with `extra` top-level lines and one device.
private func configText(board: String, extra: String = "",
                        device: String = "{id: m1, profile: patient-monitor, tcp: {host: h}}") -> String {
    "site: s\nbox: b\nboard: \(board)\nmqtt: {host: h}\n\(extra)beds:\n  - id: chair-1\n    devices:\n      - \(device)\n"
}

/// The serial line of the first bed's first device, nil over TCP.
private func serialLine(of config: GatewayConfig) -> SerialLineSettings? {
    guard case .rtu(let line) = config.beds[0].devices[0].endpoint else { return nil }
    return line
}

@Suite struct BoardProfileTests {
    @Test func everyShippedBoardLoadsAndIsNamedAfterItsFile() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: boardsDirectory.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files == expectedBoards.map { "\($0).yaml" })
        for file in files {
            let path = boardsDirectory.appendingPathComponent(file).path
            do {
                let board = try ProfileLoader.loadBoard(path: path)
                #expect(board.id + ".yaml" == file)
                #expect(!board.sources.isEmpty)
                if let timeout = board.hardware.watchdog?.timeoutSeconds, let supported = board.watchdogTimeouts {
                    #expect(supported.contains(timeout), "\(file)")
                }
            } catch {
                Issue.record("\(file): \(error.description)")
            }
        }
    }

    @Test func theQemuBoardKeepsThePowerButtonLineFree() throws {
        let board = try ProfileLoader.parseBoard(text: try shippedBoardText("qemu-virt-aarch64"), file: "qemu-virt-aarch64.yaml")
        #expect(board.architecture == .arm64)
        #expect(board.hardware.buzzer == .chip(path: "/dev/gpiochip0", line: 0, activeLow: false))
        #expect(board.hardware.statusLED == .chip(path: "/dev/gpiochip0", line: 1, activeLow: false))
        #expect(board.hardware.button == .chip(path: "/dev/gpiochip0", line: 2, activeLow: false))
        #expect(board.gpioChips == [BoardGPIOChip(path: "/dev/gpiochip0", lineCount: 8, reservedLines: [3])])
        #expect(board.hardware.watchdog == WatchdogSettings(device: "/dev/watchdog", timeoutSeconds: 10))
        #expect(board.watchdogTimeouts == 1...2046)
        #expect(board.serialPorts.isEmpty)
        #expect(board.realtime == BoardRealtime(cpu: 1, priority: 80))
    }

    @Test(arguments: brokenBoards)
    func brokenBoardIsReportedExactly(_ broken: BrokenFile) {
        #expect(boardErrors(broken.text) == broken.expected)
    }

    @Test func aConfigTakesTheBoardsHardwareRealtimeAndSerialDefaults() throws {
        let scratch = try Scratch()
        try scratch.write("qemu-virt-aarch64.yaml", smallBoard)
        let path = try scratch.write("gateway.yaml", configText(board: "qemu-virt-aarch64.yaml",
                                                               device: "{id: p1, profile: infusion-pump, rtu: {device: /dev/ttyAMA0}}"))
        let config = try ConfigLoader.load(path: path)
        #expect(config.board?.id == "qemu-virt-aarch64")
        #expect(config.hardware.buzzer == .chip(path: "/dev/gpiochip0", line: 0, activeLow: false))
        #expect(config.hardware.button == .chip(path: "/dev/gpiochip0", line: 2, activeLow: false))
        #expect(config.hardware.watchdog == WatchdogSettings(device: "/dev/watchdog", timeoutSeconds: 10))
        #expect(config.sampling.cpu == 1)
        #expect(config.sampling.realtimePriority == 70)
        let line = try #require(serialLine(of: config))
        #expect(line.rs485RTS)
        #expect(line.rtsDelayMicroseconds == 50)
    }

    @Test func theConfigsOwnSettingsWinPartByPart() throws {
        let scratch = try Scratch()
        try scratch.write("qemu-virt-aarch64.yaml", smallBoard)
        let extra = """
            sampling: {priority: 60, cpu: 0}
            hardware:
              buzzer: {chip: /dev/gpiochip0, line: 5, active_low: true}
              watchdog: {timeout_s: 12}

            """
        let path = try scratch.write("gateway.yaml", configText(board: scratch.directory.path + "/qemu-virt-aarch64.yaml", extra: extra,
                                                               device: "{id: p1, profile: infusion-pump, rtu: {device: /dev/ttyAMA0, rs485_rts: false}}"))
        let config = try ConfigLoader.load(path: path)
        #expect(config.hardware.buzzer == .chip(path: "/dev/gpiochip0", line: 5, activeLow: true))
        #expect(config.hardware.statusLED == .chip(path: "/dev/gpiochip0", line: 1, activeLow: false))
        // Member by member: the board's device, the configuration's timeout.
        #expect(config.hardware.watchdog == WatchdogSettings(device: "/dev/watchdog", timeoutSeconds: 12))
        #expect(config.sampling.cpu == 0)
        #expect(config.sampling.realtimePriority == 60)
        let line = try #require(serialLine(of: config))
        #expect(!line.rs485RTS)
        #expect(line.rtsDelayMicroseconds == 50)
    }

    @Test func aConfigIsCheckedAgainstItsBoard() throws {
        let scratch = try Scratch()
        try scratch.write("qemu-virt-aarch64.yaml", smallBoard)
        let boardPath = scratch.directory.path + "/qemu-virt-aarch64.yaml"
        let extra = """
            hardware:
              status_led: {chip: /dev/gpiochip0, line: 8}
              button: {chip: /dev/gpiochip0, line: 0}
              watchdog: {timeout_s: 20}

            """
        let path = try scratch.write("gateway.yaml", configText(board: "qemu-virt-aarch64.yaml", extra: extra))
        let origin = "board \"qemu-virt-aarch64\" (\(boardPath))"
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("a configuration at odds with its board was accepted")
        } catch {
            // The board's buzzer stays (the configuration does not replace it), so its line is taken.
            #expect(error.errors.map(\.description) == [
                "\(path):6:44: hardware.status_led.line: line 8 does not exist: /dev/gpiochip0 has 8 lines (0...7) on \(origin)",
                "\(path):7:40: hardware.button.line: GPIO line 0 of /dev/gpiochip0 is already used by the buzzer of \(origin); "
                    + "the buzzer, the button and the status LED each need their own",
                "\(path):8:25: hardware.watchdog.timeout_s: 20 s is outside the timeouts the watchdog driver accepts on \(origin) "
                    + "(1...15 s, its watchdog_timeouts_s); choose one within them",
            ])
        }
        // A reserved line is refused in a configuration as in the board itself.
        let reserved = try scratch.write("reserved.yaml", configText(board: "qemu-virt-aarch64.yaml",
                                                                    extra: "hardware: {buzzer: {chip: /dev/gpiochip0, line: 3}}\n"))
        #expect(throws: ConfigErrors([ConfigError(file: reserved, line: 5, column: 49, keyPath: "hardware.buzzer.line",
                                                  message: "line 3 of /dev/gpiochip0 is reserved on \(origin) (gpio_chips lists it: "
                                                    + "the board wires it to something else); choose another line")])) {
            try ConfigLoader.load(path: reserved)
        }
    }

    @Test func problemsInTheBoardFileAreReportedAtTheBoardFile() throws {
        let scratch = try Scratch()
        let boardPath = try scratch.write("qemu-virt-aarch64.yaml", board(replacing: "realtime: {cpu: 1, priority: 70}",
                                                                          with: "realtime: {cpu: 1, priority: 100}"))
        let path = try scratch.write("gateway.yaml", configText(board: "qemu-virt-aarch64.yaml", extra: "mqtt_port: 1\n"))
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("a broken board was accepted")
        } catch {
            // The configuration's own errors first, then the board file's.
            #expect(error.errors.map(\.description) == [
                "\(path):5:1: mqtt_port: unknown key (expected one of: site, box, board, mqtt, sampling, queue, health, "
                    + "commands, alarms, hardware, charting, sessions, device_profiles, beds, view)",
                "\(boardPath):15:30: realtime.priority: 100 is out of range (0...99)",
            ])
        }
        let missing = try scratch.write("other.yaml", configText(board: "missing.yaml"))
        do {
            _ = try ConfigLoader.load(path: missing)
            Issue.record("a missing board was accepted")
        } catch {
            #expect(error.errors.count == 1)
            #expect(error.errors.first?.description.hasPrefix("\(missing):3:8: board: cannot read board profile: ") == true,
                    "\(error.description)")
        }
    }

    @Test func theShippedConfigsBoardExampleLoads() throws {
        let configPath = repositoryRoot.appendingPathComponent("Deploy/config/bedside-gateway.yaml").path
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        let example = "# board: /usr/share/bedside-gateway/boards/raspberry-pi-4.yaml\n"
        #expect(text.contains(example))
        // The package's path, pointed at the repository's copy.
        let boardPath = boardsDirectory.appendingPathComponent("raspberry-pi-4.yaml").path
        let config = try ConfigLoader.parse(text: text.replacingOccurrences(of: example, with: "board: \(boardPath)\n"), file: configPath)
        #expect(config.board?.id == "raspberry-pi-4")
        #expect(config.hardware.buzzer == .chip(path: "/dev/gpiochip0", line: 17, activeLow: false))
        // The example's own sampling.priority wins; its cpu is commented out, so the board's.
        #expect(config.sampling.cpu == 3)
    }

    /// No input may crash the agent: truncations and byte mutations of a shipped profile.
    @Test func truncatedAndMutatedBoardsNeverCrash() throws {
        let original = Array(try shippedBoardText("raspberry-pi-4").utf8)
        for length in 0...original.count {
            _ = try? ProfileLoader.parseBoard(bytes: Array(original[0..<length]), file: "raspberry-pi-4.yaml")
        }
        let interesting = Array("{}[]:,-#&*!|>'\"\n\t %@`?~\\0123456789".utf8) + [0x00, 0xFF]
        ConfigTests.parseMutations(of: original, interesting: interesting, seed: 0xB0A2_D000_0000_0001) { bytes in
            _ = try? ProfileLoader.parseBoard(bytes: bytes, file: "raspberry-pi-4.yaml")
        }
    }
}

private let boardKeys = "board, name, architecture, sources, hardware, gpio_chips, watchdog_timeouts_s, serial_ports, realtime"

let brokenBoards: [BrokenFile] = [
    BrokenFile(name: "empty", text: "", expected: [
        "qemu-virt-aarch64.yaml:1:1: the file is empty (expected a board profile: board, name, architecture, sources, hardware, ...)",
    ]),
    BrokenFile(name: "unknown keys", text: board(replacing: "architecture: arm64", with: "architecture: arm64\nvendor: qemu")
        .replacingOccurrences(of: "timeout_s: 10}", with: "timeout_s: 10, pretimeout_s: 5}"), expected: [
        "qemu-virt-aarch64.yaml:4:1: vendor: unknown key (expected one of: \(boardKeys))",
        "qemu-virt-aarch64.yaml:12:52: hardware.watchdog.pretimeout_s: unknown key (expected one of: device, timeout_s)",
    ]),
    BrokenFile(name: "missing sources", text: board(replacing: "sources: [\"QEMU hw/arm/virt.c\"]", with: ""), expected: [
        "qemu-virt-aarch64.yaml:1:1: missing required top-level key 'sources'",
    ]),
    BrokenFile(name: "no sources", text: board(replacing: "sources: [\"QEMU hw/arm/virt.c\"]", with: "sources: []"), expected: [
        "qemu-virt-aarch64.yaml:4:10: sources: the list is empty; say where each fact comes from "
            + "(datasheet or board documentation, with the section)",
    ]),
    BrokenFile(name: "invalid id", text: board(replacing: "board: qemu-virt-aarch64", with: "board: qemu virt"), expected: [
        "qemu-virt-aarch64.yaml:1:8: board: invalid board id \"qemu virt\" (contains a space): use 1 to 64 ASCII letters, digits, '-', '_' or '.'",
    ]),
    BrokenFile(name: "id differs from the file name", text: board(replacing: "board: qemu-virt-aarch64", with: "board: raspberry-pi-4"), expected: [
        "qemu-virt-aarch64.yaml:1:8: board: the board id \"raspberry-pi-4\" differs from the file name \"qemu-virt-aarch64.yaml\"; "
            + "name the file after the board id, or change the id",
    ]),
    BrokenFile(name: "wrong types", text: board(replacing: "architecture: arm64", with: "architecture: riscv64")
        .replacingOccurrences(of: "lines: 8,", with: "lines: eight,")
        .replacingOccurrences(of: "rs485_rts: true", with: "rs485_rts: yes"), expected: [
        "qemu-virt-aarch64.yaml:3:15: architecture: unknown architecture (the Debian package the board takes) \"riscv64\" (expected one of: arm64, amd64)",
        "qemu-virt-aarch64.yaml:6:35: gpio_chips[0].lines: expected an integer, found \"eight\"",
        "qemu-virt-aarch64.yaml:14:39: serial_ports[0].rs485_rts: expected true or false, found \"yes\"",
    ]),
    BrokenFile(name: "line out of range and reserved", text: board(replacing: "  buzzer: {chip: /dev/gpiochip0, line: 0}",
                                                                    with: "  buzzer: {chip: /dev/gpiochip0, line: 8}")
        .replacingOccurrences(of: "line: 2}", with: "line: 3}"), expected: [
        "qemu-virt-aarch64.yaml:8:40: hardware.buzzer.line: line 8 does not exist: /dev/gpiochip0 has 8 lines (0...7) on this board",
        "qemu-virt-aarch64.yaml:9:40: hardware.button.line: line 3 of /dev/gpiochip0 is reserved on this board "
            + "(gpio_chips lists it: the board wires it to something else); choose another line",
    ]),
    BrokenFile(name: "two parts on one line", text: board(replacing: "  status_led: {chip: /dev/gpiochip0, line: 1}",
                                                           with: "  status_led: {chip: /dev/gpiochip0, line: 0}"), expected: [
        "qemu-virt-aarch64.yaml:10:44: hardware.status_led.line: GPIO line 0 of /dev/gpiochip0 is already used by hardware.buzzer (line 8); "
            + "the buzzer, the button and the status LED each need their own",
    ]),
    BrokenFile(name: "unlisted chip", text: board(replacing: "  status_led: {chip: /dev/gpiochip0, line: 1}",
                                                   with: "  status_led: {chip: /dev/gpiochip1, line: 1}"), expected: [
        "qemu-virt-aarch64.yaml:10:22: hardware.status_led.chip: /dev/gpiochip1 is not listed under gpio_chips; "
            + "add it there with its number of lines, or use a listed chip (/dev/gpiochip0)",
    ]),
    BrokenFile(name: "timeout outside the driver's range", text: board(replacing: "watchdog_timeouts_s: {min: 1, max: 15}",
                                                                        with: "watchdog_timeouts_s: {min: 20, max: 15}")
        .replacingOccurrences(of: "timeout_s: 10}", with: "timeout_s: 16}"), expected: [
        "qemu-virt-aarch64.yaml:12:37: watchdog_timeouts_s.max: 15 is out of range (20...86400)",
    ]),
    BrokenFile(name: "timeout above the driver's maximum", text: board(replacing: "  watchdog: {device: /dev/watchdog, timeout_s: 10}",
                                                                        with: "  watchdog: {device: /dev/watchdog, timeout_s: 16}"), expected: [
        "qemu-virt-aarch64.yaml:11:48: hardware.watchdog.timeout_s: 16 s is outside the timeouts the watchdog driver accepts on "
            + "this board (1...15 s, its watchdog_timeouts_s); choose one within them",
    ]),
    BrokenFile(name: "watchdog without its driver's range", text: board(replacing: "watchdog_timeouts_s: {min: 1, max: 15}", with: ""), expected: [
        "qemu-virt-aarch64.yaml:1:1: missing required top-level key 'watchdog_timeouts_s' (the timeouts the watchdog driver "
            + "accepts, {min: S, max: S}; needed with hardware.watchdog)",
    ]),
    BrokenFile(name: "serial port without its wiring", text: board(
        replacing: "  - {device: /dev/ttyAMA0, rs485_rts: true, rts_delay_us: 50, description: RS-485 port}",
        with: "  - {device: /dev/ttyAMA0}\n  - {device: /dev/ttyAMA0, rs485_rts: false, description: again}"), expected: [
        "qemu-virt-aarch64.yaml:14:5: serial_ports[0]: missing required key 'rs485_rts'",
        "qemu-virt-aarch64.yaml:14:5: serial_ports[0]: missing required key 'description'",
        "qemu-virt-aarch64.yaml:15:14: serial_ports[1].device: duplicate serial device \"/dev/ttyAMA0\" (serial_ports[0] at line 14 "
            + "already uses it); serial devices must be unique in serial_ports",
    ]),
    BrokenFile(name: "realtime out of range", text: board(replacing: "realtime: {cpu: 1, priority: 70}",
                                                          with: "realtime: {cpu: 1024, priority: -1}"), expected: [
        "qemu-virt-aarch64.yaml:15:17: realtime.cpu: 1024 is out of range (0...1023)",
        "qemu-virt-aarch64.yaml:15:33: realtime.priority: -1 is out of range (0...99)",
    ]),
]
