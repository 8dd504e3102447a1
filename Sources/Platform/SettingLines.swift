/// The lines of a small line-based settings file (credentials, users): numbered from 1, a
/// trailing CR removed, blank lines and `#` comments left out.
public func settingLines(_ bytes: [UInt8]) -> [(number: Int, text: [UInt8])] {
    var lines: [(number: Int, text: [UInt8])] = []
    var number = 0
    for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        number += 1
        var line = Array(rawLine)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
        lines.append((number, line))
    }
    return lines
}
