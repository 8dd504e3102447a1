import Foundation
import Testing
import TestSupport
import MQTT
import RegisterMaps
import Vitals

/// Acquisition as a user runs it: Debian's mosquitto, the simulator (host build) serving
/// devices over Modbus RTU on a socat pty pair or over Modbus TCP, and the agent as its own
/// process through `agentCommand()` (so CI reruns these against the aarch64 firmware under
/// qemu with BEDSIDE_AGENT_COMMAND). Everything is asserted on what arrives at the broker,
/// compared with the simulator's `--served-log`. Timeouts are generous: qemu is ~5x slower.
@Suite(.serialized, .tags(.slow))
struct AcquisitionEndToEndTests {
    static let monitorPoints = BuiltinProfiles.patientMonitor.points.map(\.name)
    static let pumpPoints = BuiltinProfiles.infusionPump.points.map(\.name)
    /// The simulator moves its models once per second (`--update-ms` default).
    static let simulatorStepMilliseconds: Int64 = 1000

    // MARK: 1. RTU end to end

    @Test func rtuLineWithTwoMonitorsAndAPumpPublishesWhatWasServed() throws {
        let line = try SerialLinePair()
        defer { line.stop() }
        let rig = try Rig("e2e-rtu")
        defer { rig.stopAll() }
        // Units 1 and 2 are monitors, unit 3 a pump; 19200 8E1 on both sides (the defaults).
        try rig.startSimulator(["--rtu", line.simulatorEnd, "--units", "1-3", "--rtu-devices", "monitor,monitor,pump",
                                "--seed", "5", "--nibp-interval-s", "4"])
        let interval: Int64 = 1000
        // rs485_rts is left unset: a pty has no RS-485 mode, and the agent must not need one.
        let config = try rig.writeConfig(intervalMilliseconds: interval, beds: """
              - id: chair-1
                devices:
                  - id: monitor-1
                    profile: patient-monitor
                    rtu: { device: \(line.agentEnd) }
                    unit_id: 1
                  - id: pump-1
                    profile: infusion-pump
                    rtu: { device: \(line.agentEnd) }
                    unit_id: 3
              - id: chair-2
                devices:
                  - id: monitor-2
                    profile: patient-monitor
                    rtu: { device: \(line.agentEnd) }
                    unit_id: 2
            """)
        let subscriber = try rig.startAgent(config: config)
        let arrived = subscriber.wait(timeout: 120) { messages in
            let perBed = Dictionary(grouping: messages, by: \.topic).mapValues(\.count)
            return rig.agentHasExited || perBed.count == 2 && perBed.values.allSatisfy { $0 >= 8 }
        }
        let status = rig.stopAll()
        let agentLog = rig.agentOutput
        #expect(status == 0, "agent exit status \(status); output:\n\(agentLog)")

        let messages = try arrived.map { try rig.decode($0.payload) }
        try #require(!messages.isEmpty, "no vitals arrived; agent output:\n\(agentLog)\nsimulator:\n\(rig.simulatorOutput)")
        let byBed = Dictionary(grouping: messages, by: \.bed)
        #expect(Set(byBed.keys) == ["chair-1", "chair-2"], "agent output:\n\(agentLog)\nsimulator:\n\(rig.simulatorOutput)")
        let served = try rig.servedLines()
        #expect(served.contains { $0.rtu == line.simulatorEnd && $0.unit == 3 }, "served log has no RTU unit 3 lines")
        let devicesOfBed = ["chair-1": [("monitor-1", 1, Self.monitorPoints), ("pump-1", 3, Self.pumpPoints)],
                            "chair-2": [("monitor-2", 2, Self.monitorPoints)]]

        for (bed, devices) in devicesOfBed {
            let bedMessages = (byBed[bed] ?? []).sorted { $0.sequence < $1.sequence }
            #expect(bedMessages.count >= 8, "\(bed): \(bedMessages.count) messages; agent output:\n\(agentLog)")
            #expect(bedMessages.map(\.sequence) == Self.oneTo(bedMessages.count),
                    "\(bed): sequence numbers \(bedMessages.map(\.sequence))")
            for (device, unit, names) in devices {
                let servedByUnit = served.filter { $0.rtu == line.simulatorEnd && $0.unit == unit }
                var distinct = Set<[Double]>()
                for message in bedMessages {
                    let vitals = message.vitals(of: device)
                    // Every point of every device of the bed, in profile order, with its device id.
                    #expect(vitals.map(\.name) == names, "\(bed) #\(message.sequence) \(device): points \(vitals.map(\.name))")
                    for vital in vitals {
                        #expect(vital.quality == "ok", "\(bed) #\(message.sequence) \(device) \(vital.name): \(vital.quality)")
                    }
                    guard let time = vitals.first?.timeMilliseconds else { continue }
                    let match = Self.matchServed(vitals, at: time, in: servedByUnit, window: max(interval, Self.simulatorStepMilliseconds))
                    #expect(match.matches, """
                        \(bed) #\(message.sequence) \(device) (unit \(unit)) sampled at \(time): received \(Self.show(vitals))
                        but unit \(unit) served \(match.candidates.map { $0.sorted { $0.key < $1.key } })
                        """)
                    distinct.insert(vitals.map { $0.value ?? .nan })
                }
                // The values move (a pump's volumes slowly): constants would not pass this.
                #expect(distinct.count >= 2, "\(bed) \(device): only \(distinct.count) distinct readings")
            }
            #expect(bedMessages.allSatisfy { $0.vitals.count == devices.reduce(0) { $0 + $1.2.count } },
                    "\(bed): a message without every point of every device")
        }

        // The pump's float32 volumes, one big-endian (abcd) and one little-endian (dcba):
        // together they are the programmed 100 mL, within the published tenths.
        var remaining: [Double] = []
        for message in (byBed["chair-1"] ?? []).sorted(by: { $0.sequence < $1.sequence }) {
            let infused = message.vital("volume_infused", of: "pump-1")?.value
            let toBeInfused = message.vital("volume_to_be_infused", of: "pump-1")?.value
            #expect(message.vital("volume_to_be_infused", of: "pump-1")?.unit == "mL")
            guard let infused, let toBeInfused else {
                Issue.record("chair-1 #\(message.sequence): pump volumes missing")
                continue
            }
            #expect(abs(infused + toBeInfused - 100) <= 0.1 + 1e-9,
                    "chair-1 #\(message.sequence): volume_infused \(infused) + volume_to_be_infused \(toBeInfused) != 100 mL")
            #expect((0...100).contains(toBeInfused), "volume_to_be_infused \(toBeInfused)")
            remaining.append(toBeInfused)
            if let rate = message.vital("rate", of: "pump-1")?.value {
                #expect((100...150).contains(rate), "pump rate \(rate) mL/h is outside the simulated programmes")
            }
            #expect(message.vital("state", of: "pump-1")?.value == 1, "pump not running")
        }
        #expect(remaining == remaining.sorted(by: >), "volume_to_be_infused went up: \(remaining)")
        #expect(Set(remaining).count >= 2, "volume_to_be_infused never moved: \(remaining)")

        #expect(!agentLog.contains("RS-485"), "RS-485 warning without rs485_rts:\n\(agentLog)")
        let deviceLost = agentLog.split(separator: "\n").contains { $0.contains("device ") && $0.contains(" lost") }
        #expect(!deviceLost, "a device was lost on the RTU line:\n\(agentLog)")
    }

    // MARK: 2. Unplugged device

    @Test func unpluggedMonitorTurnsCommLossAndRecoversWhileTheOtherKeepsItsCycle() throws {
        let rig = try Rig("e2e-unplug")
        defer { rig.stopAll() }
        let firstPort = freeConsecutiveLoopbackPorts(2)
        let unpluggedAfter: Int64 = 3
        let unpluggedFor: Int64 = 5
        // Device 1 (the first port) is unplugged at simulated second 3 for 5 s; device 2 never.
        try rig.startSimulator(["--port", String(firstPort), "--devices", "monitor:2", "--seed", "11",
                                "--scenario", "unplugged@1", "--unplugged-after-s", String(unpluggedAfter),
                                "--unplugged-s", String(unpluggedFor)])
        #expect(waitForListener(port: firstPort + 1), "simulator did not listen: \(rig.simulatorOutput)")
        let interval: Int64 = 500
        let responseTimeout: Int64 = 300
        let config = try rig.writeConfig(intervalMilliseconds: interval, beds: """
              - id: chair-1
                devices:
                  - id: monitor-1
                    profile: patient-monitor
                    tcp: { host: 127.0.0.1, port: \(firstPort) }
                    response_timeout_ms: \(responseTimeout)
              - id: chair-2
                devices:
                  - id: monitor-2
                    profile: patient-monitor
                    tcp: { host: 127.0.0.1, port: \(firstPort + 1) }
                    response_timeout_ms: \(responseTimeout)
            """)
        let subscriber = try rig.startAgent(config: config)
        // Until monitor-1 has been comm-loss and then answered again for a few cycles.
        let arrived = subscriber.wait(timeout: 150) { messages in
            if rig.agentHasExited { return true }
            let qualities = messages.filter { $0.topic.hasSuffix("/chair-1/vitals") }
                .compactMap { try? rig.decode($0.payload) }.sorted { $0.sequence < $1.sequence }
                .map { $0.vitals.first?.quality ?? "" }
            guard let lost = qualities.firstIndex(of: "comm-loss") else { return false }
            return qualities[lost...].filter { $0 == "ok" }.count >= 4
        }
        let status = rig.stopAll()
        let agentLog = rig.agentOutput
        #expect(status == 0, "agent exit status \(status); output:\n\(agentLog)")

        let messages = try arrived.map { try rig.decode($0.payload) }
        try #require(!messages.isEmpty, "no vitals arrived; agent output:\n\(agentLog)\nsimulator:\n\(rig.simulatorOutput)")
        let first = messages.filter { $0.bed == "chair-1" }.sorted { $0.sequence < $1.sequence }
        let second = messages.filter { $0.bed == "chair-2" }.sorted { $0.sequence < $1.sequence }
        let served = try rig.servedLines()
        let servedFirst = served.filter { $0.port == firstPort }
        let servedSecond = served.filter { $0.port == firstPort + 1 }
        let unplugAt = try #require(servedFirst.first { $0.unplugged }?.timeMilliseconds,
                                    "served log never marks device 1 unplugged:\n\(rig.simulatorOutput)")
        let replugAt = try #require(servedFirst.first { !$0.unplugged && $0.timeMilliseconds > unplugAt }?.timeMilliseconds,
                                    "served log never shows device 1 plugged in again:\n\(rig.simulatorOutput)")
        #expect(servedSecond.allSatisfy { !$0.unplugged }, "device 2 was unplugged too")

        // chair-1: ok, then comm-loss (every point, value null), then ok again, each message whole.
        #expect(first.map(\.sequence) == Self.oneTo(first.count), "chair-1 sequence numbers \(first.map(\.sequence))")
        var phases: [String] = []
        for message in first {
            let vitals = message.vitals(of: "monitor-1")
            #expect(vitals.map(\.name) == Self.monitorPoints, "chair-1 #\(message.sequence): points \(vitals.map(\.name))")
            #expect(vitals.count == message.vitals.count, "chair-1 #\(message.sequence) carries another device's points")
            let qualities = Set(vitals.map(\.quality))
            #expect(qualities == ["ok"] || qualities == ["comm-loss"],
                    "chair-1 #\(message.sequence): mixed qualities \(Self.show(vitals))")
            if qualities == ["comm-loss"] {
                #expect(vitals.allSatisfy { $0.value == nil }, "chair-1 #\(message.sequence): comm-loss with a value \(Self.show(vitals))")
            }
            if phases.last != qualities.first { phases.append(qualities.first ?? "") }
        }
        #expect(phases == ["ok", "comm-loss", "ok"], """
            chair-1 went through \(phases), expected ok → comm-loss → ok \
            (unplugged at \(unplugAt), plugged in at \(replugAt)); agent output:\n\(agentLog)
            """)

        let lostMessage = first.first { $0.vitals.first?.quality == "comm-loss" }
        let lostAt = try #require(lostMessage?.vitals.first?.timeMilliseconds, "chair-1 never comm-loss")
        let backMessage = first.first { $0.sequence > lostMessage!.sequence && $0.vitals.first?.quality == "ok" }
        let backAt = try #require(backMessage?.vitals.first?.timeMilliseconds, "chair-1 never recovered")
        // Comm-loss within one period plus the response timeout of the unplugging (2 s to spare).
        #expect(lostAt >= unplugAt, "comm-loss at \(lostAt), before the unplug at \(unplugAt)")
        #expect(lostAt - unplugAt <= interval + responseTimeout + 2000,
                "comm-loss \(lostAt - unplugAt) ms after the unplug; expected within \(interval + responseTimeout + 2000) ms")
        // Recovery only once plugged in again, and within the retry backoff (1 s doubling:
        // the retry after a 5 s outage comes at most ~2 x 5 s after the loss), 5 s to spare.
        #expect(backAt >= replugAt, "ok again at \(backAt), before the device was plugged in at \(replugAt)")
        #expect(backAt - replugAt <= 2 * unpluggedFor * 1000 + 5000,
                "ok again \(backAt - replugAt) ms after the device was plugged in again")
        // No ok sample while the device was away.
        for message in first where message.vitals.first?.quality == "ok" {
            let time = message.vitals.first?.timeMilliseconds ?? 0
            #expect(!(time > unplugAt + 100 && time < replugAt), "chair-1 #\(message.sequence) ok at \(time) while unplugged")
        }
        // What monitor-1 published while it answered is what it served, before and after.
        for message in first where message.vitals.first?.quality == "ok" {
            let vitals = message.vitals(of: "monitor-1")
            let match = Self.matchServed(vitals, at: vitals[0].timeMilliseconds, in: servedFirst, window: Self.simulatorStepMilliseconds)
            #expect(match.matches, "chair-1 #\(message.sequence): received \(Self.show(vitals)) but served \(match.candidates)")
        }

        // chair-2: ok throughout, a message every cycle (consecutive sequence numbers, and no
        // sampling hole: samples a period apart, never two), values as served.
        #expect(second.map(\.sequence) == Self.oneTo(second.count), "chair-2 sequence numbers \(second.map(\.sequence))")
        var previous: Int64?
        var largestGap: Int64 = 0
        for message in second {
            let vitals = message.vitals(of: "monitor-2")
            #expect(vitals.map(\.name) == Self.monitorPoints, "chair-2 #\(message.sequence): points \(vitals.map(\.name))")
            #expect(vitals.allSatisfy { $0.quality == "ok" }, "chair-2 #\(message.sequence): \(Self.show(vitals))")
            guard let time = vitals.first?.timeMilliseconds else { continue }
            let match = Self.matchServed(vitals, at: time, in: servedSecond, window: Self.simulatorStepMilliseconds)
            #expect(match.matches, "chair-2 #\(message.sequence): received \(Self.show(vitals)) but served \(match.candidates)")
            if let previous { largestGap = max(largestGap, time - previous) }
            previous = time
        }
        #expect(largestGap < interval * 8 / 5, "chair-2 went \(largestGap) ms without a sample (period \(interval) ms)")
        let duringOutage = second.filter {
            let time = $0.vitals.first?.timeMilliseconds ?? 0
            return time >= unplugAt && time <= backAt
        }.count
        let cycles = (backAt - unplugAt) / interval
        #expect(Int64(duringOutage) >= cycles - 1,
                "chair-2 published \(duringOutage) messages in the \(backAt - unplugAt) ms of monitor-1's outage (\(cycles) cycles)")

        // The agent said so, in order: lost, then answering again.
        let lostLine = agentLog.range(of: "device monitor-1 lost (")
        #expect(lostLine != nil, "no 'device monitor-1 lost' line:\n\(agentLog)")
        if let lostLine {
            #expect(agentLog[lostLine.upperBound...].contains("device monitor-1 is answering"),
                    "no 'device monitor-1 is answering' after the loss:\n\(agentLog)")
        }
        #expect(!agentLog.contains("monitor-2 lost"), "monitor-2 was reported lost:\n\(agentLog)")
    }

    // MARK: 3. Sensor off

    @Test func probeOffMakesSpO2AndPulseRateSensorOffAndNothingElse() throws {
        let rig = try Rig("e2e-probe")
        defer { rig.stopAll() }
        let port = freeLoopbackPort()
        let onset: Int64 = 3
        // The probe comes off at simulated second 3 and stays off.
        try rig.startSimulator(["--port", String(port), "--devices", "monitor", "--seed", "21",
                                "--scenario", "probe-off@1", "--scenario-after-s", String(onset)])
        let interval: Int64 = 500
        let config = try rig.writeConfig(intervalMilliseconds: interval, beds: """
              - id: chair-1
                devices:
                  - id: monitor-1
                    profile: patient-monitor
                    tcp: { host: 127.0.0.1, port: \(port) }
            """)
        let subscriber = try rig.startAgent(config: config)
        let arrived = subscriber.wait(timeout: 120) { messages in
            if rig.agentHasExited { return true }
            let decoded = messages.compactMap { try? rig.decode($0.payload) }
            return decoded.filter { $0.vital("spo2")?.quality == "sensor-off" }.count >= 4
                && decoded.contains { $0.vital("spo2")?.quality == "ok" }
        }
        let status = rig.stopAll()
        let agentLog = rig.agentOutput
        #expect(status == 0, "agent exit status \(status); output:\n\(agentLog)")

        let messages = try arrived.map { try rig.decode($0.payload) }.sorted { $0.sequence < $1.sequence }
        try #require(!messages.isEmpty, "no vitals arrived; agent output:\n\(agentLog)\nsimulator:\n\(rig.simulatorOutput)")
        let served = try rig.servedLines()
        let probeOffAt = try #require(served.first { Int($0.values["sensor_status"] ?? 0) & 1 == 1 }?.timeMilliseconds,
                                      "served log never sets spo2_probe_off:\n\(rig.simulatorOutput)")
        let silenced: Set<String> = ["spo2", "pulse_rate"]
        var before = 0
        var after = 0
        for message in messages {
            let vitals = message.vitals(of: "monitor-1")
            #expect(vitals.map(\.name) == Self.monitorPoints, "#\(message.sequence): points \(vitals.map(\.name))")
            guard let status = message.vital("sensor_status")?.value, let time = vitals.first?.timeMilliseconds else {
                Issue.record("#\(message.sequence): no sensor_status value \(Self.show(vitals))")
                continue
            }
            let probeOff = Int(status) & 1 == 1
            if probeOff { after += 1 } else { before += 1 }
            for vital in vitals {
                let expected = probeOff && silenced.contains(vital.name) ? "sensor-off" : "ok"
                #expect(vital.quality == expected,
                        "#\(message.sequence) (sensor_status \(Int(status))) \(vital.name): \(vital.quality), expected \(expected)")
            }
            // The bit follows the served log: set once the probe is off (a cycle and the simulator's
            // step to spare), never before.
            if time < probeOffAt { #expect(!probeOff, "#\(message.sequence) probe-off at \(time), served from \(probeOffAt)") }
            if time > probeOffAt + interval + Self.simulatorStepMilliseconds {
                #expect(probeOff, "#\(message.sequence) at \(time): probe still on, served off from \(probeOffAt)")
            }
            // Every point that is not sensor-off is what was served; a sensor-off one is the
            // served reading or null.
            let kept = vitals.filter { $0.quality != "sensor-off" }
            let match = Self.matchServed(kept, at: time, in: served, window: Self.simulatorStepMilliseconds) { values in
                for vital in vitals where vital.quality == "sensor-off" {
                    if let value = vital.value, value != values[vital.name] { return false }
                }
                return true
            }
            #expect(match.matches, "#\(message.sequence): received \(Self.show(vitals)) but served \(match.candidates)")
        }
        #expect(before >= 1, "no message before the probe came off")
        #expect(after >= 4, "only \(after) messages with the probe off")
    }

    // MARK: 4. Out of range

    @Test func pointsOutsideTheirProfileRangeAreOutOfRangeWithTheirValue() throws {
        let rig = try Rig("e2e-range")
        defer { rig.stopAll() }
        // A user's profile file: the test pattern serves values from the addresses alone
        // (uint16 40000 + a, int16 -(1000 + a), float32 -(4a + 1.5); see TestPattern), and
        // these ranges keep some and exclude others.
        let profilePath = rig.directory.appendingPathComponent("range-test.yaml").path
        try """
            # A profile whose ranges exclude some of what the test-pattern device serves.
            name: range-test
            summary: "valid ranges against the test pattern"
            largest_gap: 4
            points:
              - name: within            # 40000
                function: holding-registers
                address: 0
                unit: "1"
                range: [0, 65535]
              - name: above             # 40001
                function: holding-registers
                address: 1
                unit: "1"
                range: [0, 100]
              - name: at_upper_bound    # 40002: a range includes its ends
                function: holding-registers
                address: 2
                unit: "1"
                range: [0, 40002]
              - name: below_signed      # -1003
                function: holding-registers
                address: 3
                type: int16
                unit: "1"
                range: [0, 300]
              - name: scaled_above      # 40004 * 0.1 - 40 = 3960.4
                function: holding-registers
                address: 4
                scale: 0.1
                offset: -40
                decimals: 1
                unit: Cel
                range: [-50, 3960.3]
              - name: float_dcba_within # -(4 * 5 + 1.5) = -21.5
                function: holding-registers
                address: 5
                type: float32
                word_order: dcba
                decimals: 1
                unit: mL
                range: [-30, -20]
              - name: float_cdab_below  # -(4 * 7 + 1.5) = -29.5
                function: holding-registers
                address: 7
                type: float32
                word_order: cdab
                decimals: 1
                unit: mL
                range: [0, 100]
            """.write(toFile: profilePath, atomically: true, encoding: .utf8)
        let expected: [(name: String, value: Double, quality: String)] = [
            ("within", 40_000, "ok"), ("above", 40_001, "out-of-range"), ("at_upper_bound", 40_002, "ok"),
            ("below_signed", -1003, "out-of-range"), ("scaled_above", 3960.4, "out-of-range"),
            ("float_dcba_within", -21.5, "ok"), ("float_cdab_below", -29.5, "out-of-range"),
        ]
        let port = freeLoopbackPort()
        try rig.startSimulator(["--port", String(port), "--devices", "pattern", "--pattern-profile", profilePath])
        let interval: Int64 = 500
        // The profile file is listed relative to the configuration file, as the example shows.
        let config = try rig.writeConfig(intervalMilliseconds: interval, profiles: ["range-test.yaml"], beds: """
              - id: chair-1
                devices:
                  - id: pattern-1
                    profile: range-test
                    tcp: { host: 127.0.0.1, port: \(port) }
            """)
        let check = try runToCompletion(agentCommand() + ["check", config])
        #expect(check.status == 0, "check refused the configuration:\n\(check.output)")

        let subscriber = try rig.startAgent(config: config)
        let arrived = subscriber.wait(timeout: 90) { rig.agentHasExited || $0.count >= 4 }
        let status = rig.stopAll()
        let agentLog = rig.agentOutput
        #expect(status == 0, "agent exit status \(status); output:\n\(agentLog)")
        let messages = try arrived.map { try rig.decode($0.payload) }
        try #require(!messages.isEmpty, "no vitals arrived; agent output:\n\(agentLog)\nsimulator:\n\(rig.simulatorOutput)")
        #expect(messages.count >= 4, "\(messages.count) messages; agent output:\n\(agentLog)\nsimulator:\n\(rig.simulatorOutput)")
        for message in messages {
            let vitals = message.vitals(of: "pattern-1")
            #expect(vitals.map(\.name) == expected.map(\.name), "#\(message.sequence): points \(vitals.map(\.name))")
            for point in expected {
                guard let vital = message.vital(point.name) else { continue }
                #expect(vital.quality == point.quality, "#\(message.sequence) \(point.name): \(vital.quality), expected \(point.quality)")
                // Out of range keeps its value: it is the device's reading, flagged.
                #expect(vital.value == point.value, "#\(message.sequence) \(point.name): \(vital.value.map { "\($0)" } ?? "null"), expected \(point.value)")
            }
            #expect(message.vital("scaled_above")?.unit == "Cel")
        }
        // The simulator served the same (its log decodes the registers with the same file).
        let served = try rig.servedLines()
        #expect(served.last.map { line in expected.allSatisfy { line.values[$0.name] == $0.value } } == true,
                "served \(served.last?.values ?? [:])")
    }

    // MARK: Fixtures

    /// Broker, simulator and agent of one test, in its own directory.
    final class Rig {
        let directory: URL
        let broker: MosquittoBroker
        let servedLogPath: String
        private(set) var simulator: ChildProcess?
        private(set) var agent: ChildProcess?
        private var subscriber: RecordingSubscriber?
        private var descriptions: RecordingSubscriber?
        private var agentStatus: Int32?

        init(_ label: String) throws {
            directory = try temporaryDirectory(label)
            broker = try MosquittoBroker()
            servedLogPath = directory.appendingPathComponent("served.jsonl").path
        }

        /// `bedside-gateway simulate ARGUMENTS --served-log ...` (host build); waits until it has
        /// served its first registers (the served log's first lines are written at start-up).
        func startSimulator(_ arguments: [String]) throws {
            let child = try ChildProcess(name: "simulator",
                                         command: [simulatorBinary()] + arguments + ["--served-log", servedLogPath],
                                         directory: directory)
            simulator = child
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if let size = (try? FileManager.default.attributesOfItem(atPath: servedLogPath))?[.size] as? Int, size > 0 { return }
                if !child.process.isRunning { break }
                Thread.sleep(forTimeInterval: 0.02)
            }
            throw TestFailure("simulator did not start: \(child.output)")
        }

        /// A configuration with the test broker and `beds` (YAML list items, indented by 2).
        func writeConfig(intervalMilliseconds: Int64, profiles: [String] = [], beds: String) throws -> String {
            let path = directory.appendingPathComponent("gateway.yaml").path
            var text = """
                # acquisition end-to-end test configuration
                site: test
                box: box-1
                mqtt:
                  host: 127.0.0.1
                  port: \(broker.port)
                sampling:
                  interval_ms: \(intervalMilliseconds)
                queue: { directory: \(directory.path)/queue }
                health: { port: 0 }

                """
            if !profiles.isEmpty {
                text += "device_profiles:\n" + profiles.map { "  - \($0)\n" }.joined()
            }
            text += "beds:\n" + beds + "\n"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// Subscribes to every bed's vitals and description, then starts the agent as a user runs it.
        func startAgent(config: String) throws -> RecordingSubscriber {
            descriptions = try RecordingSubscriber(port: broker.port, topic: "bedside/test/box-1/beds/+/description")
            let subscriber = try RecordingSubscriber(port: broker.port, topic: "bedside/test/box-1/beds/+/vitals")
            self.subscriber = subscriber
            agent = try ChildProcess(name: "agent", command: agentCommand() + ["run", "--config", config], directory: directory)
            return subscriber
        }

        /// A vitals message read with the descriptions the agent published.
        func decode(_ payload: [UInt8]) throws -> Message {
            try AcquisitionEndToEndTests.decode(payload, descriptions: descriptions?.messages ?? [])
        }

        var agentOutput: String { agent?.output ?? "" }
        /// The agent stopped by itself (a crash, a refused configuration): waiting on is pointless.
        var agentHasExited: Bool { agent.map { !$0.process.isRunning } ?? false }
        var simulatorOutput: String { simulator?.output ?? "" }

        /// Stops the agent (SIGTERM; its exit status is returned), then the simulator and the broker.
        @discardableResult
        func stopAll() -> Int32 {
            if let agent, agentStatus == nil { agentStatus = agent.stop(grace: 30) }
            simulator?.stop()
            broker.stop()
            return agentStatus ?? 0
        }

        /// The simulator's served log; read after `stopAll()` so no line is half written.
        func servedLines() throws -> [ServedLine] {
            let text = try String(contentsOfFile: servedLogPath, encoding: .utf8)
            return try text.split(separator: "\n").map { try ServedLine(String($0)) }
        }
    }

    /// One line of `--served-log`: what one device served from `timeMilliseconds` on.
    struct ServedLine {
        var timeMilliseconds: Int64
        var device: Int
        var port: Int?
        var rtu: String?
        var unit: Int?
        var unplugged: Bool
        var values: [String: Double]

        init(_ line: String) throws {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let time = object["t_ms"] as? NSNumber, let device = object["device"] as? NSNumber,
                  let values = object["values"] as? [String: NSNumber] else {
                throw TestFailure("unreadable served-log line: \(line)")
            }
            timeMilliseconds = time.int64Value
            self.device = device.intValue
            port = (object["port"] as? NSNumber)?.intValue
            rtu = object["rtu"] as? String
            unit = (object["unit"] as? NSNumber)?.intValue
            unplugged = (object["unplugged"] as? Bool) ?? false
            self.values = values.mapValues(\.doubleValue)
        }
    }

    /// A published vitals message with each value's device, unit (from the bed's description)
    /// and read time (its device's, from `reads`).
    struct Message {
        struct Vital {
            var name: String
            var value: Double?
            var unit: String
            var quality: String
            var device: String
            var timeMilliseconds: Int64
        }

        var bed: String
        var sequence: Int64
        var timeMilliseconds: Int64
        var vitals: [Vital]

        func vitals(of device: String) -> [Vital] { vitals.filter { $0.device == device } }

        func vital(_ name: String, of device: String? = nil) -> Vital? {
            vitals.first { $0.name == name && (device == nil || $0.device == device) }
        }
    }

    static func decode(_ payload: [UInt8], descriptions: [MQTTClient.Message]) throws -> Message {
        let text = String(decoding: payload, as: UTF8.self)
        guard let object = try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
              let bed = object["bed"] as? String, let sequence = object["seq"] as? NSNumber,
              let time = (object["time"] as? String).flatMap(parseTime), let revision = object["description"] as? String,
              let reads = object["reads"] as? [String: String],
              let entries = object["vitals"] as? [[String: Any]] else {
            throw TestFailure("not a vitals message: \(text)")
        }
        let described = try descriptions.map { try decodeBedDescription($0.payload) }
        guard let description = described.first(where: { $0.bedID == bed && $0.revision == revision }) else {
            throw TestFailure("no description \(revision) of bed \(bed) arrived before \(text)")
        }
        var vitals: [Message.Vital] = []
        for entry in entries {
            guard let name = entry["name"] as? String, let quality = entry["quality"] as? String,
                  let point = description.point(named: name),
                  let sampled = reads[point.device].flatMap(parseTime), entry.keys.contains("value") else {
                throw TestFailure("incomplete vital \(entry) in \(text)")
            }
            let value: Double?
            if entry["value"] is NSNull {
                value = nil
            } else if let number = entry["value"] as? NSNumber {
                value = number.doubleValue
            } else {
                throw TestFailure("vital \(name) has a value that is neither a number nor null in \(text)")
            }
            vitals.append(Message.Vital(name: name, value: value, unit: point.unit, quality: quality, device: point.device,
                                        timeMilliseconds: sampled))
        }
        return Message(bed: bed, sequence: sequence.int64Value, timeMilliseconds: time, vitals: vitals)
    }

    /// Whether `vitals` (one device's samples, taken at `time`) equal what one of `served`
    /// served in the cycle before: a line written at most `window` ms before the sample (the
    /// value in effect when it was read) or up to 100 ms after (clock reading order).
    /// `alsoRequire` can check the served line further.
    static func matchServed(_ vitals: [Message.Vital], at time: Int64, in served: [ServedLine], window: Int64,
                            alsoRequire: ([String: Double]) -> Bool = { _ in true })
        -> (matches: Bool, candidates: [[String: Double]]) {
        let candidates = served.filter { $0.timeMilliseconds <= time + 100 && $0.timeMilliseconds >= time - window - 100 }
        let received = Dictionary(uniqueKeysWithValues: vitals.map { ($0.name, $0.value ?? .nan) })
        let matches = !received.isEmpty && candidates.contains { line in
            received.allSatisfy { line.values[$0.key] == $0.value } && alsoRequire(line.values)
        }
        return (matches, candidates.map { line in line.values.filter { received.keys.contains($0.key) } })
    }

    static func show(_ vitals: [Message.Vital]) -> String {
        vitals.map { "\($0.name)=\($0.value.map { "\($0)" } ?? "null")(\($0.quality))" }.joined(separator: " ")
    }

    static func oneTo(_ count: Int) -> [Int64] { count == 0 ? [] : Array(1...Int64(count)) }

    static func parseTime(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

}
