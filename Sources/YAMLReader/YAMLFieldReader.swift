/// A value in the file together with its key path and where its key was written: a missing
/// value has no text of its own to point at, so its errors point at the key.
public struct Field {
    public var node: YAMLNode
    public var path: String
    public var line: Int
    public var column: Int

    public init(node: YAMLNode, path: String, line: Int, column: Int) {
        self.node = node
        self.path = path
        self.line = line
        self.column = column
    }

    public init(pair: YAMLPair, parentPath: String) {
        self.init(node: pair.value, path: parentPath.isEmpty ? pair.key : parentPath + "." + pair.key,
                  line: pair.keyLine, column: pair.keyColumn)
    }
}

/// The keys of one mapping in the file, already checked against the keys the schema allows.
public struct MappingFields {
    public var path: String
    public var line: Int
    public var column: Int
    public var pairs: [YAMLPair]

    public func optional(_ key: String) -> Field? {
        for pair in pairs where pair.key == key { return Field(pair: pair, parentPath: path) }
        return nil
    }
}

/// What a decimal integer in the file reads as.
public enum IntegerText: Equatable {
    case value(Int)
    case outOfRange
    case notAnInteger
}

/// Reads fields of a YAML tree against a schema and collects every problem, positioned at the
/// line and column to fix. It never stops at the first problem: every check reports into
/// `errors` and returns nil, and decoding carries on with the rest. A schema (the agent's
/// configuration, device and board profiles) is a subclass or an extension of it.
open class YAMLFieldReader {
    /// The file being read, as messages name it; relative paths in it are resolved from its directory.
    public let file: String
    public private(set) var errors: [ConfigError] = []

    public init(file: String) { self.file = file }

    public final func report(line: Int, column: Int, path: String, _ message: String) {
        errors.append(ConfigError(file: file, line: line, column: column, keyPath: path, message: message))
    }

    public final func report(line: Int, column: Int, path: String, file: String, _ message: String) {
        errors.append(ConfigError(file: file, line: line, column: column, keyPath: path, message: message))
    }

    /// Problems found in a file this one names, already positioned in that file.
    public final func record(_ found: [ConfigError]) { errors += found }

    /// Problems with a value point at the value itself.
    public final func report(_ field: Field, _ message: String) {
        report(line: field.node.line, column: field.node.column, path: field.path, message)
    }

    /// Where a value was first used, for messages about a second use.
    public struct FirstUse {
        public var path: String
        public var line: Int

        public init(path: String, line: Int) {
            self.path = path
            self.line = line
        }
    }

    // MARK: Node kinds

    public final func mapping(_ field: Field, expected: String, allowedKeys: [String]) -> MappingFields? {
        switch field.node.content {
        case .invalid:
            return nil
        case .mapping(let pairs):
            let fields = MappingFields(path: field.path, line: field.node.line, column: field.node.column, pairs: pairs)
            for pair in pairs where !allowedKeys.contains(pair.key) {
                report(line: pair.keyLine, column: pair.keyColumn, path: Field(pair: pair, parentPath: field.path).path,
                       "unknown key (expected one of: \(allowedKeys.joined(separator: ", ")))")
            }
            return fields
        case .scalar, .sequence:
            reportWrongKind(field, expected: expected)
            return nil
        }
    }

    public final func sequence(_ field: Field, expected: String, emptyMessage: String) -> [Field]? {
        switch field.node.content {
        case .invalid:
            return nil
        case .sequence(let nodes):
            if nodes.isEmpty {
                report(field, emptyMessage)
                return nil
            }
            var items: [Field] = []
            for (index, node) in nodes.enumerated() {
                items.append(Field(node: node, path: "\(field.path)[\(index)]", line: node.line, column: node.column))
            }
            return items
        case .scalar, .mapping:
            reportWrongKind(field, expected: expected)
            return nil
        }
    }

    /// The text of a scalar, or nil after reporting a null or a list/mapping in its place.
    public final func scalarText(_ field: Field, expected: String, defaultHint: String? = nil) -> (text: String, quoted: Bool)? {
        switch field.node.content {
        case .invalid:
            return nil
        case .scalar(let text, let quoted):
            if field.node.isNull {
                reportWrongKind(field, expected: expected, defaultHint: defaultHint)
                return nil
            }
            return (text, quoted)
        case .sequence, .mapping:
            reportWrongKind(field, expected: expected)
            return nil
        }
    }

    public final func reportWrongKind(_ field: Field, expected: String, defaultHint: String? = nil) {
        if field.node.isNull {
            var message = "missing value (expected \(expected)"
            if let defaultHint { message += "; remove the line to use the default, \(defaultHint)" }
            report(line: field.line, column: field.column, path: field.path, message + ")")
        } else {
            report(field, "expected \(expected), found \(describe(field.node))")
        }
    }

    public final func describe(_ node: YAMLNode) -> String {
        switch node.content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .invalid: return "an alias"
        case .scalar(let text, let quoted): return quoted ? "a quoted string \(quote(text))" : quote(text)
        }
    }

    // MARK: Scalars

    public final func required(_ mapping: MappingFields, _ key: String) -> Field? {
        if let field = mapping.optional(key) { return field }
        let message = mapping.path.isEmpty ? "missing required top-level key '\(key)'" : "missing required key '\(key)'"
        report(line: mapping.line, column: mapping.column, path: mapping.path, message)
        return nil
    }

    public final func integer(_ field: Field, in range: ClosedRange<Int>, defaultHint: String? = nil) -> Int? {
        guard let scalar = scalarText(field, expected: "an integer", defaultHint: defaultHint) else { return nil }
        let text = scalar.text
        if scalar.quoted {
            report(field, "expected an integer, found a quoted string \(quote(text)) (write numbers without quotes)")
            return nil
        }
        switch Self.parseInteger(text) {
        case .value(let value) where range.contains(value):
            return value
        case .value, .outOfRange:
            report(field, "\(text) is out of range (\(range.lowerBound)...\(range.upperBound))")
        case .notAnInteger:
            report(field, "expected an integer, found \(quote(text))")
        }
        return nil
    }

    public final func optionalInteger(_ mapping: MappingFields, _ key: String, in range: ClosedRange<Int>, default value: Int) -> Int? {
        guard let field = mapping.optional(key) else { return value }
        return integer(field, in: range, defaultHint: "\(value)")
    }

    /// An optional string setting; `problem` returns why a value is unacceptable, or nil.
    public final func optionalString(_ mapping: MappingFields, _ key: String, default value: String,
                                _ problem: (String) -> String?) -> String? {
        guard let field = mapping.optional(key) else { return value }
        guard let text = scalarText(field, expected: "a string", defaultHint: quote(value))?.text else { return nil }
        if let problem = problem(text) {
            report(field, problem)
            return nil
        }
        return text
    }

    /// Decimal digits with an optional leading '-', parsed by hand so that no input can trap on overflow.
    public static func parseInteger(_ text: String) -> IntegerText {
        var negative = false
        var sawDigit = false
        var overflowed = false
        var value = 0
        for (index, byte) in text.utf8.enumerated() {
            if index == 0 && byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return .notAnInteger }
            sawDigit = true
            if overflowed { continue }  // keep scanning: "99999999999999999999x" is still not a number
            let digit = Int(byte - UInt8(ascii: "0"))
            let (shifted, shiftOverflow) = value.multipliedReportingOverflow(by: 10)
            // Accumulate negatives downwards so Int.min itself stays representable.
            let (next, addOverflow) = negative ? shifted.subtractingReportingOverflow(digit)
                                               : shifted.addingReportingOverflow(digit)
            if shiftOverflow || addOverflow { overflowed = true } else { value = next }
        }
        if !sawDigit { return .notAnInteger }
        return overflowed ? .outOfRange : .value(value)
    }

    public final func string(_ field: Field, expected: String) -> String? {
        scalarText(field, expected: expected)?.text
    }

    public final func id(_ field: Field) -> String? {
        guard let text = string(field, expected: "an id") else { return nil }
        if let problem = Self.idProblem(text) {
            report(field, "invalid id \(quote(text)) (\(problem)): use 1 to 64 ASCII letters, digits, '-', '_' or '.'; "
                + "ids are opaque labels that go into MQTT topics, so no '/', '+', '#' or spaces, and never a patient's name")
            return nil
        }
        return text
    }

    public static func idProblem(_ text: String) -> String? {
        if text.isEmpty { return "it is empty" }
        for scalar in text.unicodeScalars {
            let isLetterOrDigit = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z")
                || (scalar >= "0" && scalar <= "9")
            if !isLetterOrDigit && scalar != "-" && scalar != "_" && scalar != "." {
                return "contains \(describeCharacter(scalar))"
            }
        }
        let length = text.utf8.count  // only ASCII is left, so bytes are characters
        if length > 64 { return "it is \(length) characters long" }
        return nil
    }

    public final func unique(_ id: String, _ field: Field, owner: String, among used: inout [String: FirstUse],
                        what: String, scope: String) -> String? {
        if let first = used[id] {
            report(field, "duplicate \(what) \(quote(id)) (\(first.path) at line \(first.line) already uses it); \(what)s must be unique \(scope)")
            return nil
        }
        used[id] = FirstUse(path: owner, line: field.node.line)
        return id
    }

    /// `path` as written in `configFile`: absolute paths as they are, relative ones from the
    /// directory the configuration file is in.
    public static func resolve(_ path: String, relativeTo configFile: String) -> String {
        if path.utf8.first == UInt8(ascii: "/") { return path }
        var lastSlash: String.Index? = nil
        var index = configFile.startIndex
        while index < configFile.endIndex {
            if configFile[index] == "/" { lastSlash = index }
            index = configFile.index(after: index)
        }
        guard let lastSlash else { return path }
        return String(configFile[...lastSlash]) + path
    }

    // MARK: Names, choices, booleans and numbers

    /// A name that goes into messages and topics: the same characters as an id.
    public final func name(_ field: Field, what: String) -> String? {
        guard let text = string(field, expected: "a \(what)") else { return nil }
        if let problem = Self.idProblem(text) {
            report(field, "invalid \(what) \(quote(text)) (\(problem)): use 1 to 64 ASCII letters, digits, '-', '_' or '.'")
            return nil
        }
        return text
    }

    /// One of a fixed set of words.
    public final func choice(_ field: Field, _ options: [String], what: String, defaultHint: String? = nil) -> String? {
        guard let scalar = scalarText(field, expected: "a \(what) (\(options.joined(separator: ", ")))", defaultHint: defaultHint)
        else { return nil }
        if options.contains(scalar.text) { return scalar.text }
        report(field, "unknown \(what) \(quote(scalar.text)) (expected one of: \(options.joined(separator: ", ")))")
        return nil
    }

    /// One of an enumeration's raw values.
    public final func choice<T: RawRepresentable & CaseIterable>(_ field: Field, of type: T.Type, what: String,
                                                    defaultHint: String? = nil) -> T? where T.RawValue == String {
        var options: [String] = []
        for value in T.allCases { options.append(value.rawValue) }
        return choice(field, options, what: what, defaultHint: defaultHint).flatMap { T(rawValue: $0) }
    }

    public final func boolean(_ field: Field, defaultHint: String? = nil) -> Bool? {
        guard let scalar = scalarText(field, expected: "true or false", defaultHint: defaultHint) else { return nil }
        if !scalar.quoted {
            switch scalar.text {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        report(field, "expected true or false, found \(describe(field.node))")
        return nil
    }

    /// A decimal number such as 1, -3, 0.1 or 2.5e-3; parsed with `Double(String)` after a strict
    /// check of its characters, so hex, "nan", "inf" and "1_000" are refused, never guessed at.
    public final func number(_ field: Field, defaultHint: String? = nil) -> Double? {
        guard let scalar = scalarText(field, expected: "a number", defaultHint: defaultHint) else { return nil }
        let text = scalar.text
        if scalar.quoted {
            report(field, "expected a number, found a quoted string \(quote(text)) (write numbers without quotes)")
            return nil
        }
        guard Self.isDecimalNumber(text), let value = Double(text) else {
            report(field, "expected a number, found \(quote(text))")
            return nil
        }
        guard value.isFinite else {
            report(field, "\(text) is too large for a number")
            return nil
        }
        return value
    }

    /// [+-]digits[.digits][(e|E)[+-]digits], with digits on at least one side of the point.
    public static func isDecimalNumber(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        func digits(_ bytes: inout ArraySlice<UInt8>) -> Int {
            var count = 0
            while let first = bytes.first, isDigit(first) {
                bytes.removeFirst()
                count += 1
            }
            return count
        }
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { bytes.removeFirst() }
        var mantissa = digits(&bytes)
        if bytes.first == UInt8(ascii: ".") {
            bytes.removeFirst()
            mantissa += digits(&bytes)
        }
        if mantissa == 0 { return false }
        if let first = bytes.first, first == UInt8(ascii: "e") || first == UInt8(ascii: "E") {
            bytes.removeFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { bytes.removeFirst() }
            if digits(&bytes) == 0 { return false }
        }
        return bytes.isEmpty
    }

    // MARK: Paths and refused keys

    /// A file path setting: relative to this configuration file's directory, or absolute; no spaces.
    public final func pathSetting(_ field: Field, what: String) -> String? {
        guard let text = string(field, expected: "the path of the \(what)") else { return nil }
        if text.isEmpty {
            report(field, "the path is empty (expected the path of the \(what))")
            return nil
        }
        if let bad = Self.firstSpaceOrControl(text) {
            report(field, "invalid path \(quote(text)) (contains \(Self.describeCharacter(bad))): expected the path of the \(what), without spaces")
            return nil
        }
        return Self.resolve(text, relativeTo: file)
    }

    /// Reports each key of `refused` present in a mapping with its own message, and returns the
    /// mapping without them, so the usual check of the remaining keys does not report them again.
    public final func refusing(_ field: Field, _ refused: [String: String]) -> (field: Field, refusedSome: Bool) {
        guard case .mapping(let pairs) = field.node.content else { return (field, false) }
        var kept: [YAMLPair] = []
        for pair in pairs {
            if let message = refused[pair.key] {
                report(line: pair.keyLine, column: pair.keyColumn, path: Field(pair: pair, parentPath: field.path).path, message)
            } else {
                kept.append(pair)
            }
        }
        if kept.count == pairs.count { return (field, false) }
        var trimmed = field
        trimmed.node.content = .mapping(kept)
        return (trimmed, true)
    }

    // MARK: Characters


    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0)
    }

    public static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    public static func firstSpaceOrControl(_ text: String) -> Unicode.Scalar? {
        for scalar in text.unicodeScalars where isSpace(scalar) || isControl(scalar) { return scalar }
        return nil
    }

    public static func firstControl(_ text: String) -> Unicode.Scalar? {
        for scalar in text.unicodeScalars where isControl(scalar) { return scalar }
        return nil
    }

    public static func describeCharacter(_ scalar: Unicode.Scalar) -> String {
        if scalar == " " { return "a space" }
        if scalar == "\t" { return "a tab" }
        if isSpace(scalar) || isControl(scalar) { return "the invisible character U+\(hex(scalar.value, digits: 4))" }
        var character = ""
        character.unicodeScalars.append(scalar)
        return "'\(character)'"
    }
}


/// Shows text from the file on one line, escaped and shortened, so a stray newline or a
/// pasted paragraph cannot garble the error message.
public func quote(_ text: String) -> String {
    let limit = 40
    var result = "\""
    var count = 0
    for scalar in text.unicodeScalars {
        if count == limit {
            result += "..."
            break
        }
        count += 1
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += "\\u{\(hex(scalar.value, digits: 1))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
