// swift-tools-version:6.0
// bedside-gateway: one source tree, two builds. `swift build` / `swift test` build it as
// ordinary host Swift; Deploy/build-firmware.sh compiles the same library modules with
// Embedded Swift for aarch64 and x86_64. Nothing here may depend on a Swift package that
// cannot compile in Embedded mode, so the only dependencies are Debian's C libraries.
//
// The rule of the module graph: runtime modules (Modbus, Acquisition, MQTT, StoreAndForward,
// Alarms, Hardware, Supervision, Health, Commands) never import the configuration parser
// (Config, Profiles, YAMLReader). Each owns the plain settings values it runs with
// (MQTTSettings in MQTT, QueueSettings in StoreAndForward, ...); Config parses the file and
// produces them; Gateway wires them together. So the real-time loop links no YAML parser, a
// runtime module can be tested with a literal settings value, and a new setting is added
// where it is used. Hardware plays plain on/off steps and never imports Alarms.
// Every target declares exactly the modules it imports (Tests/UnitTests/PackageGraphTests.swift
// checks it); Deploy/build-firmware.sh compiles the library modules in dependency order.
import PackageDescription

let agentSwiftSettings: [SwiftSetting] = []

let package = Package(
    name: "bedside-gateway",
    products: [
        .executable(name: "bedside-gateway", targets: ["bedside-gateway"]),
        .executable(name: "bedside-simulator", targets: ["bedside-simulator"]),
    ],
    targets: [
        // C libraries from Debian, each behind one system library target.
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        // What Swift cannot reach directly: libc headers for Embedded Swift, errno,
        // argv, async-signal-safe stop flag, and strtod for Embedded `Double(String)`.
        .target(name: "CShims", linkerSettings: [.linkedLibrary("m"), .linkedLibrary("pthread")]),

        // Agent modules, one concern each. Pure logic first, OS-facing after.
        .target(name: "Platform", dependencies: ["CShims"], swiftSettings: agentSwiftSettings),
        .target(name: "JSON", swiftSettings: agentSwiftSettings),
        .target(name: "Metrics", dependencies: ["CShims"], swiftSettings: agentSwiftSettings),
        .target(name: "RegisterMaps", swiftSettings: agentSwiftSettings),
        .target(name: "Vitals", dependencies: ["JSON", "Platform", "RegisterMaps"], swiftSettings: agentSwiftSettings),
        // Charting rows (a bed's values at each charting interval) and the encoders made from them.
        .target(name: "Charting", dependencies: ["Vitals"], swiftSettings: agentSwiftSettings),
        // FHIR R4 resources (Point-of-Care Device IG) for chart rows and devices: pure, text out.
        .target(name: "FHIR", dependencies: ["Charting", "JSON", "Platform", "Vitals"], swiftSettings: agentSwiftSettings),
        // The session picture: one page of SVG from a plain plot model (pure, text out).
        .target(name: "SessionPicture", dependencies: ["JSON", "Platform"], swiftSettings: agentSwiftSettings),
        // `watch` as a board: the latest state of every chair laid out for a terminal (pure).
        .target(name: "WatchBoard", dependencies: ["JSON", "Vitals"], swiftSettings: agentSwiftSettings),
        // HL7 v2 as IHE PCD profiles it (PCD-01 observations, PCD-04 alarms), MLLP framing and
        // ACKs: pure encoders and parsers, no OS calls.
        .target(name: "HL7", dependencies: ["Alarms", "Charting", "JSON", "Platform", "Vitals"], swiftSettings: agentSwiftSettings),
        // Infusion sessions: the record of each bed's session (rows, events, summary) and alarm
        // statistics, from the samples, chart rows and alarm events it is given: pure.
        .target(name: "Sessions", dependencies: ["Alarms", "Charting", "JSON", "Platform", "RegisterMaps", "SessionPicture", "Vitals"],
                swiftSettings: agentSwiftSettings),
        // Runtime modules: each owns the plain settings values it runs with.
        .target(name: "Modbus", dependencies: ["CModbus", "CShims", "Platform", "RegisterMaps"], swiftSettings: agentSwiftSettings),
        .target(name: "MQTT", dependencies: ["CMosquitto", "CShims", "Platform"], swiftSettings: agentSwiftSettings),
        .target(name: "Acquisition", dependencies: ["Metrics", "Modbus", "Platform", "RegisterMaps", "Vitals"],
                swiftSettings: agentSwiftSettings),
        // Every message on disk until the broker acknowledged it.
        .target(name: "StoreAndForward", dependencies: ["CShims", "Platform"], swiftSettings: agentSwiftSettings),
        // HL7 messages to one MLLP receiver from a disk queue of the link's own, each waiting for its ACK.
        .target(name: "MLLP", dependencies: ["CShims", "HL7", "Platform", "StoreAndForward"], swiftSettings: agentSwiftSettings),
        // Commands from the command topic: parsing, authorisation, replies.
        .target(name: "Commands", dependencies: ["JSON", "Platform"], swiftSettings: agentSwiftSettings),
        // Remote health: HTTP endpoints over libmicrohttpd and the Prometheus text format.
        .target(name: "Health", dependencies: ["CMicroHTTPD", "CShims", "Platform"], swiftSettings: agentSwiftSettings),
        // The clinic view: the page (static text), the documents and trends kept for it, its
        // event streams, its users file and password check (libc's crypt).
        .target(name: "ClinicView", dependencies: ["CShims", "JSON", "Platform", "Vitals"], swiftSettings: agentSwiftSettings,
                linkerSettings: [.linkedLibrary("crypt")]),
        // Alarm rules and IEC 60601-1-8 signal patterns: pure logic, no clock, no line.
        .target(name: "Alarms", dependencies: ["JSON", "Platform"], swiftSettings: agentSwiftSettings),
        // GPIO lines (character device and development stand-ins) and the buzzer player, which
        // plays plain on/off steps: it knows nothing of alarm priorities.
        .target(name: "Hardware", dependencies: ["CShims", "Platform"], swiftSettings: agentSwiftSettings),
        // The hardware watchdog, heartbeats and systemd notification.
        .target(name: "Supervision", dependencies: ["CShims", "Platform"], swiftSettings: agentSwiftSettings),
        .target(name: "Simulator", dependencies: ["JSON", "Modbus", "Platform", "RegisterMaps"], swiftSettings: agentSwiftSettings),

        // Parsing. A positioned YAML reader (tree, field reader, errors at file:line:column),
        // used by two schemas: device and board profile files (what the simulator needs too)
        // and the agent's configuration, which produces the runtime modules' settings.
        .target(name: "YAMLReader", dependencies: ["CShims", "CYAML", "Platform"], swiftSettings: agentSwiftSettings),
        .target(name: "Profiles", dependencies: ["Alarms", "Hardware", "Platform", "RegisterMaps", "Supervision", "YAMLReader"],
                swiftSettings: agentSwiftSettings),
        .target(name: "Config",
                dependencies: ["Acquisition", "Alarms", "CShims", "Charting", "ClinicView", "Commands", "HL7", "Health", "MLLP", "MQTT", "Modbus",
                               "Platform", "Profiles", "RegisterMaps", "Sessions", "StoreAndForward", "YAMLReader"],
                swiftSettings: agentSwiftSettings),

        // Wiring: the only module that knows both the configuration and the runtime modules.
        .target(name: "Gateway",
                dependencies: ["Acquisition", "Alarms", "Charting", "ClinicView", "Commands", "Config", "FHIR", "HL7", "Hardware", "Health", "JSON", "MLLP",
                               "MQTT", "Metrics", "Modbus", "Platform", "Profiles", "RegisterMaps", "SessionPicture", "Sessions", "StoreAndForward", "Supervision",
                               "Vitals"],
                swiftSettings: agentSwiftSettings),
        // The executable only parses the command line and wires modules together.
        .executableTarget(name: "bedside-gateway",
                          dependencies: ["Acquisition", "ClinicView", "Commands", "Config", "Gateway", "MQTT", "Metrics", "Modbus", "Platform",
                                         "Profiles", "RegisterMaps", "Vitals", "WatchBoard", "YAMLReader"],
                          swiftSettings: agentSwiftSettings),
        // The device simulator, a separate program so that the agent carries none of it. It
        // reads device profile files through Profiles, never the agent's configuration.
        .executableTarget(name: "bedside-simulator", dependencies: ["Modbus", "Platform", "Profiles", "Simulator", "YAMLReader"],
                          swiftSettings: agentSwiftSettings),

        // Tests: host Swift with Swift Testing. They may use Foundation; the agent may not.
        .target(name: "TestSupport", dependencies: ["MQTT"], path: "Tests/TestSupport"),
        // Interposes malloc in the test executable to count a thread's allocations.
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        .testTarget(name: "UnitTests",
                    dependencies: ["Acquisition", "Alarms", "CShims", "Charting", "ClinicView", "Commands", "Config", "FHIR", "Gateway", "HL7", "Hardware",
                                   "Health", "JSON",
                                   "MLLP", "MQTT", "Metrics", "Modbus", "Platform", "Profiles", "RegisterMaps", "SessionPicture", "Sessions",
                                   "Simulator", "StoreAndForward", "Supervision", "Vitals", "WatchBoard", "YAMLReader"]),
        .testTarget(name: "IntegrationTests",
                    dependencies: ["Acquisition", "Alarms", "AllocationCounter", "Charting", "Gateway", "Hardware", "Health", "MQTT", "Modbus",
                                   "Platform", "RegisterMaps", "Simulator", "StoreAndForward", "Supervision", "TestSupport", "Vitals"]),
    ],
    swiftLanguageModes: [.v5]
)

// Fuzz targets (Tests/Fuzz, issue 16): one libFuzzer executable per input path, built only by
// Deploy/fuzz.sh, which sets BEDSIDE_FUZZ=1 and builds them all with
// `-sanitize=fuzzer,address` in a build directory of their own. Without the variable the
// package is exactly the one above, so `swift build`, `swift test` and the firmware never see
// them. With it, the package is the library modules and the fuzz targets alone: one
// `swift build` links every fuzz target, and nothing else (the agent, the simulator, the
// tests) has to link against libFuzzer.
if Context.environment["BEDSIDE_FUZZ"] == "1" {
    let notFuzzed: Set<String> = ["bedside-gateway", "bedside-simulator", "TestSupport", "AllocationCounter"]
    package.products = []
    package.targets.removeAll { $0.type == .test || notFuzzed.contains($0.name) }
    package.targets += [
        // Runs libFuzzer's driver, writes a target's built-in seeds, checks properties.
        .target(name: "FuzzSupport", dependencies: ["Platform"], path: "Tests/Fuzz/Support"),
        .executableTarget(name: "fuzz-config", dependencies: ["Acquisition", "Alarms", "Config", "FuzzSupport", "RegisterMaps", "Vitals"],
                          path: "Tests/Fuzz/Config"),
        .executableTarget(name: "fuzz-device-profile", dependencies: ["Alarms", "FuzzSupport", "Profiles", "RegisterMaps", "Vitals"],
                          path: "Tests/Fuzz/DeviceProfile"),
        .executableTarget(name: "fuzz-board-profile", dependencies: ["FuzzSupport", "Profiles"], path: "Tests/Fuzz/BoardProfile"),
        .executableTarget(name: "fuzz-command-payload", dependencies: ["Commands", "FuzzSupport", "JSON", "Platform"],
                          path: "Tests/Fuzz/CommandPayload"),
        .executableTarget(name: "fuzz-command-tokens", dependencies: ["Commands", "FuzzSupport"], path: "Tests/Fuzz/CommandTokens"),
        .executableTarget(name: "fuzz-json", dependencies: ["FuzzSupport", "JSON", "RegisterMaps", "Vitals"], path: "Tests/Fuzz/JSON"),
        .executableTarget(name: "fuzz-bed-description", dependencies: ["FuzzSupport", "RegisterMaps", "Vitals"],
                          path: "Tests/Fuzz/BedDescription"),
        .executableTarget(name: "fuzz-register-words", dependencies: ["FuzzSupport", "RegisterMaps"], path: "Tests/Fuzz/RegisterWords"),
        .executableTarget(name: "fuzz-queue-segment", dependencies: ["FuzzSupport", "StoreAndForward"], path: "Tests/Fuzz/QueueSegment"),
        .executableTarget(name: "fuzz-queue-checkpoint", dependencies: ["FuzzSupport", "StoreAndForward"],
                          path: "Tests/Fuzz/QueueCheckpoint"),
        .executableTarget(name: "fuzz-queue-directory", dependencies: ["FuzzSupport", "Platform", "StoreAndForward"],
                          path: "Tests/Fuzz/QueueDirectory"),
        .executableTarget(name: "fuzz-alarm-log", dependencies: ["Alarms", "FuzzSupport"], path: "Tests/Fuzz/AlarmLog"),
        .executableTarget(name: "fuzz-modbus-tcp", dependencies: ["FuzzSupport", "Modbus", "RegisterMaps"], path: "Tests/Fuzz/ModbusTCP"),
        .executableTarget(name: "fuzz-rtu-request", dependencies: ["FuzzSupport", "Modbus"], path: "Tests/Fuzz/RTURequest"),
        .executableTarget(name: "fuzz-mllp-ack", dependencies: ["FuzzSupport", "HL7"], path: "Tests/Fuzz/MLLPAck"),
        .executableTarget(name: "fuzz-timestamp", dependencies: ["FuzzSupport", "Platform"], path: "Tests/Fuzz/Timestamp"),
        .executableTarget(name: "fuzz-session-state", dependencies: ["Alarms", "Charting", "FuzzSupport", "JSON", "RegisterMaps",
                                                                     "SessionPicture", "Sessions", "Vitals"],
                          path: "Tests/Fuzz/SessionState"),
    ]
}
