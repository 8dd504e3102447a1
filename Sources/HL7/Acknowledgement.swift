/// MSA-1, the acknowledgment code of an HL7 ACK: original mode (AA, AE, AR) or enhanced
/// mode's commit level (CA, CE, CR).
public enum HL7AckCode: Sendable, Equatable {
    case applicationAccept
    case applicationError
    case applicationReject
    case commitAccept
    case commitError
    case commitReject

    public init?(code: String) {
        switch code {
        case "AA": self = .applicationAccept
        case "AE": self = .applicationError
        case "AR": self = .applicationReject
        case "CA": self = .commitAccept
        case "CE": self = .commitError
        case "CR": self = .commitReject
        default: return nil
        }
    }

    public var code: String {
        switch self {
        case .applicationAccept: return "AA"
        case .applicationError: return "AE"
        case .applicationReject: return "AR"
        case .commitAccept: return "CA"
        case .commitError: return "CE"
        case .commitReject: return "CR"
        }
    }

    /// The receiver has the message: it may be deleted.
    public var isAccepted: Bool { self == .applicationAccept || self == .commitAccept }
    /// The receiver could not process it this time (AE, CE): worth sending again later.
    public var isError: Bool { self == .applicationError || self == .commitError }
    /// The receiver refuses the message itself (AR, CR): sending it again gives the same answer.
    public var isReject: Bool { self == .applicationReject || self == .commitReject }
}

/// What an ACK says about one message.
public struct HL7Acknowledgement: Sendable, Equatable {
    public var code: HL7AckCode
    /// MSA-2: the MSH-10 of the message acknowledged.
    public var controlID: String
    /// Why, for AE/AR/CE/CR: MSA-3, else ERR-8 (user message), else ERR-3's text, else empty.
    public var reason: String

    public init(code: HL7AckCode, controlID: String, reason: String) {
        self.code = code
        self.controlID = controlID
        self.reason = reason
    }
}

public struct HL7AckError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "not an HL7 acknowledgment: \(reason)" }
}

/// Reads an ACK (the content of one MLLP frame). The delimiters are the ones its own MSH
/// declares; segments may end in CR, LF or CR LF. Longest text kept: 512 bytes per field read.
public func parseHL7Acknowledgement(_ bytes: [UInt8]) throws(HL7AckError) -> HL7Acknowledgement {
    guard bytes.count >= 8, bytes[0] == UInt8(ascii: "M"), bytes[1] == UInt8(ascii: "S"), bytes[2] == UInt8(ascii: "H") else {
        throw HL7AckError("it does not start with an MSH segment")
    }
    let fieldSeparator = bytes[3]
    let componentSeparator = bytes[4]
    guard fieldSeparator != componentSeparator, !isSegmentEnd(fieldSeparator), !isSegmentEnd(componentSeparator) else {
        throw HL7AckError("MSH declares unusable delimiters")
    }
    var msa: [ArraySlice<UInt8>]? = nil
    var err: [ArraySlice<UInt8>]? = nil
    for segment in bytes.split(whereSeparator: isSegmentEnd) {
        guard segment.count >= 3 else { continue }
        let fields = segment.split(separator: fieldSeparator, omittingEmptySubsequences: false)
        let name = fields[0]
        if name.elementsEqual("MSA".utf8) && msa == nil { msa = Array(fields) }
        if name.elementsEqual("ERR".utf8) && err == nil { err = Array(fields) }
    }
    guard let msa else { throw HL7AckError("it has no MSA segment") }
    let codeText = msa.count > 1 ? String(decoding: msa[1].prefix(2), as: UTF8.self) : ""
    guard msa.count > 1, msa[1].count == 2, let code = HL7AckCode(code: codeText) else {
        throw HL7AckError("MSA-1 is not one of AA, AE, AR, CA, CE, CR")
    }
    guard msa.count > 2, !msa[2].isEmpty else { throw HL7AckError("MSA-2 (the control id acknowledged) is empty") }
    let controlID = hl7Unescaped(msa[2].prefix(512))
    var reason = msa.count > 3 ? hl7Unescaped(msa[3].prefix(512)) : ""
    if reason.isEmpty, let err {
        if err.count > 8 { reason = hl7Unescaped(firstComponent(err[8], separator: componentSeparator).prefix(512)) }
        if reason.isEmpty, err.count > 3 {
            let components = err[3].split(separator: componentSeparator, omittingEmptySubsequences: false)
            if components.count > 1 { reason = hl7Unescaped(components[1].prefix(512)) }
            if reason.isEmpty, let first = components.first { reason = hl7Unescaped(first.prefix(512)) }
        }
    }
    return HL7Acknowledgement(code: code, controlID: controlID, reason: reason)
}

private func isSegmentEnd(_ byte: UInt8) -> Bool { byte == 0x0D || byte == 0x0A }

private func firstComponent(_ field: ArraySlice<UInt8>, separator: UInt8) -> ArraySlice<UInt8> {
    if let end = field.firstIndex(of: separator) { return field[field.startIndex..<end] }
    return field
}

/// MSH-10 (the message control id) of a message, read with the delimiters its own MSH declares;
/// nil when it has no MSH or an empty MSH-10. The ACK to the message names this id in MSA-2.
public func hl7ControlID(_ message: [UInt8]) -> String? {
    guard message.count >= 8, message[0] == UInt8(ascii: "M"), message[1] == UInt8(ascii: "S"), message[2] == UInt8(ascii: "H")
    else { return nil }
    let separator = message[3]
    let header = message.prefix { !isSegmentEnd($0) }
    // MSH-1 is the separator itself, so MSH-10 is the 10th piece after splitting on it.
    let pieces = header.split(separator: separator, omittingEmptySubsequences: false)
    guard pieces.count > 9, !pieces[9].isEmpty else { return nil }
    return hl7Unescaped(pieces[9].prefix(512))
}
