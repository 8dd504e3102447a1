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

/// Milliseconds since the Unix epoch of an RFC 3339 UTC time, `2026-12-03T13:16:13Z` or with a
/// fraction of 1 to 9 digits (`…13.250Z`); nil for anything else (another offset, a space
/// instead of `T`, an impossible date).
public func parseUTCTimestamp(_ text: String) -> Int64? {
    let bytes = Array(text.utf8)
    guard bytes.count >= 20, bytes.count <= 30 else { return nil }
    func digits(_ start: Int, _ count: Int) -> Int? {
        var value = 0
        for index in start..<(start + count) {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
    guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
          bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[bytes.count - 1] == UInt8(ascii: "Z"),
          let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
          let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2)
    else { return nil }
    guard (1...12).contains(month), day >= 1, day <= daysInMonth(month, year: year),
          hour < 24, minute < 60, second <= 60  // 60: a leap second, as RFC 3339 allows
    else { return nil }

    var milliseconds = 0
    if bytes.count > 20 {
        // ".d" to ".ddddddddd" between the seconds and the Z; digits past milliseconds are dropped.
        let fractionDigits = bytes.count - 21
        guard bytes[19] == UInt8(ascii: "."), fractionDigits >= 1, fractionDigits <= 9,
              let fraction = digits(20, fractionDigits) else { return nil }
        var scaled = fraction
        var count = fractionDigits
        while count < 3 { scaled *= 10; count += 1 }
        while count > 3 { scaled /= 10; count -= 1 }
        milliseconds = scaled
    } else if bytes[19] != UInt8(ascii: "Z") {
        return nil
    }
    let days = Int64(daysSinceEpoch(year: year, month: month, day: day))
    let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    return seconds * 1000 + Int64(milliseconds)
}

private func daysInMonth(_ month: Int, year: Int) -> Int {
    switch month {
    case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days-from-civil, the
/// inverse of `appendUTCTimestamp`'s): years start on 1 March, so the leap day ends its year.
private func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
    let marchYear = month <= 2 ? year - 1 : year
    let era = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
    let yearOfEra = marchYear - era * 400
    let monthFromMarch = month > 2 ? month - 3 : month + 9
    let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}
