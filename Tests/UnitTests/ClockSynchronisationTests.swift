import Foundation
import Platform
import Testing

/// adjtimex(2) interpretation with the kernel's own constants, and the system call checked
/// against a reading taken by python's ctypes.
struct ClockSynchronisationTests {
    // The kernel ABI (include/uapi/linux/timex.h), written out here rather than taken from
    // the header the implementation uses, so a wrong header would show.
    let TIME_OK: Int32 = 0, TIME_INS: Int32 = 1, TIME_DEL: Int32 = 2, TIME_OOP: Int32 = 3, TIME_WAIT: Int32 = 4
    let TIME_ERROR: Int32 = 5
    let STA_PLL: Int32 = 0x0001, STA_UNSYNC: Int32 = 0x0040, STA_CLOCKERR: Int32 = 0x1000

    @Test func stateNamesFollowTheKernel() {
        #expect([TIME_OK, TIME_INS, TIME_DEL, TIME_OOP, TIME_WAIT, TIME_ERROR].map(ClockSynchronisation.stateName)
            == ["TIME_OK", "TIME_INS", "TIME_DEL", "TIME_OOP", "TIME_WAIT", "TIME_ERROR"])
    }

    @Test func timeOKWithoutUnsyncIsSynchronised() {
        let reading = ClockSynchronisation(clockState: TIME_OK, status: STA_PLL, estimatedErrorMicroseconds: 120, maximumErrorMicroseconds: 4500)
        #expect(reading.synchronised)
        #expect(reading.causes.isEmpty)
        #expect(reading.description == "synchronised (estimated error 120 us, maximum error 4500 us)")
    }

    @Test func leapSecondStatesAreStillSynchronised() {
        for state in [TIME_INS, TIME_DEL, TIME_OOP, TIME_WAIT] {
            let reading = ClockSynchronisation(clockState: state, status: STA_PLL, estimatedErrorMicroseconds: 1, maximumErrorMicroseconds: 2)
            #expect(reading.synchronised, "\(ClockSynchronisation.stateName(state))")
        }
    }

    @Test func timeErrorWithUnsyncIsNotSynchronised() {
        let reading = ClockSynchronisation(clockState: TIME_ERROR, status: STA_UNSYNC,
                                           estimatedErrorMicroseconds: 16_000, maximumErrorMicroseconds: 16_000_000)
        #expect(!reading.synchronised)
        #expect(reading.causes == ["adjtimex TIME_ERROR", "STA_UNSYNC"])
        #expect(reading.description
            == "not synchronised (adjtimex TIME_ERROR, STA_UNSYNC; estimated error 16000 us, maximum error 16000000 us)")
    }

    @Test func eitherSignAloneMeansNotSynchronised() {
        let unsyncOnly = ClockSynchronisation(clockState: TIME_OK, status: STA_UNSYNC | STA_PLL,
                                              estimatedErrorMicroseconds: 0, maximumErrorMicroseconds: 0)
        #expect(!unsyncOnly.synchronised)
        #expect(unsyncOnly.causes == ["STA_UNSYNC"])

        let errorOnly = ClockSynchronisation(clockState: TIME_ERROR, status: 0, estimatedErrorMicroseconds: 0, maximumErrorMicroseconds: 0)
        #expect(!errorOnly.synchronised)
        #expect(errorOnly.causes == ["adjtimex TIME_ERROR"])

        let clockError = ClockSynchronisation(clockState: TIME_OK, status: STA_CLOCKERR, estimatedErrorMicroseconds: 0, maximumErrorMicroseconds: 0)
        #expect(!clockError.synchronised)
        #expect(clockError.causes == ["STA_CLOCKERR"])
    }

    @Test func otherStatusBitsDoNotMatter() {
        for bit in 0..<16 where Int32(1 << bit) != STA_UNSYNC && Int32(1 << bit) != STA_CLOCKERR {
            let reading = ClockSynchronisation(clockState: TIME_OK, status: Int32(1 << bit), estimatedErrorMicroseconds: 0, maximumErrorMicroseconds: 0)
            #expect(reading.synchronised, "status bit \(bit)")
        }
    }

    @Test func theSystemCallAgreesWithAnIndependentReading() throws {
        // struct timex on 64-bit Linux: modes (u32, padded), offset, freq, maxerror, esterror
        // (longs), status (int) at offset 40; 208 bytes in all.
        let script = """
            import ctypes, json, struct
            libc = ctypes.CDLL(None, use_errno=True)
            buffer = ctypes.create_string_buffer(208)
            state = libc.adjtimex(buffer)
            _, _, _, maxerror, esterror, status = struct.unpack_from("=I4xqqqqi", buffer, 0)
            print(json.dumps({"state": state, "errno": ctypes.get_errno(), "status": status,
                              "maxerror": maxerror, "esterror": esterror}))
            """
        let before = try ClockSynchronisation.read()
        let output = try IndependentPython.run(script)
        let after = try ClockSynchronisation.read()
        struct Reading: Decodable { var state: Int32; var errno: Int32; var status: Int32; var maxerror: Int64; var esterror: Int64 }
        let python = try JSONDecoder().decode(Reading.self, from: Data(output.utf8))
        #expect(python.state >= 0, "python's adjtimex failed with errno \(python.errno)")

        let independent = ClockSynchronisation(clockState: python.state, status: python.status,
                                               estimatedErrorMicroseconds: python.esterror, maximumErrorMicroseconds: python.maxerror)
        // A time daemon may update the clock between readings: python must agree with at
        // least one of the two readings around it.
        let agrees = [before, after].contains { (ours: ClockSynchronisation) -> Bool in
            let sameState = ours.clockState == python.state && ours.status == python.status
            let sameVerdict = ours.synchronised == independent.synchronised
            let estimatedClose = abs(ours.estimatedErrorMicroseconds - python.esterror) <= 100_000
            let maximumClose = abs(ours.maximumErrorMicroseconds - python.maxerror) <= 100_000
            return sameState && sameVerdict && estimatedClose && maximumClose
        }
        #expect(agrees, "ours \(before) / \(after), python \(independent) (status \(python.status))")
    }
}
