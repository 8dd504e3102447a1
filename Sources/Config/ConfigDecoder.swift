import RegisterMaps

/// A value in the file together with its key path and where its key was written: a missing
/// value has no text of its own to point at, so its errors point at the key.
struct Field {
    var node: YAMLNode
    var path: String
    var line: Int
    var column: Int

    init(node: YAMLNode, path: String, line: Int, column: Int) {
        self.node = node
        self.path = path
        self.line = line
        self.column = column
    }

    init(pair: YAMLPair, parentPath: String) {
        self.init(node: pair.value, path: parentPath.isEmpty ? pair.key : parentPath + "." + pair.key,
                  line: pair.keyLine, column: pair.keyColumn)
    }
}

/// The keys of one mapping in the file, already checked against the keys the schema allows.
struct MappingFields {
    var path: String
    var line: Int
    var column: Int
    var pairs: [YAMLPair]

    func optional(_ key: String) -> Field? {
        for pair in pairs where pair.key == key { return Field(pair: pair, parentPath: path) }
        return nil
    }
}

enum IntegerText: Equatable {
    case value(Int)
    case outOfRange
    case notAnInteger
}

/// Checks a YAML tree against the configuration schema. It never stops at the first problem:
/// every check reports into `errors` and returns nil, and decoding carries on with the rest.
final class ConfigDecoder {
    let file: String
    private(set) var errors: [ConfigError] = []

    init(file: String) { self.file = file }

    func report(line: Int, column: Int, path: String, _ message: String) {
        errors.append(ConfigError(file: file, line: line, column: column, keyPath: path, message: message))
    }

    /// Problems with a value point at the value itself.
    func report(_ field: Field, _ message: String) {
        report(line: field.node.line, column: field.node.column, path: field.path, message)
    }

    // MARK: The schema

    func decodeRoot(_ root: YAMLNode?) -> GatewayConfig? {
        guard let root, !root.isNull else {
            report(line: 1, column: 1, path: "", "the file is empty")
            return nil
        }
        let rootField = Field(node: root, path: "", line: root.line, column: root.column)
        guard let settings = mapping(rootField, expected: "a mapping of settings (site, box, mqtt, sampling, beds)",
                                     allowedKeys: ["site", "box", "mqtt", "sampling", "beds"]) else { return nil }

        let site = required(settings, "site").flatMap { id($0) }
        let box = required(settings, "box").flatMap { id($0) }
        let mqtt = required(settings, "mqtt").flatMap { decodeMQTT($0, site: site ?? "", box: box ?? "") }
        let sampling = decodeSampling(settings.optional("sampling"))
        let beds = required(settings, "beds").flatMap { decodeBeds($0) }

        guard let site, let box, let mqtt, let sampling, let beds, errors.isEmpty else { return nil }
        return GatewayConfig(site: site, box: box, mqtt: mqtt, sampling: sampling, beds: beds)
    }

    private func decodeMQTT(_ field: Field, site: String, box: String) -> MQTTSettings? {
        guard let mqtt = mapping(field, expected: "a mapping with the MQTT broker settings",
                                 allowedKeys: ["host", "port", "client_id", "keepalive_s", "topic_prefix"])
        else { return nil }
        let host = required(mqtt, "host").flatMap { self.host($0) }
        let port = optionalInteger(mqtt, "port", in: 1...65535, default: 1883)
        let clientID = optionalString(mqtt, "client_id", default: "bedside-gateway-\(site)-\(box)") { Self.clientIDProblem($0) }
        let keepalive = optionalInteger(mqtt, "keepalive_s", in: 5...3600, default: 30)
        let topicPrefix = optionalString(mqtt, "topic_prefix", default: "bedside/\(site)/\(box)") { Self.topicPrefixProblem($0) }
        guard let host, let port, let clientID, let keepalive, let topicPrefix else { return nil }
        return MQTTSettings(host: host, port: port, clientID: clientID, keepaliveSeconds: keepalive, topicPrefix: topicPrefix)
    }

    private func decodeSampling(_ field: Field?) -> SamplingSettings? {
        let defaultInterval = 1000
        // An empty `sampling:` (every line commented out) means "all defaults", not a mistake.
        guard let field, !field.node.isNull else { return SamplingSettings(intervalMilliseconds: defaultInterval) }
        guard let sampling = mapping(field, expected: "a mapping with the sampling settings", allowedKeys: ["interval_ms"])
        else { return nil }
        guard let interval = optionalInteger(sampling, "interval_ms", in: 10...60000, default: defaultInterval)
        else { return nil }
        return SamplingSettings(intervalMilliseconds: interval)
    }

    private struct FirstUse {
        var path: String
        var line: Int
    }

    private var bedIDs: [String: FirstUse] = [:]
    private var deviceIDs: [String: FirstUse] = [:]

    private func decodeBeds(_ field: Field) -> [BedConfig]? {
        guard let items = sequence(field, expected: "a list of beds", emptyMessage: "the list is empty; add at least one bed")
        else { return nil }
        var beds: [BedConfig] = []
        var complete = true
        for item in items {
            if let bed = decodeBed(item) { beds.append(bed) } else { complete = false }
        }
        return complete ? beds : nil
    }

    private func decodeBed(_ field: Field) -> BedConfig? {
        guard let bed = mapping(field, expected: "a mapping with the bed's id and devices", allowedKeys: ["id", "devices"])
        else { return nil }
        let id = required(bed, "id").flatMap { idField in
            self.id(idField).flatMap {
                unique($0, idField, owner: field.path, among: &bedIDs, what: "bed id", scope: "among the beds")
            }
        }
        let devices = required(bed, "devices").flatMap { decodeDevices($0) }
        guard let id, let devices else { return nil }
        return BedConfig(id: id, devices: devices)
    }

    private func decodeDevices(_ field: Field) -> [DeviceConfig]? {
        guard let items = sequence(field, expected: "a list of devices",
                                   emptyMessage: "the list is empty; add at least one device")
        else { return nil }
        var devices: [DeviceConfig] = []
        var complete = true
        for item in items {
            if let device = decodeDevice(item) { devices.append(device) } else { complete = false }
        }
        return complete ? devices : nil
    }

    private func decodeDevice(_ field: Field) -> DeviceConfig? {
        guard let device = mapping(field, expected: "a mapping with the device's settings",
                                   allowedKeys: ["id", "profile", "tcp", "unit_id", "response_timeout_ms"])
        else { return nil }
        let id = required(device, "id").flatMap { idField in
            self.id(idField).flatMap {
                unique($0, idField, owner: field.path, among: &deviceIDs, what: "device id", scope: "across all beds")
            }
        }
        let profile = required(device, "profile").flatMap { self.profile($0) }
        let endpoint = required(device, "tcp").flatMap { decodeTCP($0) }
        let unitID = optionalInteger(device, "unit_id", in: 0...247, default: 1)
        let timeout = optionalInteger(device, "response_timeout_ms", in: 10...10000, default: 500)
        guard let id, let profile, let endpoint, let unitID, let timeout else { return nil }
        return DeviceConfig(id: id, profile: profile, endpoint: endpoint, unitID: unitID,
                            responseTimeoutMilliseconds: timeout)
    }

    private func decodeTCP(_ field: Field) -> DeviceEndpoint? {
        guard let tcp = mapping(field, expected: "a mapping with the device's host and port", allowedKeys: ["host", "port"])
        else { return nil }
        let host = required(tcp, "host").flatMap { self.host($0) }
        let port = optionalInteger(tcp, "port", in: 1...65535, default: 502)
        guard let host, let port else { return nil }
        return .tcp(host: host, port: port)
    }

    // MARK: Node kinds

    func mapping(_ field: Field, expected: String, allowedKeys: [String]) -> MappingFields? {
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

    func sequence(_ field: Field, expected: String, emptyMessage: String) -> [Field]? {
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
    private func scalarText(_ field: Field, expected: String, defaultHint: String? = nil) -> (text: String, quoted: Bool)? {
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

    private func reportWrongKind(_ field: Field, expected: String, defaultHint: String? = nil) {
        if field.node.isNull {
            var message = "missing value (expected \(expected)"
            if let defaultHint { message += "; remove the line to use the default, \(defaultHint)" }
            report(line: field.line, column: field.column, path: field.path, message + ")")
        } else {
            report(field, "expected \(expected), found \(describe(field.node))")
        }
    }

    private func describe(_ node: YAMLNode) -> String {
        switch node.content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .invalid: return "an alias"
        case .scalar(let text, let quoted): return quoted ? "a quoted string \(quote(text))" : quote(text)
        }
    }

    // MARK: Scalars

    func required(_ mapping: MappingFields, _ key: String) -> Field? {
        if let field = mapping.optional(key) { return field }
        let message = mapping.path.isEmpty ? "missing required top-level key '\(key)'" : "missing required key '\(key)'"
        report(line: mapping.line, column: mapping.column, path: mapping.path, message)
        return nil
    }

    func integer(_ field: Field, in range: ClosedRange<Int>, defaultHint: String? = nil) -> Int? {
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

    private func optionalInteger(_ mapping: MappingFields, _ key: String, in range: ClosedRange<Int>, default value: Int) -> Int? {
        guard let field = mapping.optional(key) else { return value }
        return integer(field, in: range, defaultHint: "\(value)")
    }

    /// An optional string setting; `problem` returns why a value is unacceptable, or nil.
    private func optionalString(_ mapping: MappingFields, _ key: String, default value: String,
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
    static func parseInteger(_ text: String) -> IntegerText {
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

    func string(_ field: Field, expected: String) -> String? {
        scalarText(field, expected: expected)?.text
    }

    func id(_ field: Field) -> String? {
        guard let text = string(field, expected: "an id") else { return nil }
        if let problem = Self.idProblem(text) {
            report(field, "invalid id \(quote(text)) (\(problem)): use 1 to 64 ASCII letters, digits, '-', '_' or '.'; "
                + "ids are opaque labels that go into MQTT topics, so no '/', '+', '#' or spaces, and never a patient's name")
            return nil
        }
        return text
    }

    static func idProblem(_ text: String) -> String? {
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

    private func unique(_ id: String, _ field: Field, owner: String, among used: inout [String: FirstUse],
                        what: String, scope: String) -> String? {
        if let first = used[id] {
            report(field, "duplicate \(what) \(quote(id)) (\(first.path) at line \(first.line) already uses it); \(what)s must be unique \(scope)")
            return nil
        }
        used[id] = FirstUse(path: owner, line: field.node.line)
        return id
    }

    private func host(_ field: Field) -> String? {
        guard let text = string(field, expected: "a host name or IP address") else { return nil }
        if text.isEmpty {
            report(field, "the host is empty (expected a host name or IP address)")
            return nil
        }
        if let bad = Self.firstSpaceOrControl(text) {
            report(field, "invalid host \(quote(text)) (contains \(Self.describeCharacter(bad))): expected a host name or IP address")
            return nil
        }
        return text
    }

    private func profile(_ field: Field) -> String? {
        guard let name = string(field, expected: "a device profile name") else { return nil }
        if BuiltinProfiles.named(name) == nil {
            var names: [String] = []
            for profile in BuiltinProfiles.all { names.append(profile.name) }
            report(field, "unknown device profile \(quote(name)) (built-in profiles: \(names.joined(separator: ", ")))")
            return nil
        }
        return name
    }

    static func clientIDProblem(_ text: String) -> String? {
        let length = text.unicodeScalars.count
        if length < 1 || length > 128 {
            return "invalid client id \(quote(text)) (it is \(length) characters long): use 1 to 128 characters without spaces"
        }
        if let bad = firstSpaceOrControl(text) {
            return "invalid client id \(quote(text)) (contains \(describeCharacter(bad))): use 1 to 128 characters without spaces"
        }
        return nil
    }

    static func topicPrefixProblem(_ text: String) -> String? {
        let reason: String
        if text.isEmpty {
            reason = "it is empty"
        } else if text.utf8.contains(UInt8(ascii: "+")) || text.utf8.contains(UInt8(ascii: "#")) {
            reason = "it contains the MQTT wildcard '+' or '#'"
        } else if text.utf8.first == UInt8(ascii: "/") || text.utf8.last == UInt8(ascii: "/") {
            reason = "it starts or ends with '/'"
        } else if containsEmptyLevel(text) {
            reason = "it has an empty level ('//')"
        } else if let bad = firstControl(text) {
            reason = "it contains \(describeCharacter(bad))"
        } else {
            return nil
        }
        return "invalid topic prefix \(quote(text)) (\(reason)): use levels separated by single '/', like \"bedside/clinic-a/edge-01\""
    }

    private static func containsEmptyLevel(_ text: String) -> Bool {
        var previousWasSlash = false
        for byte in text.utf8 {
            let isSlash = byte == UInt8(ascii: "/")
            if isSlash && previousWasSlash { return true }
            previousWasSlash = isSlash
        }
        return false
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0)
    }

    private static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    private static func firstSpaceOrControl(_ text: String) -> Unicode.Scalar? {
        for scalar in text.unicodeScalars where isSpace(scalar) || isControl(scalar) { return scalar }
        return nil
    }

    private static func firstControl(_ text: String) -> Unicode.Scalar? {
        for scalar in text.unicodeScalars where isControl(scalar) { return scalar }
        return nil
    }

    static func describeCharacter(_ scalar: Unicode.Scalar) -> String {
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
func quote(_ text: String) -> String {
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
