// swift-tools-version:6.0
// bedside-gateway: one source tree, two builds. `swift build` / `swift test` build it as
// ordinary host Swift; Deploy/build-firmware.sh compiles the same library modules with
// Embedded Swift for aarch64 and x86_64. Nothing here may depend on a Swift package that
// cannot compile in Embedded mode, so the only dependencies are Debian's C libraries.
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
        .target(name: "Metrics", swiftSettings: agentSwiftSettings),
        .target(name: "RegisterMaps", swiftSettings: agentSwiftSettings),
        .target(name: "Vitals", dependencies: ["Platform", "RegisterMaps", "JSON"], swiftSettings: agentSwiftSettings),
        .target(name: "Modbus", dependencies: ["CModbus", "Platform", "RegisterMaps"], swiftSettings: agentSwiftSettings),
        .target(name: "MQTT", dependencies: ["CMosquitto", "Platform"], swiftSettings: agentSwiftSettings),
        .target(name: "Config", dependencies: ["CYAML", "Platform", "RegisterMaps", "MQTT", "Alarms"], swiftSettings: agentSwiftSettings),
        .target(name: "Acquisition",
                dependencies: ["Platform", "Metrics", "RegisterMaps", "Vitals", "Modbus", "Config"],
                swiftSettings: agentSwiftSettings),
        .target(name: "Simulator", dependencies: ["Platform", "RegisterMaps", "Modbus", "Vitals", "JSON"], swiftSettings: agentSwiftSettings),
        // Every message on disk until the broker acknowledged it.
        .target(name: "StoreAndForward", dependencies: ["Platform"], swiftSettings: agentSwiftSettings),
        // Commands from the command topic: parsing, authorisation, replies.
        .target(name: "Commands", dependencies: ["Platform", "JSON"], swiftSettings: agentSwiftSettings),
        // Remote health: HTTP endpoints over libmicrohttpd and the Prometheus text format.
        .target(name: "Health", dependencies: ["CMicroHTTPD", "Platform"], swiftSettings: agentSwiftSettings),
        // Issue 5: alarm rules and IEC 60601-1-8 signal patterns (pure), the GPIO character
        // device and its recording stand-in, and the watchdog and systemd notification.
        .target(name: "Alarms", dependencies: ["Platform", "JSON"], swiftSettings: agentSwiftSettings),
        .target(name: "Hardware", dependencies: ["CShims", "Platform", "Alarms"], swiftSettings: agentSwiftSettings),
        .target(name: "Supervision", dependencies: ["CShims", "Platform"], swiftSettings: agentSwiftSettings),
        .target(name: "Gateway",
                dependencies: ["Platform", "Metrics", "RegisterMaps", "Vitals", "Modbus", "MQTT", "Config", "JSON", "Acquisition",
                               "StoreAndForward", "Commands", "Health", "Supervision", "Alarms", "Hardware"],
                swiftSettings: agentSwiftSettings),
        // The executable only parses the command line and wires modules together.
        .executableTarget(name: "bedside-gateway",
                          dependencies: ["Platform", "Config", "Gateway", "Acquisition", "MQTT", "Vitals", "JSON", "Commands", "Metrics", "Modbus"],
                          swiftSettings: agentSwiftSettings),
        // The device simulator, a separate program so that the agent carries none of it.
        .executableTarget(name: "bedside-simulator", dependencies: ["Platform", "Config", "Modbus", "Simulator"],
                          swiftSettings: agentSwiftSettings),

        // Tests: host Swift with Swift Testing. They may use Foundation; the agent may not.
        .target(name: "TestSupport", dependencies: ["MQTT", "Platform"], path: "Tests/TestSupport"),
        // Interposes malloc in the test executable to count a thread's allocations.
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        .testTarget(name: "UnitTests",
                    dependencies: ["JSON", "Metrics", "RegisterMaps", "Vitals", "Config", "Simulator", "Platform",
                                   "Acquisition", "Gateway", "StoreAndForward", "Commands", "Health", "MQTT",
                                   "Alarms", "Hardware", "Supervision"]),
        .testTarget(name: "IntegrationTests",
                    dependencies: ["TestSupport", "AllocationCounter", "Acquisition", "Config", "Modbus", "MQTT", "RegisterMaps", "Simulator", "Platform", "Vitals",
                                   "StoreAndForward", "Commands", "Health", "Alarms", "Hardware", "Supervision"]),
    ],
    swiftLanguageModes: [.v5]
)
