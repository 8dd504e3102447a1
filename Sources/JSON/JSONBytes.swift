/// JSON pieces appended to a byte buffer the caller keeps: a message written this way into a
/// reused buffer costs no allocation once the buffer has grown to its size.
public enum JSONBytes {
    /// Appends the bytes of a literal (keys, punctuation).
    public static func append(_ literal: StaticString, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends `value` as a quoted JSON string, escaped where JSON requires it.
    public static func appendString(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"", to: &bytes)
            case UInt8(ascii: "\\"): append("\\\\", to: &bytes)
            case UInt8(ascii: "\n"): append("\\n", to: &bytes)
            case UInt8(ascii: "\r"): append("\\r", to: &bytes)
            case UInt8(ascii: "\t"): append("\\t", to: &bytes)
            case 0..<0x20:
                append("\\u00", to: &bytes)
                bytes.append(hexDigit(byte >> 4))
                bytes.append(hexDigit(byte & 0xF))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, to: &bytes)
    }

    /// Appends `value` with exactly `decimals` places, rounding half away from zero, or
    /// `null` when it is not finite or too large to be exact: the text `formatDecimal` gives.
    public static func appendDecimal(_ value: Double, decimals: Int, to bytes: inout [UInt8]) {
        guard value.isFinite else { append("null", to: &bytes); return }
        var factor: Double = 1
        for _ in 0..<max(0, decimals) { factor *= 10 }
        let scaled = (value * factor).rounded(.toNearestOrAwayFromZero)
        guard abs(scaled) < 9.0e15 else { append("null", to: &bytes); return }
        let integer = Int64(scaled)
        if integer < 0 { bytes.append(UInt8(ascii: "-")) }
        let start = bytes.count
        appendDigits(integer.magnitude, to: &bytes)
        guard decimals > 0 else { return }
        // Zero-pad to at least one digit before the point, then insert the point.
        let digits = bytes.count - start
        if digits <= decimals {
            for _ in 0..<(decimals + 1 - digits) { bytes.insert(UInt8(ascii: "0"), at: start) }
        }
        bytes.insert(UInt8(ascii: "."), at: bytes.count - decimals)
    }

    private static func appendDigits(_ value: UInt64, to bytes: inout [UInt8]) {
        let start = bytes.count
        var remaining = value
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(remaining % 10))
            remaining /= 10
        } while remaining > 0
        // Reversed in place by index: reversing the slice would copy it.
        var low = start
        var high = bytes.count - 1
        while low < high {
            bytes.swapAt(low, high)
            low += 1
            high -= 1
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
