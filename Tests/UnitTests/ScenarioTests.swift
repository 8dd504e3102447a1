import Testing
@testable import Simulator
import RegisterMaps

/// The scripted scenarios, stepped over simulated time (one `advance()` = one second).
struct ScenarioTests {
    static func timing(onset: Int) -> ScenarioTiming { ScenarioTiming(onsetSeconds: onset) }

    @Test func desaturationReaches85Within30SecondsThenHolds() {
        let onset = 20
        var patient = PatientModel(seed: 8, scenario: .desaturation, timing: Self.timing(onset: onset))
        var reachedAt: Int?
        var previous = Double.infinity
        for second in 1...200 {
            patient.advance()
            if second < onset {
                #expect(patient.spo2 >= 93, "second \(second): \(patient.spo2) before the onset")
                continue
            }
            #expect(patient.spo2 <= previous, "SpO2 rose during the desaturation at second \(second)")
            previous = patient.spo2
            if reachedAt == nil && patient.spo2 <= 85 { reachedAt = second }
            if let reachedAt, second >= reachedAt { #expect(patient.spo2 == 85, "second \(second)") }
        }
        let reached = try? #require(reachedAt)
        #expect(reached.map { abs($0 - (onset + 30)) <= 1 } == true, "reached 85 at \(String(describing: reachedAt))")
        #expect(patient.flag("alarm_active"))
    }

    @Test func hypertensionSpikesAtTheNextCuffCycle() {
        var patient = PatientModel(seed: 3, nibpIntervalSeconds: 60, scenario: .hypertension, timing: Self.timing(onset: 100))
        for second in 1...240 {
            patient.advance()
            if second < 120 {
                // Cuff cycles at 0 and 60 (before the onset) read normal; the one at 120 is the first after it.
                #expect(patient.nibpSystolic < 160 && patient.nibpDiastolic < 95, "second \(second)")
            } else {
                #expect(patient.nibpSystolic == 190 && patient.nibpDiastolic == 110 && patient.nibpMean == 137, "second \(second)")
            }
        }
        #expect(patient.nibpSecond == 240)
        #expect(patient.flag("alarm_active"))
    }

    @Test func bradypneaThenApneaWithEtCO2FallingTowardsZero() {
        let onset = 10
        var patient = PatientModel(seed: 6, scenario: .bradypneaApnea, timing: Self.timing(onset: onset))
        var lastEtCO2 = Double.infinity
        var etco2ZeroAt: Int?
        for second in 1...(onset + 120) {
            patient.advance()
            let since = second - onset
            if since < 0 {
                #expect(patient.respiratoryRate >= 9)
            } else if since < Scenario.bradypneaSeconds {
                #expect(patient.respiratoryRate >= 6 && patient.respiratoryRate <= 22)
            } else if since < Scenario.apneaStartSeconds {
                #expect(patient.respiratoryRate == 6, "second \(second)")
                #expect(patient.etco2 >= 30, "EtCO2 stays while breathing slowly")
            } else {
                #expect(patient.respiratoryRate == 0, "apnea from \(onset + 60) s, second \(second)")
                #expect(patient.etco2 <= lastEtCO2, "EtCO2 must not rise during apnea")
                // Strictly falling while there is something to lose at a tenth of a mmHg.
                if patient.etco2 >= 1 && lastEtCO2 != .infinity { #expect(patient.etco2 < lastEtCO2, "second \(second)") }
                if etco2ZeroAt == nil && patient.etco2 == 0 { etco2ZeroAt = since - Scenario.apneaStartSeconds }
                lastEtCO2 = patient.etco2
            }
        }
        #expect(etco2ZeroAt != nil && etco2ZeroAt! <= 30, "EtCO2 reached 0 after \(String(describing: etco2ZeroAt)) s of apnea")
        #expect(patient.flag("alarm_active"))
    }

    @Test func tachycardiaRisesTo140() {
        var patient = PatientModel(seed: 12, scenario: .tachycardia, timing: Self.timing(onset: 5))
        for second in 1...60 {
            patient.advance()
            if second >= 5 + Scenario.tachycardiaSeconds {
                #expect(patient.heartRate == 140 && patient.pulseRate == 140, "second \(second)")
            }
            if second < 5 { #expect(patient.heartRate <= 110) }
        }
        #expect(patient.flag("alarm_active"))
    }

    @Test func nibpEveryThreeMinutes() {
        var patient = PatientModel(seed: 2, nibpIntervalSeconds: 300, scenario: .nibp3min)
        var cycles: [Int] = []
        var last = patient.nibpSecond
        for _ in 1...600 {
            patient.advance()
            if patient.nibpSecond != last { cycles.append(patient.nibpSecond); last = patient.nibpSecond }
        }
        #expect(cycles == [180, 360, 540])
    }

    @Test func occlusionPausesThePumpWithTheBitSet() {
        var pump = PumpModel(seed: 4, rate: 100, volume: 100, scenario: .occlusion, timing: Self.timing(onset: 60))
        for _ in 1..<60 { pump.advance() }
        #expect(pump.state == .running && !pump.flag("occlusion"))
        let infused = pump.volumeInfused
        #expect(infused > 1.6 && infused < 1.65)
        pump.advance()
        #expect(pump.state == .paused && pump.flag("occlusion"))
        #expect(pump.value(of: "state") == 2 && pump.rate == 0)
        for _ in 0..<600 { pump.advance() }
        // Paused: nothing more is delivered.
        #expect(abs(pump.volumeInfused - infused - 100.0 / 3600) < 1e-9)
        let status = try? #require(BuiltinProfiles.infusionPump.point(named: "pump_status"))
        let occlusionBit = status?.bitField(named: "occlusion")?.bit ?? -1
        #expect(status.flatMap { DeviceModel.pump(pump).value(for: $0) } == Double(1 << occlusionBit))
    }

    @Test func unpluggedForItsWindowOnly() {
        let timing = ScenarioTiming(onsetSeconds: 0, unpluggedAfterSeconds: 30, unpluggedSeconds: 15)
        #expect(!timing.isUnplugged(atSecond: 29))
        #expect(timing.isUnplugged(atSecond: 30) && timing.isUnplugged(atSecond: 44))
        #expect(!timing.isUnplugged(atSecond: 45))
    }

    @Test func aScenarioKeepsTheSeedsOtherValues() {
        // Overrides never consume random draws: the heart rate of a desaturating patient is
        // the same as the normal patient's with the same seed.
        var normal = PatientModel(seed: 21)
        var desaturating = PatientModel(seed: 21, scenario: .desaturation)
        for _ in 0..<120 {
            normal.advance(); desaturating.advance()
            #expect(normal.heartRate == desaturating.heartRate && normal.etco2 == desaturating.etco2)
        }
    }

    @Test func rampsAreStraightAndEndOnTheTarget() {
        #expect(ramp(from: 97, to: 85, elapsed: 0, over: 30) == 97)
        #expect(ramp(from: 97, to: 85, elapsed: 15, over: 30) == 91)
        #expect(ramp(from: 97, to: 85, elapsed: 30, over: 30) == 85)
        #expect(ramp(from: 97, to: 85, elapsed: 99, over: 30) == 85)
    }
}

/// The simulator's command-line vocabulary, parsed without starting anything.
struct SimulatorOptionTests {
    @Test func deviceListsAndUnitLists() {
        #expect(DeviceGroup.parseList("monitor:32,pump:8") == [DeviceGroup(.monitor, count: 32), DeviceGroup(.pump, count: 8)])
        #expect(DeviceGroup.parseList("pattern") == [DeviceGroup(.pattern, count: 1)])
        for bad in ["", "monitor:", "monitor:0", "ventilator:2", "monitor:2:3", "monitor,,pump"] {
            #expect(DeviceGroup.parseList(bad) == nil, "\(bad)")
        }
        #expect(parseNumberList("1-8") == Array(1...8))
        #expect(parseNumberList("1,3,5-7") == [1, 3, 5, 6, 7])
        #expect(parseNumberList("2,2") == [2])
        for bad in ["", "8-1", "a", "1-", "-3", "1,,2"] { #expect(parseNumberList(bad) == nil, "\(bad)") }
    }

    @Test func scenariosByNameWithTheirDevices() {
        #expect(ScenarioAssignment.parse("desaturation") == ScenarioAssignment(.desaturation))
        #expect(ScenarioAssignment.parse("unplugged@2,4-5") == ScenarioAssignment(.unplugged, devices: [2, 4, 5]))
        #expect(ScenarioAssignment.parse("bradypnea-apnea")?.scenario == .bradypneaApnea)
        #expect(ScenarioAssignment.parse("nibp-3min")?.scenario == .nibp3min)
        #expect(ScenarioAssignment.parse("sneeze") == nil)
        #expect(ScenarioAssignment.parse("occlusion@") == nil)
        for scenario in Scenario.allCases { #expect(Scenario.named(scenario.rawValue) == scenario) }
    }

    @Test func devicesAreNumberedTCPFirstThenRTUUnits() {
        var options = SimulatorOptions()
        options.tcpDevices = [DeviceGroup(.monitor, count: 2), DeviceGroup(.pump, count: 1)]
        options.rtuDevice = "/dev/pts/9"
        options.rtuUnits = [4, 5]
        options.rtuDevices = [DeviceGroup(.pump, count: 1), DeviceGroup(.monitor, count: 1)]
        #expect(options.deviceKinds == [.monitor, .monitor, .pump, .pump, .monitor])
        options.scenarios = [ScenarioAssignment(.occlusion), ScenarioAssignment(.desaturation, devices: [2, 5]),
                             ScenarioAssignment(.unplugged, devices: [1])]
        #expect(options.problems().isEmpty, "\(options.problems())")
        #expect(options.script(ofDevice: 1, kind: .monitor) == (.normal, true))
        #expect(options.script(ofDevice: 2, kind: .monitor) == (.desaturation, false))
        #expect(options.script(ofDevice: 3, kind: .pump) == (.occlusion, false))
        #expect(options.script(ofDevice: 4, kind: .pump) == (.occlusion, false))
        #expect(options.script(ofDevice: 5, kind: .monitor) == (.desaturation, false))
    }

    @Test func impossibleOptionsAreExplained() {
        var options = SimulatorOptions()
        options.tcpDevices = [DeviceGroup(.monitor, count: 2)]
        options.scenarios = [ScenarioAssignment(.desaturation), ScenarioAssignment(.tachycardia, devices: [2]),
                             ScenarioAssignment(.unplugged, devices: [3])]
        let problems = options.problems()
        #expect(problems.contains { $0.contains("device 2 would play both desaturation and tachycardia") }, "\(problems)")
        #expect(problems.contains { $0.contains("unplugged@3") }, "\(problems)")
        options = SimulatorOptions()
        options.firstPort = 65_530
        options.deviceCount = 10
        #expect(!options.problems().isEmpty)
        options = SimulatorOptions()
        options.rtuDevice = "/dev/pts/9"
        options.rtuUnits = [1, 2, 3]
        options.rtuDevices = [DeviceGroup(.pump, count: 2)]
        #expect(options.problems().contains { $0.contains("2 device(s) for 3 unit id(s)") })
        options.rtuDevices = []
        options.rtuUnits = [0, 248]
        #expect(options.problems().count == 2)
    }
}

/// The documented test pattern, checked against the table in its documentation.
struct TestPatternTests {
    @Test func valuesFollowTheDocumentedTable() {
        #expect(TestPattern.rawValue(type: .bool, address: 3) == 1)
        #expect(TestPattern.rawValue(type: .bool, address: 4) == 0)
        #expect(TestPattern.rawValue(type: .int16, address: 7) == -1007)
        #expect(TestPattern.rawValue(type: .uint16, address: 7) == 40_007)
        #expect(TestPattern.rawValue(type: .int32, address: 2) == -300_002)
        #expect(TestPattern.rawValue(type: .uint32, address: 2) == 3_000_000_002)
        #expect(TestPattern.rawValue(type: .int64, address: 1) == -2_199_023_255_553)
        #expect(TestPattern.rawValue(type: .uint64, address: 1) == 4_503_599_627_370_497)
        #expect(TestPattern.rawValue(type: .float32, address: 5) == -21.5)
        #expect(TestPattern.rawValue(type: .float64, address: 5) == 5.1)
    }

    @Test func everyPatternValueSurvivesEncodingAndDecoding() {
        for point in TestPattern.profile.points {
            let value = TestPattern.value(of: point)
            var registers = [UInt16](repeating: 0, count: 4)
            point.encode(value, into: &registers, at: 0)
            #expect(point.decode(registers, at: 0) == value, "\(point.name)")
            #expect(point.isInRange(value), "\(point.name)")
        }
        #expect(planReads(TestPattern.profile).count == 4)
    }
}
