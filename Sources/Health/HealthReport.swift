/// One named check of a /healthz or /readyz document.
public struct HealthCheck: Equatable, Sendable {
    public var name: String
    public var passed: Bool
    /// What was found, for a person: "connected to 127.0.0.1:1883", "not synchronised (...)".
    public var reason: String

    public init(name: String, passed: Bool, reason: String) {
        self.name = name
        self.passed = passed
        self.reason = reason
    }

    public static func pass(_ name: String, _ reason: String) -> HealthCheck { HealthCheck(name: name, passed: true, reason: reason) }
    public static func fail(_ name: String, _ reason: String) -> HealthCheck { HealthCheck(name: name, passed: false, reason: reason) }
}

/// The body of /healthz and /readyz: HTTP 200 when every check passes, 503 otherwise.
///
/// Format (text/plain, UTF-8), one line per check in the order given:
///
///     ok broker: connected to 127.0.0.1:1883
///     fail clock: not synchronised (adjtimex TIME_ERROR, STA_UNSYNC; estimated error 16000 us, maximum error 16000000 us)
///
/// i.e. `ok` or `fail`, a space, the check's name, a colon and a space, the reason, `\n`.
/// Line breaks inside a name or reason become spaces so one check is always one line and
/// `grep ^fail` finds every failure. No checks means healthy: status 200, empty body.
public struct HealthReport: Equatable, Sendable {
    public var checks: [HealthCheck]

    public init(_ checks: [HealthCheck] = []) { self.checks = checks }

    public mutating func add(_ check: HealthCheck) { checks.append(check) }

    public var allPassed: Bool {
        for check in checks where !check.passed { return false }
        return true
    }

    public var status: Int { allPassed ? 200 : 503 }

    public var body: String {
        var text = ""
        for check in checks {
            text += "\(check.passed ? "ok" : "fail") \(HealthReport.oneLine(check.name)): \(HealthReport.oneLine(check.reason))\n"
        }
        return text
    }

    public var response: HealthResponse { HealthResponse(status: status, body: body) }

    private static func oneLine(_ text: String) -> String {
        var bytes: [UInt8] = []
        for byte in text.utf8 { bytes.append(byte == 10 || byte == 13 ? 32 : byte) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
