import Platform

/// HL7 v2 text: the delimiters every message of the agent declares in MSH-1 and MSH-2, the
/// escaping of text put between them, and the timestamp format (DTM).
public enum HL7Delimiter {
    public static let field: UInt8 = UInt8(ascii: "|")
    public static let component: UInt8 = UInt8(ascii: "^")
    public static let repetition: UInt8 = UInt8(ascii: "~")
    public static let escape: UInt8 = UInt8(ascii: "\\")
    public static let subcomponent: UInt8 = UInt8(ascii: "&")
    public static let segmentEnd: UInt8 = 0x0D
    /// MSH-2 as the agent writes it.
    public static let encodingCharacters = "^~\\&"
}

/// `text` made safe for one HL7 component: each delimiter becomes its escape sequence
/// (\F\ \S\ \T\ \R\ \E\), and every control character (a carriage return would end the
/// segment, 0x0B and 0x1C would break the MLLP frame) becomes a hexadecimal escape \Xhh\.
public func hl7Escaped(_ text: String) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count)
    for byte in text.utf8 {
        switch byte {
        case HL7Delimiter.field: appendEscape(UInt8(ascii: "F"), to: &bytes)
        case HL7Delimiter.component: appendEscape(UInt8(ascii: "S"), to: &bytes)
        case HL7Delimiter.subcomponent: appendEscape(UInt8(ascii: "T"), to: &bytes)
        case HL7Delimiter.repetition: appendEscape(UInt8(ascii: "R"), to: &bytes)
        case HL7Delimiter.escape: appendEscape(UInt8(ascii: "E"), to: &bytes)
        case 0..<0x20, 0x7F:
            bytes.append(HL7Delimiter.escape)
            bytes.append(UInt8(ascii: "X"))
            bytes.append(hexDigit(byte >> 4))
            bytes.append(hexDigit(byte & 0xF))
            bytes.append(HL7Delimiter.escape)
        default: bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The reverse of `hl7Escaped` for text received (an ACK's reason): known escapes are
/// replaced, anything else after an escape character is kept as it is.
public func hl7Unescaped(_ bytes: ArraySlice<UInt8>) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var index = bytes.startIndex
    while index < bytes.endIndex {
        let byte = bytes[index]
        guard byte == HL7Delimiter.escape,
              let close = bytes[(index + 1)...].firstIndex(of: HL7Delimiter.escape) else {
            out.append(byte)
            index += 1
            continue
        }
        let body = bytes[(index + 1)..<close]
        if body.count == 1 {
            switch body.first! {
            case UInt8(ascii: "F"): out.append(HL7Delimiter.field)
            case UInt8(ascii: "S"): out.append(HL7Delimiter.component)
            case UInt8(ascii: "T"): out.append(HL7Delimiter.subcomponent)
            case UInt8(ascii: "R"): out.append(HL7Delimiter.repetition)
            case UInt8(ascii: "E"): out.append(HL7Delimiter.escape)
            default: out.append(contentsOf: bytes[index...close])
            }
        } else if body.count == 3, body.first == UInt8(ascii: "X"),
                  let high = hexValue(body[body.startIndex + 1]), let low = hexValue(body[body.startIndex + 2]) {
            out.append(high << 4 | low)
        } else {
            out.append(contentsOf: bytes[index...close])
        }
        index = close + 1
    }
    return String(decoding: out, as: UTF8.self)
}

/// Components of one field: each escaped, joined with `^`, empty trailing components left out.
public func hl7Components(_ parts: [String]) -> String {
    var count = parts.count
    while count > 0 && parts[count - 1].isEmpty { count -= 1 }
    var text = ""
    for index in 0..<count {
        if index > 0 { text += "^" }
        text += hl7Escaped(parts[index])
    }
    return text
}

/// One segment under construction: fields are set by their HL7 number (OBX-5 is `set(5, ...)`)
/// as already encoded text (use `hl7Escaped` / `hl7Components`); empty trailing fields are left out.
public struct HL7Segment {
    public let id: String
    private var fields: [String] = []

    public init(_ id: String) { self.id = id }

    public mutating func set(_ number: Int, _ encoded: String) {
        while fields.count < number { fields.append("") }
        fields[number - 1] = encoded
    }

    public var text: String {
        var count = fields.count
        while count > 0 && fields[count - 1].isEmpty { count -= 1 }
        var text = id
        for index in 0..<count {
            text += "|"
            text += fields[index]
        }
        return text
    }
}

/// The MSH segment's own numbering: MSH-1 is the field separator itself and MSH-2 the
/// encoding characters, so the first field written after them is MSH-3.
public struct HL7Header {
    private var segment = HL7Segment("MSH")

    public init() {}

    public mutating func set(_ number: Int, _ encoded: String) {
        precondition(number >= 3, "MSH-1 and MSH-2 are the delimiters")
        segment.set(number - 1, encoded)
    }

    public var text: String {
        var body = segment
        body.set(1, HL7Delimiter.encodingCharacters)
        return body.text
    }
}

/// Segments joined into one message, each ended by a carriage return.
public func hl7Message(_ segments: [String]) -> String {
    var text = ""
    for segment in segments {
        text += segment
        text += "\r"
    }
    return text
}

/// HL7 DTM in UTC with milliseconds, "20261124084001.002+0000".
public func hl7Timestamp(millisecondsSinceEpoch ms: Int64) -> String {
    var rfc3339: [UInt8] = []
    appendUTCTimestamp(millisecondsSinceEpoch: ms, to: &rfc3339)
    var out: [UInt8] = []
    out.reserveCapacity(23)
    for byte in rfc3339 {
        switch byte {
        case UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "T"), UInt8(ascii: "Z"): continue
        default: out.append(byte)
        }
    }
    out.append(contentsOf: "+0000".utf8)
    return String(decoding: out, as: UTF8.self)
}

private func appendEscape(_ letter: UInt8, to bytes: inout [UInt8]) {
    bytes.append(HL7Delimiter.escape)
    bytes.append(letter)
    bytes.append(HL7Delimiter.escape)
}

private func hexDigit(_ value: UInt8) -> UInt8 {
    value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    default: return nil
    }
}
