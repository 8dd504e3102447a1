/// Builds compact JSON text by appending to one buffer: no intermediate tree, no reflection,
/// so it works unchanged in Embedded Swift.
public struct JSONWriter {
    public private(set) var text: String = ""
    /// Per open container: whether its next element is the first (no comma before it).
    private var nextIsFirst: [Bool] = []
    private var valueFollowsKey = false

    public init() {}

    public mutating func beginObject() { beforeValue(); text += "{"; nextIsFirst.append(true) }
    public mutating func endObject() { text += "}"; nextIsFirst.removeLast() }
    public mutating func beginArray() { beforeValue(); text += "["; nextIsFirst.append(true) }
    public mutating func endArray() { text += "]"; nextIsFirst.removeLast() }

    /// Writes a member name; the next call writes its value.
    public mutating func key(_ name: String) {
        separateFromPrevious()
        appendQuoted(name)
        text += ":"
        valueFollowsKey = true
    }

    public mutating func string(_ value: String) { beforeValue(); appendQuoted(value) }
    public mutating func integer(_ value: Int) { beforeValue(); text += String(value) }
    public mutating func integer(_ value: Int64) { beforeValue(); text += String(value) }
    public mutating func bool(_ value: Bool) { beforeValue(); text += value ? "true" : "false" }
    public mutating func null() { beforeValue(); text += "null" }
    /// A number already rendered as JSON (see `formatDecimal`).
    public mutating func rawNumber(_ literal: String) { beforeValue(); text += literal }
    /// A value (object, array, ...) already written as JSON by another writer.
    public mutating func rawValue(_ json: String) { beforeValue(); text += json }

    public mutating func member(_ name: String, _ value: String) { key(name); string(value) }
    public mutating func member(_ name: String, _ value: Int) { key(name); integer(value) }
    public mutating func member(_ name: String, _ value: Int64) { key(name); integer(value) }
    public mutating func member(_ name: String, _ value: Bool) { key(name); bool(value) }

    private mutating func beforeValue() {
        if valueFollowsKey {
            valueFollowsKey = false
        } else {
            separateFromPrevious()
        }
    }

    private mutating func separateFromPrevious() {
        guard let isFirst = nextIsFirst.last else { return }
        if !isFirst { text += "," }
        nextIsFirst[nextIsFirst.count - 1] = false
    }

    private mutating func appendQuoted(_ value: String) {
        text += "\""
        // Names, units and ids almost never need escaping: append them whole.
        var needsEscaping = false
        for byte in value.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            needsEscaping = true
            break
        }
        if !needsEscaping {
            text += value
            text += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if scalar.value < 0x20 {
                    text += "\\u00"
                    text += hexDigit(scalar.value >> 4)
                    text += hexDigit(scalar.value & 0xF)
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }

    private func hexDigit(_ value: UInt32) -> String {
        let digits: [String] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        return digits[Int(value)]
    }
}

/// Renders `value` with exactly `decimals` places, rounding half away from zero, without
/// going through Double's shortest-representation printing (which gives "38.50000001"-style
/// noise for scaled register values).
public func formatDecimal(_ value: Double, decimals: Int) -> String {
    var bytes: [UInt8] = []
    JSONBytes.appendDecimal(value, decimals: decimals, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}
