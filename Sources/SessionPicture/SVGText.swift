import JSON

/// Text that goes into the SVG document: escaped for XML, numbers without locale.
public enum SVGText {
    /// `text` as XML character data or attribute value: the five markup characters as
    /// entities, and the characters XML 1.0 does not allow at all (controls other than tab,
    /// line feed and carriage return; U+FFFE, U+FFFF) replaced by U+FFFD, since no escape
    /// makes them legal.
    public static func escaped(_ text: String) -> String {
        var needsWork = false
        for byte in text.utf8 where byte < 0x20 || byte == 0x26 || byte == 0x3C || byte == 0x3E || byte == 0x22 || byte == 0x27
            || byte == 0xEF {
            needsWork = true
            break
        }
        if !needsWork { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    result += "\u{FFFD}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// A coordinate or value with at most `decimals` places and no trailing zeros: "12",
    /// "12.5", never "12.50" or a locale's comma.
    public static func number(_ value: Double, decimals: Int = 1) -> String {
        var text = formatDecimal(value, decimals: decimals)
        if text.utf8.contains(UInt8(ascii: ".")) {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        if text == "-0" { return "0" }
        return text
    }

    /// About how wide `text` is drawn, in pixels, at `fontSize` in DejaVu Sans (the page's
    /// first font): enough to keep labels apart without font metrics.
    public static func estimatedWidth(_ text: String, fontSize: Double) -> Double {
        var count = 0
        for _ in text.unicodeScalars { count += 1 }
        return Double(count) * fontSize * 0.6
    }
}
