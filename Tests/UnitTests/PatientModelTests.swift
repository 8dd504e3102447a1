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
        let patient = PatientModel(seed: 1)
        for point in BuiltinProfiles.patientMonitor.points {
            let value = patient.value(of: point.name)
            #expect(value != nil, "no model for \(point.name)")
            if let value { #expect(point.validRange.contains(value), "\(point.name) = \(value)") }
        }
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
