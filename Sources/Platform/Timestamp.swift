/// Formats milliseconds since the Unix epoch as RFC 3339 UTC with milliseconds,
/// e.g. "2026-11-24T08:40:01.002Z". Pure arithmetic (civil-from-days), no libc time zone.
public func formatUTCTimestamp(millisecondsSinceEpoch ms: Int64) -> String {
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

    return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))T"
        + "\(padded(secondsOfDay / 3600, 2)):\(padded(secondsOfDay / 60 % 60, 2)):\(padded(secondsOfDay % 60, 2))"
        + ".\(padded(millis, 3))Z"
}

func padded(_ value: Int, _ width: Int) -> String {
    var text = String(value)
    while text.utf8.count < width { text = "0" + text }
    return text
}
