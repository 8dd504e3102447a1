import Foundation
import Testing
@testable import Config
import YAMLReader
@testable import Profiles
import RegisterMaps

private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let exampleProfilePath = repositoryRoot.appendingPathComponent("Deploy/profiles/example-monitor.yaml").path

/// Rendered errors of a profile file checked on its own, or [] when it loads.
private func profileErrors(_ text: String) -> [String] {
    do {
        _ = try ProfileLoader.parseProfile(text: text, file: "monitor.yaml")
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

/// A small valid profile; most broken cases change one line of it.
private let minimalProfile = """
    name: ward-monitor
    points:
      - name: spo2
        function: input-registers
        address: 0
        unit: "%"
      - name: status
        function: input-registers
        address: 1
        unit: "1"
        bits:
          - {name: probe_off, bit: 0, meaning: sensor-off, points: [spo2]}

    """

private func profile(replacing line: String, with replacement: String) -> String {
    precondition(minimalProfile.contains(line + "\n"), line)
    return minimalProfile.replacingOccurrences(of: line + "\n", with: replacement.isEmpty ? "" : replacement + "\n")
}

/// A profile whose points are given in flow style, one per line from line 3.
private func profile(points: [String], header: String = "") -> String {
    "name: ward-monitor\n\(header)points:\n" + points.map { "  - \($0)\n" }.joined()
}

/// A scratch directory with files in it, removed at the end of the test (board tests use it too).
final class Scratch {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("profile-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

private func gatewayConfig(profiles: [String], devices: [String] = ["{id: m1, profile: patient-monitor, tcp: {host: h}}"]) -> String {
    var text = "site: s\nbox: b\nmqtt: {host: h}\ndevice_profiles:\n"
    for path in profiles { text += "  - \(path)\n" }
    text += "beds:\n  - id: chair-1\n    devices:\n"
    for device in devices { text += "      - \(device)\n" }
    return text
}

private func loadErrors(_ path: String) -> [String] {
    do {
        _ = try ConfigLoader.load(path: path)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

@Suite struct ProfileFileTests {
    @Test func exampleProfileLoadsOnItsOwnAndFromAConfig() throws {
        let example = try ProfileLoader.loadProfile(path: exampleProfilePath)
        #expect(example.name == "example-monitor")
        #expect(example.largestGap == 4)
        #expect(example.points.map(\.name) == ["spo2", "pulse_rate", "heart_rate", "etco2", "respiratory_rate",
                                               "nibp_time", "probe_status", "alarm_silenced"])
        let spo2 = try #require(example.point(named: "spo2"))
        #expect(spo2.type == .float32)
        #expect(spo2.wordOrder == .cdab)
        #expect(spo2.mdcCode == 150456)
        #expect(spo2.validRange == 0...100)
        let etco2 = try #require(example.point(named: "etco2"))
        #expect(etco2.scale == 0.1)
        #expect(etco2.decimals == 1)
        #expect(etco2.type == .int16)
        #expect(example.point(named: "nibp_time")?.pollIntervalMilliseconds == 5000)
        #expect(example.point(named: "heart_rate")?.type == .uint16, "type defaults to uint16")
        #expect(example.point(named: "nibp_time")?.mdcName == "", "mdc defaults to none")
        let status = try #require(example.point(named: "probe_status"))
        #expect(status.bitFields.map(\.name) == ["spo2_probe_off", "ecg_leads_off", "co2_line_off", "alarm_active",
                                                 "technical_fault", "on_battery"])
        #expect(status.bitFields[0].meaning == .sensorOff(points: ["spo2", "pulse_rate"]))
        #expect(status.bitFields[3].meaning == .deviceAlarm)
        #expect(status.bitFields[4].meaning == .technicalFault)
        #expect(status.bitFields[5] == BitField(name: "on_battery", bit: 15, meaning: .status))
        // As its comment says: two requests, the reserved registers bridged.
        #expect(planReads(example) == [
            ReadBlock(function: .discreteInputs, start: 0, count: 1),
            ReadBlock(function: .holdingRegisters, start: 0, count: 13),
        ])

        let scratch = try Scratch()
        let config = try scratch.write("gateway.yaml", gatewayConfig(
            profiles: [exampleProfilePath],
            devices: ["{id: m1, profile: example-monitor, tcp: {host: h}}", "{id: p1, profile: infusion-pump, tcp: {host: h}}"]))
        let loaded = try ConfigLoader.load(path: config)
        #expect(loaded.profiles == [example])
        #expect(loaded.profile(named: "example-monitor") == example)
        #expect(loaded.profile(named: "infusion-pump") == BuiltinProfiles.infusionPump)
        #expect(loaded.beds[0].devices[0].profile == "example-monitor")
    }

    @Test func relativePathsResolveFromTheConfigDirectory() throws {
        let scratch = try Scratch()
        try scratch.write("profiles/a.yaml", minimalProfile)
        try scratch.write("etc/more/b.yaml", minimalProfile.replacingOccurrences(of: "ward-monitor", with: "chair-pump"))
        let config = try scratch.write("etc/gateway.yaml", gatewayConfig(
            profiles: ["../profiles/a.yaml", "more/b.yaml"],
            devices: ["{id: m1, profile: chair-pump, tcp: {host: h}}", "{id: m2, profile: ward-monitor, tcp: {host: h}}"]))
        let loaded = try ConfigLoader.load(path: config)
        #expect(loaded.profiles.map(\.name) == ["ward-monitor", "chair-pump"])
        #expect(ConfigDecoder.resolve("p.yaml", relativeTo: "config.yaml") == "p.yaml")
        #expect(ConfigDecoder.resolve("p.yaml", relativeTo: "/etc/bg/config.yaml") == "/etc/bg/p.yaml")
        #expect(ConfigDecoder.resolve("/opt/p.yaml", relativeTo: "/etc/bg/config.yaml") == "/opt/p.yaml")
        #expect(ConfigDecoder.resolve("../p.yaml", relativeTo: "conf/c.yaml") == "conf/../p.yaml")
    }

    @Test func problemsAcrossFilesAreReportedPerFile() throws {
        let scratch = try Scratch()
        try scratch.write("one.yaml", minimalProfile)
        try scratch.write("two.yaml", minimalProfile)  // same name as one.yaml
        try scratch.write("builtin.yaml", profile(replacing: "name: ward-monitor", with: "name: infusion-pump"))
        try scratch.write("broken.yaml", profile(replacing: "    address: 1", with: "    address: x")
            .replacingOccurrences(of: "ward-monitor", with: "broken-monitor"))
        try scratch.write("empty.yaml", "")
        let config = try scratch.write("gateway.yaml", gatewayConfig(
            profiles: ["one.yaml", "two.yaml", "builtin.yaml", "broken.yaml", "missing.yaml", "one.yaml", "empty.yaml"],
            devices: [
                "{id: m1, profile: broken-monitor, tcp: {host: h}}",  // its file's errors say enough
                "{id: m2, profile: monitorx, tcp: {host: h}}",
                "{id: m3, profile: ward-monitor, tcp: {host: h}}",
            ]))
        let dir = scratch.directory.path
        #expect(loadErrors(config) == [
            "\(config):9:5: device_profiles[4]: cannot read device profile file: open \(dir)/missing.yaml failed: No such file or directory (errno 2)",
            "\(config):10:5: device_profiles[5]: \"one.yaml\" is already listed (device_profiles[0] at line 5)",
            "\(config):16:27: beds[0].devices[1].profile: unknown device profile \"monitorx\" (built-in profiles: patient-monitor, infusion-pump; from device_profiles files: ward-monitor)",
            "\(dir)/two.yaml:1:7: name: duplicate profile name \"ward-monitor\" (\(dir)/one.yaml at line 1 already uses it); profile names must be unique",
            "\(dir)/builtin.yaml:1:7: name: \"infusion-pump\" is the name of a built-in profile; choose another name",
            "\(dir)/broken.yaml:9:14: points[1].address: expected an integer, found \"x\"",
            "\(dir)/empty.yaml:1:1: the file is empty (expected a device profile: name, points)",
        ])
    }

    @Test func syntaxErrorsInAProfileFileNameThatFile() throws {
        let scratch = try Scratch()
        try scratch.write("bad.yaml", "name: x\npoints: [\n")
        try scratch.write("big.yaml", "# " + String(repeating: "x", count: 1 << 20) + "\n")
        let config = try scratch.write("gateway.yaml", gatewayConfig(profiles: ["bad.yaml", "big.yaml"]))
        let dir = scratch.directory.path
        #expect(loadErrors(config) == [
            "\(config):6:5: device_profiles[1]: cannot read device profile file \(dir)/big.yaml: it is larger than the 1 MiB limit; a profile is a few KiB, so check that this is the right file",
            "\(dir)/bad.yaml:3:1: YAML syntax error: did not find expected node content (while parsing a flow node at line 3, column 1)",
        ])
    }

    @Test func anEmptyProfileListIsFine() throws {
        let text = "site: s\nbox: b\nmqtt: {host: h}\ndevice_profiles:\nbeds:\n  - id: c\n    devices: [{id: m, profile: patient-monitor, tcp: {host: h}}]\n"
        #expect(try ConfigLoader.parse(text: text, file: "c.yaml").profiles.isEmpty)
        let flow = text.replacingOccurrences(of: "device_profiles:\n", with: "device_profiles: []\n")
        #expect(try ConfigLoader.parse(text: flow, file: "c.yaml").profiles.isEmpty)
    }

    @Test func defaultsAndTypesOfEveryKey() throws {
        let text = profile(points: [
            "{name: a, function: holding-registers, address: 65532, type: uint64, word_order: dcba, scale: -2.5e-1, offset: +40, decimals: 6, unit: Cel, mdc: MDC_TEMP, mdc_code: 4294967295, range: [-1, 1.5], poll_interval_ms: 86400000}",
            "{name: b, function: coils, address: 65535, type: bool, unit: '1'}",
            "{name: c, function: discrete-inputs, address: 0, type: bool, unit: '1', bits: [{name: c0, bit: 0, meaning: status}]}",
            "{name: d, function: input-registers, address: 0, type: int16, unit: '1', scale: 0.5, offset: -3}",
            "{name: e, function: input-registers, address: 1, type: float32, unit: '1'}",
        ], header: "summary: a test\nlargest_gap: 1998\n")
        let loaded = try ProfileLoader.parseProfile(text: text, file: "p.yaml")
        #expect(loaded.summary == "a test")
        #expect(loaded.largestGap == 1998)
        let a = loaded.points[0]
        #expect(a == Point(name: "a", function: .holdingRegisters, address: 65532, type: .uint64, wordOrder: .dcba,
                           scale: -0.25, offset: 40, decimals: 6, unit: "Cel", mdcName: "MDC_TEMP", mdcCode: 4_294_967_295,
                           validRange: -1...1.5, pollIntervalMilliseconds: 86_400_000))
        #expect(loaded.points[1].address == 65535)
        #expect(loaded.points[2].bitFields == [BitField(name: "c0", bit: 0, meaning: .status)])
        // Without a range: everything the type can carry after scale and offset.
        #expect(loaded.points[3].validRange == -16_387...16_380.5)
        #expect(loaded.points[3].wordOrder == .abcd)
        #expect(loaded.points[3].pollIntervalMilliseconds == nil)
        #expect(loaded.points[4].validRange.upperBound == Double(Float.greatestFiniteMagnitude))
        #expect(!loaded.points[4].isInRange(.infinity))
        // Summary and largest_gap are optional.
        let minimal = try ProfileLoader.parseProfile(text: minimalProfile, file: "p.yaml")
        #expect(minimal.summary == "")
        #expect(minimal.largestGap == 0)
        #expect(minimal.points[0].type == .uint16)
        #expect(minimal.points[0].scale == 1)
        #expect(minimal.points[0].mdcCode == nil)
        #expect(minimal.points[0].validRange == 0...65_535)
    }

    @Test func numbersAreCheckedBeforeDoubleParsesThem() {
        for text in ["0", "1", "-1", "+1", "0.1", ".5", "5.", "1e3", "2.5E-3", "-0.0", "007"] {
            #expect(ConfigDecoder.isDecimalNumber(text), "\(text)")
        }
        for text in ["", "-", ".", "e3", "1e", "1e+", "0x10", "nan", "inf", ".inf", "1_000", "1,5", " 1", "1 ", "1.2.3", "--1", "1e3.5"] {
            #expect(!ConfigDecoder.isDecimalNumber(text), "\(text)")
        }
    }

    @Test(arguments: brokenProfiles)
    func brokenProfileIsReportedExactly(_ broken: BrokenFile) {
        #expect(profileErrors(broken.text) == broken.expected)
    }

    /// No input may crash the agent: truncations and byte mutations of the example profile.
    @Test func truncatedAndMutatedProfilesNeverCrash() throws {
        let original = Array(try String(contentsOfFile: exampleProfilePath, encoding: .utf8).utf8)
        for length in stride(from: 0, through: original.count, by: 7) {
            _ = try? ProfileLoader.parseProfile(bytes: Array(original[0..<length]), file: "t.yaml")
        }
        let interesting = Array("{}[]:,-#&*!|>'\"\n\t %@`?~\\.e0".utf8) + [0x00, 0xFF]
        var state: UInt64 = 0x5EED_0000_0000_0003
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        for _ in 0..<400 {
            var bytes = original
            for _ in 0..<(1 + next(4)) {
                let position = next(bytes.count)
                switch next(3) {
                case 0: bytes[position] = interesting[next(interesting.count)]
                case 1: bytes.insert(interesting[next(interesting.count)], at: position)
                default: bytes.remove(at: position)
                }
            }
            _ = try? ProfileLoader.parseProfile(bytes: bytes, file: "m.yaml")
        }
    }
}

private let functions = "coils, discrete-inputs, holding-registers, input-registers"
private let types = "bool, int16, uint16, int32, uint32, float32, int64, uint64, float64"
private let pointKeys = "name, function, address, type, word_order, scale, offset, decimals, unit, mdc, mdc_code, range, poll_interval_ms, bits"

let brokenProfiles: [BrokenFile] = [
    BrokenFile(name: "empty", text: "", expected: ["monitor.yaml:1:1: the file is empty (expected a device profile: name, points)"]),
    BrokenFile(name: "a list", text: "- name: x\n", expected: [
        "monitor.yaml:1:1: expected a device profile: a mapping with name, summary, largest_gap and points, found a list",
    ]),
    BrokenFile(name: "unknown keys", text: profile(replacing: "name: ward-monitor", with: "name: ward-monitor\nvendor: acme")
        .replacingOccurrences(of: "    unit: \"%\"\n", with: "    unit: \"%\"\n    units: \"%\"\n")
        .replacingOccurrences(of: "meaning: sensor-off,", with: "meaning: sensor-off, level: high,"), expected: [
        "monitor.yaml:2:1: vendor: unknown key (expected one of: name, summary, largest_gap, points)",
        "monitor.yaml:8:5: points[0].units: unknown key (expected one of: \(pointKeys))",
        "monitor.yaml:14:56: points[1].bits[0].level: unknown key (expected one of: name, bit, meaning, points)",
    ]),
    BrokenFile(name: "missing keys", text: "summary: x\npoints:\n  - {name: a}\n", expected: [
        "monitor.yaml:1:1: missing required top-level key 'name'",
        "monitor.yaml:3:5: points[0]: missing required key 'function'",
        "monitor.yaml:3:5: points[0]: missing required key 'address'",
        "monitor.yaml:3:5: points[0]: missing required key 'unit'",
    ]),
    BrokenFile(name: "no points", text: "name: x\npoints: []\n", expected: [
        "monitor.yaml:2:9: points: the list is empty; add at least one point",
    ]),
    BrokenFile(name: "wrong types", text: profile(points: [
        "{name: a, function: input-registers, address: \"1\", unit: '1', scale: fast, decimals: 1.5, range: 5, bits: {name: x}}",
        "{name: b, function: input-registers, address: 2, unit: [m], offset: \"3\", poll_interval_ms: soon, mdc_code: MDC_X}",
    ], header: "summary: [a]\nlargest_gap: two\n"), expected: [
        "monitor.yaml:2:10: summary: expected a string, found a list",
        "monitor.yaml:3:14: largest_gap: expected an integer, found \"two\"",
        "monitor.yaml:5:51: points[0].address: expected an integer, found a quoted string \"1\" (write numbers without quotes)",
        "monitor.yaml:5:74: points[0].scale: expected a number, found \"fast\"",
        "monitor.yaml:5:90: points[0].decimals: expected an integer, found \"1.5\"",
        "monitor.yaml:5:102: points[0].range: expected [low, high], found \"5\"",
        "monitor.yaml:5:111: points[0].bits: expected a list of bit fields, found a mapping",
        "monitor.yaml:6:60: points[1].unit: expected a UCUM unit, like \"mL/h\" or \"mm[Hg]\", found a list",
        "monitor.yaml:6:73: points[1].offset: expected a number, found a quoted string \"3\" (write numbers without quotes)",
        "monitor.yaml:6:96: points[1].poll_interval_ms: expected an integer, found \"soon\"",
        "monitor.yaml:6:112: points[1].mdc_code: expected an integer, found \"MDC_X\"",
    ]),
    BrokenFile(name: "unknown function, type, word order", text: profile(points: [
        "{name: a, function: registers, address: 0, unit: '1', type: uint8, word_order: ABCD}",
    ]), expected: [
        "monitor.yaml:3:25: points[0].function: unknown function \"registers\" (expected one of: \(functions))",
        "monitor.yaml:3:65: points[0].type: unknown type \"uint8\" (expected one of: \(types))",
        "monitor.yaml:3:84: points[0].word_order: unknown word order \"ABCD\" (expected one of: abcd, cdab, badc, dcba)",
    ]),
    BrokenFile(name: "values out of range", text: profile(points: [
        "{name: a, function: input-registers, address: 65536, unit: '1', decimals: 7, mdc_code: 0, poll_interval_ms: 9}",
        "{name: b, function: input-registers, address: -1, unit: '1', scale: 0, offset: 1e999}",
    ], header: "largest_gap: 1999\n"), expected: [
        "monitor.yaml:2:14: largest_gap: 1999 is out of range (0...1998)",
        "monitor.yaml:4:51: points[0].address: 65536 is out of range (0...65535)",
        "monitor.yaml:4:79: points[0].decimals: 7 is out of range (0...6)",
        "monitor.yaml:4:92: points[0].mdc_code: 0 is out of range (1...4294967295)",
        "monitor.yaml:4:113: points[0].poll_interval_ms: 9 is out of range (10...86400000)",
        "monitor.yaml:5:51: points[1].address: -1 is out of range (0...65535)",
        "monitor.yaml:5:73: points[1].scale: a scale of 0 turns every reading into the offset; use a nonzero scale",
        "monitor.yaml:5:84: points[1].offset: 1e999 is too large for a number",
    ]),
    BrokenFile(name: "bad names, unit and mdc", text: profile(points: [
        "{name: spo 2, function: input-registers, address: 0, unit: '', mdc: pulse}",
        "{name: b, function: input-registers, address: 1, unit: m l, mdc: MDC_lower}",
    ]).replacingOccurrences(of: "name: ward-monitor", with: "name: ward/monitor"), expected: [
        "monitor.yaml:1:7: name: invalid profile name \"ward/monitor\" (contains '/'): use 1 to 64 ASCII letters, digits, '-', '_' or '.'",
        "monitor.yaml:3:12: points[0].name: invalid point name \"spo 2\" (contains a space): use 1 to 64 ASCII letters, digits, '-', '_' or '.'",
        "monitor.yaml:3:64: points[0].unit: invalid unit \"\" (it is empty): use a UCUM code such as \"mL/h\", \"mm[Hg]\" or \"1\" (dimensionless)",
        "monitor.yaml:3:73: points[0].mdc: invalid MDC reference id \"pulse\": expected MDC_ followed by capital letters, digits and '_', like MDC_PULS_OXIM_SAT_O2 (leave 'mdc' out when no term applies)",
        "monitor.yaml:4:60: points[1].unit: invalid unit \"m l\" (contains a space): use a UCUM code such as \"mL/h\", \"mm[Hg]\" or \"1\" (dimensionless)",
        "monitor.yaml:4:70: points[1].mdc: invalid MDC reference id \"MDC_lower\": expected MDC_ followed by capital letters, digits and '_', like MDC_PULS_OXIM_SAT_O2 (leave 'mdc' out when no term applies)",
    ]),
    BrokenFile(name: "built-in name", text: profile(replacing: "name: ward-monitor", with: "name: patient-monitor"), expected: [
        "monitor.yaml:1:7: name: \"patient-monitor\" is the name of a built-in profile; choose another name",
    ]),
    BrokenFile(name: "duplicate point and bit names", text: profile(points: [
        "{name: spo2, function: input-registers, address: 0, unit: '%'}",
        "{name: spo2, function: input-registers, address: 1, unit: '%'}",
        "{name: st, function: input-registers, address: 2, unit: '1', bits: [{name: st, bit: 0, meaning: status}, {name: spo2, bit: 1, meaning: status}]}",
    ]), expected: [
        "monitor.yaml:4:12: points[1].name: duplicate name \"spo2\" (points[0] at line 3 already uses it); point and bit names must be unique within the profile",
        "monitor.yaml:5:80: points[2].bits[0].name: duplicate name \"st\" (points[2] at line 5 already uses it); point and bit names must be unique within the profile",
        "monitor.yaml:5:117: points[2].bits[1].name: duplicate name \"spo2\" (points[0] at line 3 already uses it); point and bit names must be unique within the profile",
    ]),
    BrokenFile(name: "overlapping registers in one table", text: profile(points: [
        "{name: a, function: input-registers, address: 0, type: uint32, unit: '1'}",
        "{name: b, function: input-registers, address: 1, unit: '1'}",
        "{name: c, function: holding-registers, address: 1, unit: '1'}",
        "{name: d, function: input-registers, address: 4, type: float64, unit: '1'}",
        "{name: e, function: input-registers, address: 2, type: uint64, unit: '1'}",
        "{name: f, function: coils, address: 7, type: bool, unit: '1'}",
        "{name: g, function: coils, address: 7, type: bool, unit: '1'}",
    ]), expected: [
        "monitor.yaml:4:51: points[1].address: input-registers 1 overlap point \"a\" (points[0] at line 3 occupies 0...1); each register belongs to one point",
        "monitor.yaml:7:51: points[4].address: input-registers 2...5 overlap point \"d\" (points[3] at line 6 occupies 4...7); each register belongs to one point",
        "monitor.yaml:9:41: points[6].address: coils 7 overlap point \"f\" (points[5] at line 8 occupies 7); each register belongs to one point",
    ]),
    BrokenFile(name: "register types in bit tables", text: profile(points: [
        "{name: a, function: coils, address: 0, type: uint32, unit: '1'}",
        "{name: b, function: discrete-inputs, address: 0, unit: '1'}",
        "{name: c, function: discrete-inputs, address: 1, type: int16, unit: '1'}",
    ]), expected: [
        "monitor.yaml:3:50: points[0].type: a uint32 does not fit in coils, which hold single bits: use type bool, or holding-registers or input-registers for a register value",
        "monitor.yaml:4:25: points[1].function: a uint16 does not fit in discrete-inputs, which hold single bits: use type bool, or holding-registers or input-registers for a register value",
        "monitor.yaml:5:60: points[2].type: an int16 does not fit in discrete-inputs, which hold single bits: use type bool, or holding-registers or input-registers for a register value",
    ]),
    BrokenFile(name: "points past the last address", text: profile(points: [
        "{name: a, function: input-registers, address: 65535, type: int32, unit: '1'}",
        "{name: b, function: holding-registers, address: 65533, type: uint64, unit: '1'}",
        "{name: c, function: holding-registers, address: 65532, type: uint64, unit: '1'}",
    ]), expected: [
        "monitor.yaml:3:51: points[0].address: an int32 at address 65535 needs addresses 65535...65536, past the last address 65535",
        "monitor.yaml:4:53: points[1].address: a uint64 at address 65533 needs addresses 65533...65536, past the last address 65535",
    ]),
    BrokenFile(name: "ranges", text: profile(points: [
        "{name: a, function: input-registers, address: 0, unit: '1', range: [100, 0]}",
        "{name: b, function: input-registers, address: 1, unit: '1', range: [1, 2, 3]}",
        "{name: c, function: input-registers, address: 2, unit: '1', range: [low, .inf]}",
        "{name: d, function: input-registers, address: 3, unit: '1', range: []}",
    ]), expected: [
        "monitor.yaml:3:72: points[0].range: the range is empty: the low value (100) is above the high value (0); write [low, high]",
        "monitor.yaml:4:72: points[1].range: expected [low, high], found a list of 3 values",
        "monitor.yaml:5:73: points[2].range[0]: expected a number, found \"low\"",
        "monitor.yaml:5:78: points[2].range[1]: expected a number, found \".inf\"",
        "monitor.yaml:6:72: points[3].range: expected [low, high], found a list of 0 values",
    ]),
    BrokenFile(name: "bits beyond the type and on floats", text: profile(points: [
        "{name: a, function: input-registers, address: 0, unit: '1', bits: [{name: a0, bit: 16, meaning: status}]}",
        "{name: b, function: input-registers, address: 1, type: uint32, unit: '1', bits: [{name: b31, bit: 31, meaning: status}, {name: b32, bit: 32, meaning: status}]}",
        "{name: c, function: input-registers, address: 3, type: int64, unit: '1', bits: [{name: c63, bit: 63, meaning: status}, {name: c64, bit: 64, meaning: status}]}",
        "{name: d, function: coils, address: 0, type: bool, unit: '1', bits: [{name: d1, bit: 1, meaning: status}]}",
        "{name: e, function: input-registers, address: 7, type: float32, unit: '1', bits: [{name: e0, bit: 0, meaning: status}]}",
        "{name: f, function: input-registers, address: 9, unit: '1', bits: []}",
    ]), expected: [
        "monitor.yaml:3:88: points[0].bits[0].bit: bit 16 is beyond a uint16, which has bits 0...15",
        "monitor.yaml:4:142: points[1].bits[1].bit: bit 32 is beyond a uint32, which has bits 0...31",
        "monitor.yaml:5:141: points[2].bits[1].bit: 64 is out of range (0...63)",
        "monitor.yaml:6:90: points[3].bits[0].bit: bit 1 is beyond a bool, which has only bit 0",
        "monitor.yaml:7:80: points[4].bits: bit fields need an integer type, not float32 (a status word is usually uint16)",
        "monitor.yaml:8:71: points[5].bits: the list is empty; remove 'bits' or name at least one bit",
    ]),
    BrokenFile(name: "bit meanings", text: profile(points: [
        "{name: hr, function: input-registers, address: 0, unit: '1'}",
        "{name: st, function: input-registers, address: 1, unit: '1', bits: [{name: a, bit: 0, meaning: sensor-off}, {name: b, bit: 1, meaning: alarm}, {name: c, bit: 2, meaning: status, points: [hr]}, {name: d, bit: 2, meaning: device-alarm}, {name: e, bit: 3, meaning: sensor-off, points: []}]}",
    ]), expected: [
        "monitor.yaml:4:73: points[1].bits[0]: missing required key 'points' (the points that are sensor-off while the bit is set)",
        "monitor.yaml:4:140: points[1].bits[1].meaning: unknown meaning \"alarm\" (expected one of: sensor-off, device-alarm, technical-fault, status)",
        "monitor.yaml:4:183: points[1].bits[2].points: 'points' only applies to meaning sensor-off (this bit's meaning is status)",
        "monitor.yaml:4:213: points[1].bits[3].bit: bit 2 is already named \"c\" in points[1].bits",
        "monitor.yaml:4:287: points[1].bits[4].points: the list is empty; name the points that are sensor-off while the bit is set",
    ]),
    BrokenFile(name: "sensor-off naming missing points", text: profile(points: [
        "{name: spo2, function: input-registers, address: 0, unit: '%'}",
        "{name: pr, function: input-registers, address: 1, unit: x y}",
        "{name: st, function: input-registers, address: 2, unit: '1', bits: [{name: off, bit: 0, meaning: sensor-off, points: [spo2, pr, hr, off]}]}",
    ]), expected: [
        // "pr" exists even though its own settings are wrong: only names never declared are reported.
        "monitor.yaml:4:61: points[1].unit: invalid unit \"x y\" (contains a space): use a UCUM code such as \"mL/h\", \"mm[Hg]\" or \"1\" (dimensionless)",
        "monitor.yaml:5:133: points[2].bits[0].points[2]: no point named \"hr\" in this profile (points: spo2, pr, st)",
        "monitor.yaml:5:137: points[2].bits[0].points[3]: no point named \"off\" in this profile (points: spo2, pr, st)",
    ]),
    BrokenFile(name: "yaml problems", text: profile(replacing: "    address: 0", with: "    address: &a 0\n    address: 1"), expected: [
        "monitor.yaml:5:14: points[0].address: anchors (&a) are not supported; remove the anchor and write each value out in full",
        "monitor.yaml:6:5: points[0].address: duplicate key (already set at line 5, column 5)",
    ]),
]
