import CShims

/// The kernel's view of whether the wall clock is disciplined by NTP (chrony, ntpd,
/// systemd-timesyncd), as `adjtimex(2)` reports it. Charts order samples by wall-clock
/// time, so a box whose clock is not synchronised must show up in its health checks.
public struct ClockSynchronisation: Equatable, Sendable, CustomStringConvertible {
    /// True when the kernel considers the clock synchronised: adjtimex did not return
    /// TIME_ERROR and neither STA_UNSYNC nor STA_CLOCKERR is set in `status`.
    public var synchronised: Bool
    /// adjtimex's return value: TIME_OK (0) ... TIME_ERROR (5).
    public var clockState: Int32
    /// `timex.status`, the STA_* bits.
    public var status: Int32
    /// `timex.esterror`: the time daemon's estimate of the clock error, microseconds.
    public var estimatedErrorMicroseconds: Int64
    /// `timex.maxerror`: the bound on the error; the kernel grows it by 500 ppm between
    /// daemon updates and caps it at 16 s, microseconds.
    public var maximumErrorMicroseconds: Int64

    /// The pure interpretation of one adjtimex reading, kept apart from the system call so
    /// tests can feed it every combination of the kernel's constants.
    public init(clockState: Int32, status: Int32, estimatedErrorMicroseconds: Int64, maximumErrorMicroseconds: Int64) {
        self.clockState = clockState
        self.status = status
        self.estimatedErrorMicroseconds = estimatedErrorMicroseconds
        self.maximumErrorMicroseconds = maximumErrorMicroseconds
        // TIME_ERROR alone is enough: the kernel returns it for STA_UNSYNC, STA_CLOCKERR and
        // PPS faults. The status bits are checked too so a reading is judged the same way
        // whichever of the two a caller (or an older kernel) supplies.
        synchronised = clockState != TIME_ERROR && clockState >= 0
            && status & STA_UNSYNC == 0 && status & STA_CLOCKERR == 0
    }

    /// Reads the kernel's clock state without changing anything (`modes = 0` needs no privilege).
    public static func read() throws(SystemError) -> ClockSynchronisation {
        var reading = timex()
        reading.modes = 0
        let state = adjtimex(&reading)
        if state < 0 { throw SystemError("adjtimex", "(read clock synchronisation)") }
        return ClockSynchronisation(clockState: state, status: reading.status,
                                    estimatedErrorMicroseconds: Int64(reading.esterror),
                                    maximumErrorMicroseconds: Int64(reading.maxerror))
    }

    /// The name of an adjtimex return value, as in `man 2 adjtimex`.
    public static func stateName(_ state: Int32) -> String {
        switch state {
        case TIME_OK: return "TIME_OK"
        case TIME_INS: return "TIME_INS"
        case TIME_DEL: return "TIME_DEL"
        case TIME_OOP: return "TIME_OOP"
        case TIME_WAIT: return "TIME_WAIT"
        case TIME_ERROR: return "TIME_ERROR"
        default: return "state \(state)"
        }
    }

    /// What made the reading unsynchronised, e.g. ["adjtimex TIME_ERROR", "STA_UNSYNC"].
    public var causes: [String] {
        var causes: [String] = []
        if clockState == TIME_ERROR || clockState < 0 { causes.append("adjtimex \(ClockSynchronisation.stateName(clockState))") }
        if status & STA_UNSYNC != 0 { causes.append("STA_UNSYNC") }
        if status & STA_CLOCKERR != 0 { causes.append("STA_CLOCKERR") }
        return causes
    }

    /// One line for a health check, e.g. "synchronised (estimated error 120 us, maximum error
    /// 4500 us)" or "not synchronised (adjtimex TIME_ERROR, STA_UNSYNC; estimated error
    /// 16000 us, maximum error 16000000 us)".
    public var description: String {
        let errors = "estimated error \(estimatedErrorMicroseconds) us, maximum error \(maximumErrorMicroseconds) us"
        if synchronised { return "synchronised (\(errors))" }
        var causeList = ""
        for cause in causes { causeList += causeList.isEmpty ? cause : ", " + cause }
        return "not synchronised (\(causeList); \(errors))"
    }
}
