import Testing
@testable import Simulator
import RegisterMaps

struct PatientModelTests {
    @Test func sameSeedReplaysTheSamePatient() {
        var a = PatientModel(seed: 11)
        var b = PatientModel(seed: 11)
        var c = PatientModel(seed: 12)
        var differs = false
        for _ in 0..<60 {
            a.advance(); b.advance(); c.advance()
            #expect(a.heartRate == b.heartRate && a.etco2 == b.etco2 && a.spo2 == b.spo2)
            if a.heartRate != c.heartRate { differs = true }
        }
        #expect(differs)
    }

    @Test func vitalsStayPlausibleAndMoveOverAnHour() {
        var patient = PatientModel(seed: 3, nibpIntervalSeconds: 180)
        var heartRates = Set<Double>()
        var systolics = Set<Double>()
        for _ in 0..<3600 {
            patient.advance()
            #expect((93...100).contains(patient.spo2))
            #expect((55...110).contains(patient.heartRate))
            #expect(abs(patient.pulseRate - patient.heartRate) <= 2)
            #expect((9...22).contains(patient.respiratoryRate))
            #expect((32...45).contains(patient.etco2))
            #expect(patient.nibpSystolic > patient.nibpMean && patient.nibpMean > patient.nibpDiastolic)
            heartRates.insert(patient.heartRate)
            systolics.insert(patient.nibpSystolic)
        }
        #expect(heartRates.count > 10)
        // 3600 s at one cuff cycle per 180 s: at most 21 distinct readings, and they do change.
        #expect(systolics.count > 3 && systolics.count <= 21)
    }

    @Test func modelsEveryPointOfThePatientMonitorProfile() {
        let patient = PatientModel(seed: 1, startUnixSeconds: 1_795_000_000)
        let device = DeviceModel.monitor(patient)
        for point in BuiltinProfiles.patientMonitor.points {
            // Measurements by name; status words from the named flags of their bit fields.
            let value = device.value(for: point)
            #expect(value != nil, "no model for \(point.name)")
            if let value { #expect(point.validRange.contains(value), "\(point.name) = \(value)") }
            if point.bitFields.isEmpty { #expect(patient.value(of: point.name) == value) }
        }
    }

    @Test func theLastCuffTimeIsUnixSecondsOfTheMeasurement() {
        var patient = PatientModel(seed: 4, nibpIntervalSeconds: 60, startUnixSeconds: 1_795_000_000)
        #expect(patient.value(of: "nibp_time") == 1_795_000_000)
        for _ in 0..<59 { patient.advance() }
        #expect(patient.value(of: "nibp_time") == 1_795_000_000)
        patient.advance()
        #expect(patient.value(of: "nibp_time") == 1_795_000_060)
        #expect(patient.nibpSecond == 60)
    }

    @Test func statusWordsAreAssembledFromNamedFlagsAtTheProfilesBits() throws {
        // The probe-off scenario sets spo2_probe_off; the monitor alarms on it.
        let patient = PatientModel(seed: 2, scenario: .probeOff)
        #expect(patient.flag("spo2_probe_off") && patient.flag("alarm_active") && !patient.flag("ecg_leads_off"))
        let device = DeviceModel.monitor(patient)
        let sensor = try #require(BuiltinProfiles.patientMonitor.point(named: "sensor_status"))
        let status = try #require(BuiltinProfiles.patientMonitor.point(named: "device_status"))
        let probeBit = try #require(sensor.bitField(named: "spo2_probe_off")).bit
        let alarmBit = try #require(status.bitField(named: "alarm_active")).bit
        #expect(device.value(for: sensor) == Double(1 << probeBit))
        #expect(device.value(for: status) == Double(1 << alarmBit))
        // Move the bits in a copy of the profile: the word follows the profile, not a second table.
        var moved = sensor
        moved.bitFields = [BitField(name: "spo2_probe_off", bit: 9, meaning: .status),
                           BitField(name: "ecg_leads_off", bit: 0, meaning: .status)]
        #expect(device.value(for: moved) == 512)
    }

    @Test func aQuietPatientDoesNotAlarm() {
        var patient = PatientModel(seed: 5)
        var alarmingSeconds = 0
        for _ in 0..<600 {
            patient.advance()
            if patient.flag("alarm_active") { alarmingSeconds += 1 }
        }
        #expect(alarmingSeconds == 0)
    }
}

struct PumpModelTests {
    @Test func volumeIntegratesAtTheRateAndTheRemainderCountsDown() {
        var pump = PumpModel(seed: 1, rate: 120, volume: 500)
        #expect(pump.state == .running && pump.rate == 120)
        for _ in 0..<1800 { pump.advance() }
        // Half an hour at 120 mL/h.
        #expect(abs(pump.volumeInfused - 60) < 1e-6)
        #expect(abs(pump.volumeToBeInfused - 440) < 1e-6)
        #expect(abs(pump.volumeInfused + pump.volumeToBeInfused - 500) < 1e-9)
    }

    @Test func thePumpStopsWhenNothingIsLeftToInfuse() {
        // 10 mL at 120 mL/h: 300 s.
        var pump = PumpModel(seed: 1, rate: 120, volume: 10)
        var stoppedAt: Int?
        for second in 1...400 {
            pump.advance()
            if stoppedAt == nil && pump.state == .stopped { stoppedAt = second }
            #expect(pump.volumeToBeInfused >= 0)
        }
        #expect(stoppedAt != nil && abs(stoppedAt! - 300) <= 1, "stopped at \(String(describing: stoppedAt))")
        #expect(abs(pump.volumeInfused - 10) < 1e-9 && pump.volumeToBeInfused == 0)
        #expect(pump.rate == 0 && pump.doseRate == 0 && pump.value(of: "state") == 0)
    }

    @Test func theSeedPicksAPlausibleProgrammeAndReplaysIt() {
        var a = PumpModel(seed: 9), b = PumpModel(seed: 9)
        let c = PumpModel(seed: 10)
        #expect(a.programmedRate == b.programmedRate && a.programmedDoseRate == b.programmedDoseRate)
        #expect(a.programmedRate != c.programmedRate)
        #expect((100...150).contains(a.programmedRate) && (0.65...0.85).contains(a.programmedDoseRate))
        for _ in 0..<100 { a.advance(); b.advance() }
        #expect(a.volumeInfused == b.volumeInfused)
    }

    @Test func modelsEveryPointOfTheInfusionPumpProfile() {
        let device = DeviceModel.pump(PumpModel(seed: 3))
        for point in BuiltinProfiles.infusionPump.points {
            let value = device.value(for: point)
            #expect(value != nil, "no model for \(point.name)")
            if let value { #expect(point.validRange.contains(value), "\(point.name) = \(value)") }
        }
        #expect(device.value(for: BuiltinProfiles.infusionPump.point(named: "state")!) == 1)
    }
}

struct SeededRandomTests {
    @Test func neighbouringSeedsDivergeFromTheFirstDraw() {
        var equalFirstReadings = 0
        for seed in UInt64(0)..<50 {
            let a = PatientModel(seed: seed), b = PatientModel(seed: seed + 1)
            if a.nibpSystolic == b.nibpSystolic && a.nibpDiastolic == b.nibpDiastolic { equalFirstReadings += 1 }
        }
        // Independent draws collide on both values only rarely (about 1 in 300).
        #expect(equalFirstReadings <= 3)
    }

    @Test func drawsCoverTheSymmetricRangeEvenly() {
        var random = SeededRandom(seed: 99)
        var negative = 0
        var total = 0.0
        for _ in 0..<10_000 {
            let value = random.symmetric()
            #expect(value >= -1 && value <= 1)
            if value < 0 { negative += 1 }
            total += value
        }
        #expect((4_700...5_300).contains(negative))
        #expect(abs(total / 10_000) < 0.05)
    }
}
