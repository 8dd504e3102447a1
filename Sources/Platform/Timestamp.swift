/// Formats milliseconds since the Unix epoch as RFC 3339 UTC with milliseconds,
/// e.g. "2026-11-24T08:40:01.002Z". Pure arithmetic (civil-from-days), no libc time zone.
public func formatUTCTimestamp(millisecondsSinceEpoch ms: Int64) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(24)
    appendUTCTimestamp(millisecondsSinceEpoch: ms, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}

/// The same text as `formatUTCTimestamp`, appended to `bytes`: no String in between, so a
/// caller that reuses its buffer formats a timestamp without allocating.
public func appendUTCTimestamp(millisecondsSinceEpoch ms: Int64, to bytes: inout [UInt8]) {
    let millis = Int(((ms % 1000) + 1000) % 1000)
    let totalSeconds = (ms - Int64(millis)) / 1000
    var days = Int(totalSeconds / 86_400)
    var secondsOfDay = Int(totalSeconds % 86_400)
    if secondsOfDay < 0 { secondsOfDay += 86_400; days -= 1 }

    // Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)

    appendPadded(year, 4, to: &bytes)
    bytes.append(UInt8(ascii: "-"))
    appendPadded(month, 2, to: &bytes)
    bytes.append(UInt8(ascii: "-"))
    appendPadded(day, 2, to: &bytes)
    bytes.append(UInt8(ascii: "T"))
    appendPadded(secondsOfDay / 3600, 2, to: &bytes)
    bytes.append(UInt8(ascii: ":"))
    appendPadded(secondsOfDay / 60 % 60, 2, to: &bytes)
    bytes.append(UInt8(ascii: ":"))
    appendPadded(secondsOfDay % 60, 2, to: &bytes)
    bytes.append(UInt8(ascii: "."))
    appendPadded(millis, 3, to: &bytes)
    bytes.append(UInt8(ascii: "Z"))
}

/// Decimal digits of `value`, zero-padded to `width` (a year before 1000 or after 9999 keeps
/// its sign and all its digits, as the String version did).
private func appendPadded(_ value: Int, _ width: Int, to bytes: inout [UInt8]) {
    if value < 0 || value >= 10_000 {
        var text = String(value)
        while text.utf8.count < width { text = "0" + text }
        bytes.append(contentsOf: text.utf8)
        return
    }
    var divisor = 1
    for _ in 1..<width { divisor *= 10 }
    while divisor > 1 && value >= divisor * 10 { divisor *= 10 }
    var remaining = value
    while divisor > 0 {
        bytes.append(UInt8(ascii: "0") + UInt8(remaining / divisor))
        remaining %= divisor
        divisor /= 10
    }
}
