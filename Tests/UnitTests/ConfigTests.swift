import Foundation
import Testing
@testable import Config
import YAMLReader
import Modbus
import Profiles
import RegisterMaps

/// Rendered errors for a text, or [] when it loads.
func renderedErrors(_ text: String, file: String = "config.yaml") -> [String] {
    do {
        _ = try ConfigLoader.parse(text: text, file: file)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

private let minimalConfig = """
    site: clinic-a
    box: edge-01
    mqtt:
      host: broker.local
    beds:
      - id: chair-1
        devices:
          - id: monitor-1
            profile: patient-monitor
            tcp:
              host: 10.0.0.5

    """

private let fullConfig = """
    # every key, in both block and flow style
    site: clinic-b
    box: "edge.02"
    mqtt:
      host: 192.168.1.10
      port: 8883
      client_id: 'gw_b-02'
      keepalive_s: 60
      topic_prefix: site-b/gateways/edge.02
    sampling:
      interval_ms: 250
    beds:
      - id: chair-1
        devices:
          - id: monitor-1
            profile: patient-monitor
            tcp: {host: 10.0.0.5, port: 1502}
            unit_id: 0
            response_timeout_ms: 10000
          - {id: monitor-2, profile: patient-monitor, tcp: {host: "monitor-2.local"}, unit_id: 247}
      - id: chair_2
        devices:
          - id: monitor-3
            profile: patient-monitor
            tcp:
              host: 10.0.0.7
              port: 0502
            response_timeout_ms: 10
            byte_timeout_ms: 10000
          - id: pump-3
            profile: infusion-pump
            rtu:
              device: /dev/ttyAMA0
              baud: 115200
              parity: none
              data_bits: 7
              stop_bits: 2
              rs485_rts: true
              rts_delay_us: 250
            unit_id: 247
            byte_timeout_ms: 1
          - {id: pump-4, profile: infusion-pump, unit_id: 1,
             rtu: {device: /dev/ttyAMA0, baud: 115200, parity: none, data_bits: 7, stop_bits: 2, rs485_rts: true, rts_delay_us: 250}}
          - {id: pump-5, profile: infusion-pump, rtu: {device: /dev/ttyUSB0}, unit_id: 1}
    device_profiles: []

    """

@Suite struct ConfigTests {
    @Test func minimalFileGetsEveryDefault() throws {
        let config = try ConfigLoader.parse(text: minimalConfig, file: "config.yaml")
        #expect(config.site == "clinic-a")
        #expect(config.box == "edge-01")
        #expect(config.mqtt.host == "broker.local")
        #expect(config.mqtt.port == 1883)
        #expect(config.mqtt.clientID == "bedside-gateway-clinic-a-edge-01")
        #expect(config.mqtt.keepaliveSeconds == 30)
        #expect(config.mqtt.topicPrefix == "bedside/clinic-a/edge-01")
        #expect(config.sampling.intervalMilliseconds == 1000)
        #expect(config.beds.count == 1)
        #expect(config.beds[0].id == "chair-1")
        #expect(config.beds[0].devices.count == 1)
        let device = config.beds[0].devices[0]
        #expect(device.id == "monitor-1")
        #expect(device.profile == "patient-monitor")
        #expect(device.endpoint == .tcp(host: "10.0.0.5", port: 502))
        #expect(device.unitID == 1)
        #expect(device.responseTimeoutMilliseconds == 500)
        #expect(device.byteTimeoutMilliseconds == 100)
        #expect(config.profiles.isEmpty)
        #expect(config.profile(named: "patient-monitor") == BuiltinProfiles.patientMonitor)
        #expect(config.profile(named: "infusion-pump") == BuiltinProfiles.infusionPump)
        #expect(config.profile(named: "nope") == nil)
    }

    @Test func everyKeyIsRead() throws {
        let config = try ConfigLoader.parse(text: fullConfig, file: "config.yaml")
        #expect(config.site == "clinic-b")
        #expect(config.box == "edge.02")
        #expect(config.mqtt.host == "192.168.1.10")
        #expect(config.mqtt.port == 8883)
        #expect(config.mqtt.clientID == "gw_b-02")
        #expect(config.mqtt.keepaliveSeconds == 60)
        #expect(config.mqtt.topicPrefix == "site-b/gateways/edge.02")
        #expect(config.sampling.intervalMilliseconds == 250)
        #expect(config.beds.map(\.id) == ["chair-1", "chair_2"])
        #expect(config.beds[0].devices.map(\.id) == ["monitor-1", "monitor-2"])
        let first = config.beds[0].devices[0]
        #expect(first.endpoint == .tcp(host: "10.0.0.5", port: 1502))
        #expect(first.unitID == 0)
        #expect(first.responseTimeoutMilliseconds == 10000)
        let second = config.beds[0].devices[1]
        #expect(second.endpoint == .tcp(host: "monitor-2.local", port: 502))
        #expect(second.unitID == 247)
        let third = config.beds[1].devices[0]
        // Leading zeros are decimal, not YAML 1.1 octal: nobody means port 322 by "0502".
        #expect(third.endpoint == .tcp(host: "10.0.0.7", port: 502))
        #expect(third.responseTimeoutMilliseconds == 10)
        #expect(third.byteTimeoutMilliseconds == 10000)
        let pump = config.beds[1].devices[1]
        #expect(pump.profile == "infusion-pump")
        #expect(pump.endpoint == .rtu(SerialLineSettings(device: "/dev/ttyAMA0", baud: 115_200, parity: .none, dataBits: 7,
                                                         stopBits: 2, rs485RTS: true, rtsDelayMicroseconds: 250)))
        #expect(pump.unitID == 247)
        #expect(pump.byteTimeoutMilliseconds == 1)
        // A second device on the same line, with the same settings and its own unit id.
        #expect(config.beds[1].devices[2].endpoint == pump.endpoint)
        #expect(config.beds[1].devices[2].unitID == 1)
        // Serial line defaults are SerialLineSettings' own; unit ids may repeat across lines.
        #expect(config.beds[1].devices[3].endpoint == .rtu(SerialLineSettings(device: "/dev/ttyUSB0")))
        #expect(config.beds[1].devices[3].endpoint == .rtu(SerialLineSettings(device: "/dev/ttyUSB0", baud: 19_200, parity: .even,
                                                                              dataBits: 8, stopBits: 1, rs485RTS: false,
                                                                              rtsDelayMicroseconds: 0)))
        #expect(config.profiles.isEmpty)
    }

    @Test func shippedDefaultConfigExamplesLoadWhenUncommented() throws {
        let deploy = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Deploy")
        let configPath = deploy.appendingPathComponent("config/bedside-gateway.yaml").path
        var text = try String(contentsOfFile: configPath, encoding: .utf8)
        // The device_profiles example, as written.
        let profilesExample = "# device_profiles:\n#   - ../profiles/example-monitor.yaml\n"
        #expect(text.contains(profilesExample))
        text = text.replacingOccurrences(of: profilesExample, with: "device_profiles:\n  - ../profiles/example-monitor.yaml\n")
        // The rtu example device: drop one level of '# ' from its block (its own comments stay comments).
        var lines: [String] = []
        var inExample = false
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("      # - id: pump-1") { inExample = true }
            lines.append(inExample && line.hasPrefix("      # ") ? "      " + line.dropFirst(8) : line)
        }
        #expect(inExample)
        // Loaded from the same directory, so the relative profile path resolves the same way.
        let copy = deploy.appendingPathComponent("config/.uncommented-\(getpid()).yaml").path
        try lines.joined(separator: "\n").write(toFile: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let config = try ConfigLoader.load(path: copy)
        #expect(config.profiles.map(\.name) == ["example-monitor"])
        #expect(config.beds[0].devices.map(\.id) == ["monitor-1", "pump-1"])
        let pump = config.beds[0].devices[1]
        #expect(pump.profile == "infusion-pump")
        #expect(pump.endpoint == .rtu(SerialLineSettings(device: "/dev/ttyUSB0")))
        #expect(pump.unitID == 2)
        #expect(config.beds[0].devices[0].byteTimeoutMilliseconds == 100)
    }

    @Test func shippedDefaultConfigLoads() throws {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Deploy/config/bedside-gateway.yaml").path
        let config = try ConfigLoader.load(path: path)
        #expect(config.site == "clinic-a")
        #expect(config.box == "edge-01")
        #expect(config.beds.map(\.id) == ["chair-1"])
        #expect(config.beds[0].devices.map(\.id) == ["monitor-1"])
        #expect(config.beds[0].devices[0].profile == "patient-monitor")
        #expect(config.beds[0].devices[0].endpoint == .tcp(host: "127.0.0.1", port: 1502))
    }

    @Test func byteOrderMarkAndWindowsLineEndingsAreAccepted() throws {
        let text = "\u{FEFF}" + minimalConfig.replacingOccurrences(of: "\n", with: "\r\n")
        let config = try ConfigLoader.parse(text: text, file: "config.yaml")
        #expect(config.beds[0].devices[0].endpoint == .tcp(host: "10.0.0.5", port: 502))
        // Positions stay right after the BOM: the error is on line 2, column 6.
        let broken = "\u{FEFF}site: clinic-a\r\nbox: a b\r\n"
        #expect(renderedErrors(broken).contains(
            "config.yaml:2:6: box: invalid id \"a b\" (contains a space): use 1 to 64 ASCII letters, digits, '-', '_' or '.'; ids are opaque labels that go into MQTT topics, so no '/', '+', '#' or spaces, and never a patient's name"))
    }

    @Test func unreadableFileIsOneErrorNamingTheFile() {
        do {
            _ = try ConfigLoader.load(path: "/nonexistent/bedside-gateway.yaml")
            Issue.record("loading a missing file succeeded")
        } catch {
            #expect(error.errors.count == 1)
            #expect(error.errors.first?.line == 0)
            #expect(error.errors.first?.column == 0)
            #expect(error.description ==
                "/nonexistent/bedside-gateway.yaml: cannot read the configuration file: open /nonexistent/bedside-gateway.yaml failed: No such file or directory (errno 2)")
        }
    }

    @Test func oversizedFileIsRejected() throws {
        let text = minimalConfig + "# " + String(repeating: "x", count: 1 << 20) + "\n"
        #expect(renderedErrors(text) == [
            "config.yaml: the file is \(text.utf8.count) bytes, more than the 1 MiB limit; a gateway configuration is a few KiB, so check that this is the right file",
        ])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-tests-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("huge.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("loading an oversized file succeeded")
        } catch {
            #expect(error.description ==
                "\(path): the file is larger than the 1 MiB limit; a gateway configuration is a few KiB, so check that this is the right file")
        }
    }

    @Test func integersAreParsedWithoutTrapping() {
        #expect(ConfigDecoder.parseInteger("0") == .value(0))
        #expect(ConfigDecoder.parseInteger("-17") == .value(-17))
        #expect(ConfigDecoder.parseInteger("9223372036854775807") == .value(Int.max))
        #expect(ConfigDecoder.parseInteger("-9223372036854775808") == .value(Int.min))
        #expect(ConfigDecoder.parseInteger("9223372036854775808") == .outOfRange)
        #expect(ConfigDecoder.parseInteger("-9223372036854775809") == .outOfRange)
        #expect(ConfigDecoder.parseInteger("99999999999999999999999x") == .notAnInteger)
        for text in ["", "-", "+1", "1_000", "0x10", "1.5", "1e3", " 1", "1-"] {
            #expect(ConfigDecoder.parseInteger(text) == .notAnInteger, "\(text)")
        }
    }

    @Test func errorsRenderWithAndWithoutKeyPath() {
        let located = ConfigError(file: "c.yaml", line: 7, column: 9, keyPath: "mqtt.port", message: "70000 is out of range (1...65535)")
        #expect(located.description == "c.yaml:7:9: mqtt.port: 70000 is out of range (1...65535)")
        let fileLevel = ConfigError(file: "c.yaml", line: 1, column: 1, keyPath: "", message: "the file is empty")
        #expect(fileLevel.description == "c.yaml:1:1: the file is empty")
        #expect(ConfigErrors([located, fileLevel]).description ==
            "c.yaml:7:9: mqtt.port: 70000 is out of range (1...65535)\nc.yaml:1:1: the file is empty")
    }

    @Test(arguments: brokenFiles)
    func brokenFileIsReportedExactly(_ broken: BrokenFile) {
        #expect(renderedErrors(broken.text) == broken.expected)
    }

    @Test func invalidUTF8IsReportedWithItsPosition() {
        var bytes = Array("site: clinic-a\nbox: ".utf8)
        bytes += [0xC3, 0x28, 0x0A]
        do {
            _ = try ConfigLoader.parse(bytes: bytes, file: "config.yaml")
            Issue.record("invalid UTF-8 was accepted")
        } catch {
            #expect(error.description ==
                "config.yaml:2:7: the file is not valid UTF-8 text (save it as UTF-8): invalid trailing UTF-8 octet (byte 0x28)")
        }
        do {
            _ = try ConfigLoader.parse(bytes: [0xFF, 0xFE, 0x73, 0x00], file: "utf16.yaml")
            Issue.record("UTF-16 was accepted")
        } catch {
            #expect(error.description ==
                "utf16.yaml:1:1: the file is not valid UTF-8 text (save it as UTF-8): invalid leading UTF-8 octet (byte 0xFF)")
        }
    }

    /// The point of this test is that it finishes: no input may crash the agent.
    @Test func truncatedAndMutatedFilesNeverCrash() {
        let original = Array(fullConfig.utf8)
        var loaded = 0
        for length in 0...original.count {
            if (try? ConfigLoader.parse(bytes: Array(original[0..<length]), file: "t.yaml")) != nil { loaded += 1 }
        }
        // Cutting the text at the end of a line may still leave a valid file; most prefixes are not.
        #expect(loaded < original.count / 2)

        // Insertions of YAML's structural characters reach more of libyaml than random bytes alone.
        let interesting = Array("{}[]:,-#&*!|>'\"\n\t %@`?~\\".utf8) + [0x00, 0xFF, 0xC3, 0x80]
        ConfigTests.parseMutations(of: original, interesting: interesting, seed: 0x5EED_CAFE_F00D_0001)
    }

    /// Parses 600 mutations of `original` (1-4 random byte changes, insertions of `interesting`
    /// bytes, removals each) with `parse` (a configuration's checker unless told); only a crash
    /// or a hang can fail it.
    static func parseMutations(of original: [UInt8], interesting: [UInt8], seed: UInt64,
                               parse: ([UInt8]) -> Void = { _ = try? ConfigLoader.parse(bytes: $0, file: "m.yaml") }) {
        var random = SplitMix64(seed: seed)
        for _ in 0..<600 {
            var bytes = original
            for _ in 0..<(1 + random.next(below: 4)) {
                let position = random.next(below: bytes.count)
                switch random.next(below: 4) {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next(below: 256))
                case 1: bytes[position] = interesting[random.next(below: interesting.count)]
                case 2: bytes.insert(interesting[random.next(below: interesting.count)], at: position)
                default: bytes.remove(at: position)
                }
            }
            parse(bytes)
        }
    }

    @Test func deepNestingIsRejectedWithoutRecursion() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(renderedErrors(deep) == ["config.yaml:1:65: lists and mappings are nested more than 64 levels deep"])
        let exactly64 = "site: " + String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        #expect(!renderedErrors(exactly64).contains { $0.contains("nested") })
    }
}

/// Deterministic pseudo-random numbers, so a failure reproduces.

struct BrokenFile: CustomTestStringConvertible, Sendable {
    var name: String
    var text: String
    var expected: [String]
    var testDescription: String { name }
}

private let idRule = "use 1 to 64 ASCII letters, digits, '-', '_' or '.'; ids are opaque labels that go into MQTT topics, so no '/', '+', '#' or spaces, and never a patient's name"

/// A valid file with `replacement` swapped in for one line: most broken cases differ from a good file by one line.
private func minimal(replacing line: String, with replacement: String) -> String {
    precondition(minimalConfig.contains(line + "\n"))
    return minimalConfig.replacingOccurrences(of: line + "\n", with: replacement.isEmpty ? "" : replacement + "\n")
}

/// The minimal file with its device on a serial line.
private func rtuConfig(_ rtu: String, unitID: String? = nil) -> String {
    var text = "site: clinic-a\nbox: edge-01\nmqtt:\n  host: broker.local\nbeds:\n  - id: chair-1\n    devices:\n"
    text += "      - rtu: \(rtu)\n"
    if let unitID { text += "        unit_id: \(unitID)\n" }
    text += "        id: pump-1\n        profile: infusion-pump\n"
    return text
}

let brokenFiles: [BrokenFile] = [
    BrokenFile(name: "empty file", text: "", expected: ["config.yaml:1:1: the file is empty"]),
    BrokenFile(name: "only comments", text: "# nothing yet\n\n", expected: ["config.yaml:1:1: the file is empty"]),
    BrokenFile(name: "top level is a list", text: "- site: a\n", expected: [
        "config.yaml:1:1: expected a mapping of settings (site, box, mqtt, sampling, device_profiles, beds), found a list",
    ]),
    BrokenFile(name: "unknown top-level key", text: minimal(replacing: "box: edge-01", with: "box: edge-01\nbed: chair-1"), expected: [
        "config.yaml:3:1: bed: unknown key (expected one of: site, box, board, mqtt, sampling, queue, health, commands, alarms, hardware, charting, sessions, device_profiles, beds, view)",
    ]),
    BrokenFile(name: "unknown nested key", text: minimal(replacing: "        profile: patient-monitor", with: "        prot: patient-monitor"), expected: [
        "config.yaml:8:9: beds[0].devices[0]: missing required key 'profile'",
        "config.yaml:9:9: beds[0].devices[0].prot: unknown key (expected one of: id, profile, tcp, rtu, unit_id, response_timeout_ms, byte_timeout_ms)",
    ]),
    BrokenFile(name: "mapping where a list is expected", text: minimal(replacing: "  - id: chair-1", with: "  id: chair-1").replacingOccurrences(of: "\n    devices:", with: "\n  devices:"), expected: [
        "config.yaml:6:3: beds: expected a list of beds, found a mapping",
    ]),
    BrokenFile(name: "list where a mapping is expected", text: minimal(replacing: "  host: broker.local", with: "  - broker.local"), expected: [
        "config.yaml:4:3: mqtt: expected a mapping with the MQTT broker settings, found a list",
    ]),
    BrokenFile(name: "word where an integer is expected", text: minimalConfig + "sampling:\n  interval_ms: fast\n", expected: [
        "config.yaml:13:16: sampling.interval_ms: expected an integer, found \"fast\"",
    ]),
    BrokenFile(name: "quoted integer", text: minimal(replacing: "  host: broker.local", with: "  host: broker.local\n  port: \"1883\""), expected: [
        "config.yaml:5:9: mqtt.port: expected an integer, found a quoted string \"1883\" (write numbers without quotes)",
    ]),
    BrokenFile(name: "port out of range", text: minimal(replacing: "  host: broker.local", with: "  host: broker.local\n  port: 70000"), expected: [
        "config.yaml:5:9: mqtt.port: 70000 is out of range (1...65535)",
    ]),
    BrokenFile(name: "port beyond Int", text: minimal(replacing: "          host: 10.0.0.5", with: "          host: 10.0.0.5\n          port: 123456789012345678901234567890"), expected: [
        "config.yaml:12:17: beds[0].devices[0].tcp.port: 123456789012345678901234567890 is out of range (1...65535)",
    ]),
    BrokenFile(name: "interval 0", text: minimalConfig + "sampling: {interval_ms: 0}\n", expected: [
        "config.yaml:12:25: sampling.interval_ms: 0 is out of range (10...60000)",
    ]),
    BrokenFile(name: "missing top-level key", text: minimal(replacing: "site: clinic-a", with: ""), expected: [
        "config.yaml:1:1: missing required top-level key 'site'",
    ]),
    BrokenFile(name: "missing nested key", text: minimal(replacing: "  host: broker.local", with: "  port: 1883"), expected: [
        "config.yaml:4:3: mqtt: missing required key 'host'",
    ]),
    BrokenFile(name: "missing value", text: minimal(replacing: "  host: broker.local", with: "  host:\n  keepalive_s: ~"), expected: [
        "config.yaml:4:3: mqtt.host: missing value (expected a host name or IP address)",
        "config.yaml:5:3: mqtt.keepalive_s: missing value (expected an integer; remove the line to use the default, 30)",
    ]),
    BrokenFile(name: "empty beds list", text: "site: a\nbox: b\nmqtt: {host: h}\nbeds: []\n", expected: [
        "config.yaml:4:7: beds: the list is empty; add at least one bed",
    ]),
    BrokenFile(name: "empty devices list", text: "site: a\nbox: b\nmqtt: {host: h}\nbeds:\n  - id: chair-1\n    devices: []\n", expected: [
        "config.yaml:6:14: beds[0].devices: the list is empty; add at least one device",
    ]),
    BrokenFile(name: "duplicate bed id", text: """
        site: a
        box: b
        mqtt: {host: h}
        beds:
          - id: chair-1
            devices: [{id: m1, profile: patient-monitor, tcp: {host: x}}]
          - id: chair-1
            devices: [{id: m2, profile: patient-monitor, tcp: {host: x}}]

        """, expected: [
        "config.yaml:7:9: beds[1].id: duplicate bed id \"chair-1\" (beds[0] at line 5 already uses it); bed ids must be unique among the beds",
    ]),
    BrokenFile(name: "duplicate device id across beds", text: """
        site: a
        box: b
        mqtt: {host: h}
        beds:
          - id: chair-1
            devices: [{id: m1, profile: patient-monitor, tcp: {host: x}}]
          - id: chair-2
            devices: [{id: m2, profile: patient-monitor, tcp: {host: x}}, {id: m1, profile: patient-monitor, tcp: {host: y}}]

        """, expected: [
        "config.yaml:8:72: beds[1].devices[1].id: duplicate device id \"m1\" (beds[0].devices[0] at line 6 already uses it); device ids must be unique across all beds",
    ]),
    BrokenFile(name: "invalid id characters", text: minimal(replacing: "  - id: chair-1", with: "  - id: chair/1").replacingOccurrences(of: "site: clinic-a", with: "site: Clinic A"), expected: [
        "config.yaml:1:7: site: invalid id \"Clinic A\" (contains a space): \(idRule)",
        "config.yaml:6:9: beds[0].id: invalid id \"chair/1\" (contains '/'): \(idRule)",
    ]),
    BrokenFile(name: "id too long", text: minimal(replacing: "box: edge-01", with: "box: \(String(repeating: "e", count: 65))"), expected: [
        "config.yaml:2:6: box: invalid id \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee...\" (it is 65 characters long): \(idRule)",
    ]),
    BrokenFile(name: "unknown profile", text: minimal(replacing: "        profile: patient-monitor", with: "        profile: monitorx"), expected: [
        "config.yaml:9:18: beds[0].devices[0].profile: unknown device profile \"monitorx\" (built-in profiles: patient-monitor, infusion-pump)",
    ]),
    BrokenFile(name: "invalid topic prefix and client id", text: minimal(replacing: "  host: broker.local", with: "  host: broker.local\n  topic_prefix: bedside/#\n  client_id: gw 1"), expected: [
        "config.yaml:5:17: mqtt.topic_prefix: invalid topic prefix \"bedside/#\" (it contains the MQTT wildcard '+' or '#'): use levels separated by single '/', like \"bedside/clinic-a/edge-01\"",
        "config.yaml:6:14: mqtt.client_id: invalid client id \"gw 1\" (contains a space): use 1 to 128 characters without spaces",
    ]),
    BrokenFile(name: "duplicate key", text: minimal(replacing: "  host: broker.local", with: "  host: broker.local\n  port: 1883\n  host: other.local"), expected: [
        "config.yaml:6:3: mqtt.host: duplicate key (already set at line 4, column 3)",
    ]),
    BrokenFile(name: "anchor and alias", text: minimal(replacing: "          host: 10.0.0.5", with: "          host: &gw 10.0.0.5\n          port: *gw"), expected: [
        "config.yaml:11:17: beds[0].devices[0].tcp.host: anchors (&gw) are not supported; remove the anchor and write each value out in full",
        "config.yaml:12:17: beds[0].devices[0].tcp.port: aliases (*gw) are not supported; write the value out in full",
    ]),
    BrokenFile(name: "tag", text: minimal(replacing: "box: edge-01", with: "box: !!str edge-01"), expected: [
        "config.yaml:2:6: box: YAML tags (!!str) are not supported; remove the tag",
    ]),
    BrokenFile(name: "unclosed bracket", text: "site: a\nbox: b\nmqtt: {host: h}\nbeds: [\n  {id: c}\n", expected: [
        "config.yaml:6:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 4, column 7)",
    ]),
    BrokenFile(name: "bad indentation", text: "site: a\n  box: b\n", expected: [
        "config.yaml:2:6: YAML syntax error: mapping values are not allowed in this context",
    ]),
    BrokenFile(name: "tab indentation", text: "site: a\nmqtt:\n\thost: h\n", expected: [
        "config.yaml:3:1: YAML syntax error: found character that cannot start any token (while scanning for the next token at line 3, column 1); tabs are not allowed for indentation or before values, use spaces",
    ]),
    BrokenFile(name: "two documents", text: minimalConfig + "---\n" + minimalConfig, expected: [
        "config.yaml:12:1: the file contains more than one YAML document; keep all settings in one document (remove the extra '---')",
    ]),
    BrokenFile(name: "control character", text: minimal(replacing: "box: edge-01", with: "box: edge\u{7}01"), expected: [
        "config.yaml:2:10: the file contains a character that YAML does not allow: control characters are not allowed (U+0007)",
    ]),
    BrokenFile(name: "complex key", text: "site: a\n[x]: 1\n", expected: [
        "config.yaml:1:1: missing required top-level key 'box'",
        "config.yaml:1:1: missing required top-level key 'mqtt'",
        "config.yaml:1:1: missing required top-level key 'beds'",
        "config.yaml:2:1: a key must be a plain name, found a list",
    ]),
    BrokenFile(name: "neither tcp nor rtu", text: minimal(replacing: "        tcp:", with: "        unit_id: 3").replacingOccurrences(of: "          host: 10.0.0.5\n", with: ""), expected: [
        "config.yaml:8:9: beds[0].devices[0]: missing required key 'tcp' or 'rtu' (how the device is reached: Modbus TCP, or Modbus RTU on a serial line)",
    ]),
    BrokenFile(name: "both tcp and rtu", text: minimal(replacing: "        tcp:", with: "        rtu: {device: /dev/ttyUSB0}\n        tcp:"), expected: [
        "config.yaml:11:9: beds[0].devices[0].tcp: a device is reached either over 'tcp' or over 'rtu', not both; remove one",
    ]),
    BrokenFile(name: "rtu settings out of their sets", text: rtuConfig("{device: ttyUSB0, baud: 19201, parity: mark, data_bits: 9, stop_bits: 0, rs485_rts: yes, rts_delay_us: -1, speed: 1}"), expected: [
        "config.yaml:8:23: beds[0].devices[0].rtu.device: invalid serial device \"ttyUSB0\": expected an absolute path, like /dev/ttyUSB0 or /dev/ttyAMA0",
        "config.yaml:8:38: beds[0].devices[0].rtu.baud: 19201 is not a standard baud rate (one of: 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)",
        "config.yaml:8:53: beds[0].devices[0].rtu.parity: unknown parity \"mark\" (expected one of: none, even, odd)",
        "config.yaml:8:70: beds[0].devices[0].rtu.data_bits: 9 is out of range (7...8)",
        "config.yaml:8:84: beds[0].devices[0].rtu.stop_bits: 0 is out of range (1...2)",
        "config.yaml:8:98: beds[0].devices[0].rtu.rs485_rts: expected true or false, found \"yes\"",
        "config.yaml:8:117: beds[0].devices[0].rtu.rts_delay_us: -1 is out of range (0...1000000)",
        "config.yaml:8:121: beds[0].devices[0].rtu.speed: unknown key (expected one of: device, baud, parity, data_bits, stop_bits, rs485_rts, rts_delay_us)",
    ]),
    BrokenFile(name: "rtu without device, quoted baud, missing values", text: rtuConfig("{baud: \"9600\", parity: , rs485_rts: \"true\"}"), expected: [
        "config.yaml:8:14: beds[0].devices[0].rtu: missing required key 'device'",
        "config.yaml:8:21: beds[0].devices[0].rtu.baud: expected an integer, found a quoted string \"9600\" (write numbers without quotes)",
        "config.yaml:8:29: beds[0].devices[0].rtu.parity: missing value (expected a parity (none, even, odd); remove the line to use the default, even)",
        "config.yaml:8:50: beds[0].devices[0].rtu.rs485_rts: expected true or false, found a quoted string \"true\"",
    ]),
    BrokenFile(name: "unit id 0 on a serial line", text: rtuConfig("{device: /dev/ttyUSB0, baud: -9600}", unitID: "0"), expected: [
        "config.yaml:8:43: beds[0].devices[0].rtu.baud: -9600 is not a standard baud rate (one of: 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)",
        "config.yaml:9:18: beds[0].devices[0].unit_id: 0 is the broadcast address, which no device on a serial line answers; use 1...247",
    ]),
    BrokenFile(name: "byte timeout out of range", text: minimal(replacing: "          host: 10.0.0.5", with: "          host: 10.0.0.5\n        byte_timeout_ms: 10001"), expected: [
        "config.yaml:12:26: beds[0].devices[0].byte_timeout_ms: 10001 is out of range (1...10000)",
    ]),
    BrokenFile(name: "devices on one line disagree and share a unit id", text: """
        site: a
        box: b
        mqtt: {host: h}
        beds:
          - id: chair-1
            devices:
              - {id: pump-1, profile: infusion-pump, rtu: {device: /dev/ttyUSB0, baud: 9600}, unit_id: 5}
              - {id: pump-2, profile: infusion-pump, rtu: {device: /dev/ttyUSB0, baud: 19200, parity: odd, rs485_rts: true}}
              - {id: pump-3, profile: infusion-pump, rtu: {device: /dev/ttyUSB0, baud: 9600}, unit_id: 5}
              - {id: pump-4, profile: infusion-pump, rtu: {device: /dev/ttyUSB0, baud: 9600}}
          - id: chair-2
            devices:
              - {id: pump-5, profile: infusion-pump, rtu: {device: /dev/ttyUSB0, baud: 9600}}
              - {id: pump-6, profile: infusion-pump, rtu: {device: /dev/ttyUSB1}}

        """, expected: [
        "config.yaml:8:51: beds[0].devices[1].rtu: serial line \"/dev/ttyUSB0\" is set up differently by beds[0].devices[0] (line 7): baud 19200 here, 9600 there, parity odd here, even there, rs485_rts true here, false there; all devices on one serial line must use the same settings",
        "config.yaml:9:96: beds[0].devices[2].unit_id: unit id 5 is already used on serial line \"/dev/ttyUSB0\" by beds[0].devices[0] (line 7); devices on one serial line need distinct unit ids",
        "config.yaml:13:51: beds[1].devices[0].rtu: unit id 1 is already used on serial line \"/dev/ttyUSB0\" by beds[0].devices[3] (line 10); devices on one serial line need distinct unit ids",
    ]),
    BrokenFile(name: "a serial line is checked even when a device on it has other errors", text: """
        site: a
        box: b
        mqtt: {host: h}
        beds:
          - id: chair-1
            devices:
              - {id: pump 1, profile: infusion-pump, rtu: {device: /dev/ttyUSB0}, unit_id: 5}
              - {id: pump-2, profile: infusion-pump, rtu: {device: /dev/ttyUSB0}, unit_id: 5}

        """, expected: [
        "config.yaml:7:14: beds[0].devices[0].id: invalid id \"pump 1\" (contains a space): \(idRule)",
        "config.yaml:8:84: beds[0].devices[1].unit_id: unit id 5 is already used on serial line \"/dev/ttyUSB0\" by beds[0].devices[0] (line 7); devices on one serial line need distinct unit ids",
    ]),
    BrokenFile(name: "device_profiles is not a list of paths", text: minimalConfig + "device_profiles: profiles/a.yaml\n", expected: [
        "config.yaml:12:18: device_profiles: expected a list of device profile file paths, found \"profiles/a.yaml\"",
    ]),
    BrokenFile(name: "device_profiles entries that are not paths", text: minimalConfig + "device_profiles: [\"\", {a: 1}, ~]\n", expected: [
        "config.yaml:12:19: device_profiles[0]: the path is empty (expected the path of a device profile file)",
        "config.yaml:12:23: device_profiles[1]: expected the path of a device profile file, found a mapping",
        "config.yaml:12:31: device_profiles[2]: missing value (expected the path of a device profile file)",
    ]),
    BrokenFile(name: "several errors, all reported in file order", text: """
        site: clinic a
        mqtt:
          host: broker.local
          port: 70000
          keepalive_s: "30"
        sampling:
          interval_ms: 0
        beds:
          - id: chair-1
            devices:
              - id: monitor-1
                profile: monitorx
                tcp:
                  port: 502
                prot: 3
          - id: chair-1
            devices: []

        """, expected: [
        "config.yaml:1:1: missing required top-level key 'box'",
        "config.yaml:1:7: site: invalid id \"clinic a\" (contains a space): \(idRule)",
        "config.yaml:4:9: mqtt.port: 70000 is out of range (1...65535)",
        "config.yaml:5:16: mqtt.keepalive_s: expected an integer, found a quoted string \"30\" (write numbers without quotes)",
        "config.yaml:7:16: sampling.interval_ms: 0 is out of range (10...60000)",
        "config.yaml:12:18: beds[0].devices[0].profile: unknown device profile \"monitorx\" (built-in profiles: patient-monitor, infusion-pump)",
        "config.yaml:14:11: beds[0].devices[0].tcp: missing required key 'host'",
        "config.yaml:15:9: beds[0].devices[0].prot: unknown key (expected one of: id, profile, tcp, rtu, unit_id, response_timeout_ms, byte_timeout_ms)",
        "config.yaml:16:9: beds[1].id: duplicate bed id \"chair-1\" (beds[0] at line 9 already uses it); bed ids must be unique among the beds",
        "config.yaml:17:14: beds[1].devices: the list is empty; add at least one device",
    ]),
]

struct ConfigErrorLimitTests {
    @Test func aWrongFileReportsTheFirstHundredErrorsAndCountsTheRest() {
        var text = "site: s\nbox: b\nmqtt: {host: h}\nbeds:\n  - id: c\n    devices:\n      - {id: m, profile: patient-monitor, tcp: {host: h}}\n"
        for index in 0..<150 { text += "unknown_\(index): 1\n" }
        do {
            _ = try ConfigLoader.parse(text: text, file: "big.yaml")
            Issue.record("150 unknown keys must be refused")
        } catch {
            #expect(error.errors.count == 101)
            #expect(error.errors[0].description.hasPrefix("big.yaml:8:1: unknown_0: unknown key"))
            #expect(error.errors.last?.description == "big.yaml: 50 more error(s) not shown; fix the ones above first")
        }
    }
}

struct SamplingSettingsTests {
    @Test func realTimeSchedulingDefaultsOnAndCanBeTurnedOffOrPinned() throws {
        let defaults = try ConfigLoader.parse(text: minimalConfig, file: "config.yaml")
        #expect(defaults.sampling.realtimePriority == 80)
        #expect(defaults.sampling.cpu == nil)
        let pinned = try ConfigLoader.parse(text: minimalConfig + "sampling: {priority: 0, cpu: 1}\n", file: "config.yaml")
        #expect(pinned.sampling.realtimePriority == 0)
        #expect(pinned.sampling.cpu == 1)
    }

    @Test func priorityAboveNinetyNineIsRefused() {
        #expect(throws: ConfigErrors.self) {
            try ConfigLoader.parse(text: minimalConfig + "sampling: {priority: 100, cpu: -1}\n", file: "config.yaml")
        }
        do {
            _ = try ConfigLoader.parse(text: minimalConfig + "sampling: {priority: 100, cpu: -1}\n", file: "config.yaml")
        } catch {
            #expect(error.errors.map(\.description) == [
                "config.yaml:12:22: sampling.priority: 100 is out of range (0...99)",
                "config.yaml:12:32: sampling.cpu: -1 is out of range (0...1023)",
            ])
        }
    }
}
