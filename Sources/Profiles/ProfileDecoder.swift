import RegisterMaps
import YAMLReader

/// A profile's name and where it was written, so a collision between two files can point at both.
public struct ProfileName {
    public var text: String
    public var line: Int
    public var column: Int
}

/// A decoded point with where its settings were written, for the checks across points.
private struct PointDraft {
    var point: Point
    var path: String
    var line: Int
    var addressField: Field
}

/// A point name used by a sensor-off bit, checked once every point is known.
private struct PointReference {
    var name: String
    var field: Field
}

extension YAMLFieldReader {
    static let profileKeys = ["name", "summary", "largest_gap", "points"]
    static let pointKeys = ["name", "function", "address", "type", "word_order", "scale", "offset", "decimals",
                            "unit", "mdc", "mdc_code", "range", "poll_interval_ms", "bits"]
    static let bitKeys = ["name", "bit", "meaning", "points"]
    static let bitMeanings = ["sensor-off", "device-alarm", "technical-fault", "status"]

    /// Checks one device profile file (see Deploy/profiles/example-monitor.yaml). Returns the
    /// profile when it is complete, and its name whenever the name itself was readable.
    public func decodeProfile(_ root: YAMLNode?) -> (profile: DeviceProfile?, name: ProfileName?) {
        guard let root, !root.isNull else {
            report(line: 1, column: 1, path: "", "the file is empty (expected a device profile: name, points)")
            return (nil, nil)
        }
        let rootField = Field(node: root, path: "", line: root.line, column: root.column)
        guard let settings = mapping(rootField, expected: "a device profile: a mapping with name, summary, largest_gap and points",
                                     allowedKeys: Self.profileKeys)
        else { return (nil, nil) }

        var name: ProfileName? = nil
        var nameIsFree = false
        if let nameField = required(settings, "name"), let text = self.name(nameField, what: "profile name") {
            name = ProfileName(text: text, line: nameField.node.line, column: nameField.node.column)
            if BuiltinProfiles.named(text) != nil {
                report(nameField, "\(quote(text)) is the name of a built-in profile; choose another name")
            } else {
                nameIsFree = true
            }
        }
        var summary: String? = ""
        if let summaryField = settings.optional("summary") {
            summary = scalarText(summaryField, expected: "a string", defaultHint: "\"\"")?.text
        }
        let largestGap = optionalInteger(settings, "largest_gap", in: 0...1998, default: 0)

        var drafts: [PointDraft] = []
        var complete = true
        var pointNames: [String: FirstUse] = [:]
        var allNames: [String: FirstUse] = [:]
        var references: [PointReference] = []
        if let pointsField = required(settings, "points"),
           let items = sequence(pointsField, expected: "a list of points", emptyMessage: "the list is empty; add at least one point") {
            for item in items {
                if let draft = decodePoint(item, pointNames: &pointNames, allNames: &allNames, references: &references) {
                    drafts.append(draft)
                } else {
                    complete = false
                }
            }
        } else {
            complete = false
        }

        // Each register (or bit) belongs to one point.
        for (index, draft) in drafts.enumerated() {
            let point = draft.point
            for earlier in drafts[..<index] where earlier.point.function == point.function {
                let other = earlier.point
                if point.address < other.address + other.itemCount && other.address < point.address + point.itemCount {
                    report(draft.addressField, "\(point.function.rawValue) \(Self.span(point)) overlap point "
                        + "\(quote(other.name)) (\(earlier.path) at line \(earlier.line) occupies \(Self.span(other))); "
                        + "each register belongs to one point")
                    complete = false
                    break
                }
            }
        }
        for reference in references where pointNames[reference.name] == nil {
            var known: [String] = []
            for (text, _) in pointNames { known.append(text) }
            known.sort { pointNames[$0]!.line < pointNames[$1]!.line || (pointNames[$0]!.line == pointNames[$1]!.line && $0 < $1) }
            report(reference.field, "no point named \(quote(reference.name)) in this profile"
                + (known.isEmpty ? "" : " (points: \(known.joined(separator: ", ")))"))
            complete = false
        }

        guard let name, nameIsFree, let summary, let largestGap, complete else { return (nil, name) }
        var points: [Point] = []
        for draft in drafts { points.append(draft.point) }
        return (DeviceProfile(name: name.text, summary: summary, points: points, largestGap: largestGap), name)
    }

    /// "9" or "9...10": the addresses a point occupies.
    private static func span(_ point: Point) -> String {
        point.itemCount == 1 ? "\(point.address)" : "\(point.address)...\(point.address + point.itemCount - 1)"
    }

    private func decodePoint(_ field: Field, pointNames: inout [String: FirstUse], allNames: inout [String: FirstUse],
                             references: inout [PointReference]) -> PointDraft? {
        guard let map = mapping(field, expected: "a mapping with the point's settings", allowedKeys: Self.pointKeys)
        else { return nil }
        var name: String? = nil
        if let nameField = required(map, "name"), let text = self.name(nameField, what: "point name") {
            pointNames[text] = pointNames[text] ?? FirstUse(path: field.path, line: nameField.node.line)
            name = uniqueName(text, nameField, owner: field.path, among: &allNames)
        }
        let functionField = required(map, "function")
        let function = functionField.flatMap { choice($0, of: ModbusFunction.self, what: "function") }
        let addressField = required(map, "address")
        let address = addressField.flatMap { integer($0, in: 0...65535) }
        let typeField = map.optional("type")
        var type: PointType? = .uint16
        if let typeField { type = choice(typeField, of: PointType.self, what: "type", defaultHint: "uint16") }
        var wordOrder: WordOrder? = .abcd
        if let orderField = map.optional("word_order") {
            wordOrder = choice(orderField, of: WordOrder.self, what: "word order", defaultHint: "abcd")
        }
        var scale: Double? = 1
        if let scaleField = map.optional("scale") {
            scale = number(scaleField, defaultHint: "1")
            if scale == 0 {
                report(scaleField, "a scale of 0 turns every reading into the offset; use a nonzero scale")
                scale = nil
            }
        }
        var offset: Double? = 0
        if let offsetField = map.optional("offset") { offset = number(offsetField, defaultHint: "0") }
        let decimals = optionalInteger(map, "decimals", in: 0...6, default: 0)
        let unit = required(map, "unit").flatMap { self.unit($0) }
        var mdcName: String? = ""
        if let mdcField = map.optional("mdc") { mdcName = mdc(mdcField) }
        var mdcCode: Int?? = .some(nil)
        if let codeField = map.optional("mdc_code") {
            mdcCode = integer(codeField, in: 1...4_294_967_295).map { .some($0) }
        }
        var range: ClosedRange<Double>?? = .some(nil)
        if let rangeField = map.optional("range") { range = validRange(rangeField).map { .some($0) } }
        var pollInterval: Int?? = .some(nil)
        if let intervalField = map.optional("poll_interval_ms") {
            pollInterval = integer(intervalField, in: 10...86_400_000).map { .some($0) }
        }

        var typeFits = true
        if let function, let type {
            if function.isBitTable && type != .bool {
                // Point at the type if it was written, else at the table that cannot hold the default.
                let at = typeField ?? functionField!
                report(at, "\(Self.article(type)) \(type.rawValue) does not fit in \(function.rawValue), which hold single bits: "
                    + "use type bool, or holding-registers or input-registers for a register value")
                typeFits = false
            }
            if let address, let addressField, typeFits {
                let last = address + (function.isBitTable ? 1 : type.width) - 1
                if last > 65535 {
                    report(addressField, "\(Self.article(type)) \(type.rawValue) at address \(address) needs addresses "
                        + "\(address)...\(last), past the last address 65535")
                    typeFits = false
                }
            }
        }

        var bitFields: [BitField]? = []
        if let bitsField = map.optional("bits") {
            bitFields = decodeBits(bitsField, type: type, owner: field.path, allNames: &allNames, references: &references)
        }

        guard let name, let function, let address, let addressField, let type, let wordOrder, let scale, let offset,
              let decimals, let unit, let mdcName, let mdcCode, let range, let pollInterval, let bitFields, typeFits
        else { return nil }
        let point = Point(name: name, function: function, address: address, type: type, wordOrder: wordOrder,
                          scale: scale, offset: offset, decimals: decimals, unit: unit, mdcName: mdcName,
                          mdcCode: mdcCode, validRange: range ?? Self.representableRange(type, scale: scale, offset: offset),
                          pollIntervalMilliseconds: pollInterval, bitFields: bitFields)
        return PointDraft(point: point, path: field.path, line: field.node.line, addressField: addressField)
    }

    /// Every value the type can carry after scale and offset: the valid range when none is given.
    static func representableRange(_ type: PointType, scale: Double, offset: Double) -> ClosedRange<Double> {
        let a = finite(type.rawRange.lowerBound * scale + offset)
        let b = finite(type.rawRange.upperBound * scale + offset)
        return min(a, b)...max(a, b)
    }

    private static func finite(_ value: Double) -> Double {
        if value.isNaN { return 0 }
        return max(-Double.greatestFiniteMagnitude, min(Double.greatestFiniteMagnitude, value))
    }

    private static func article(_ type: PointType) -> String {
        type == .int16 || type == .int32 || type == .int64 ? "an" : "a"
    }

    private func decodeBits(_ field: Field, type: PointType?, owner: String, allNames: inout [String: FirstUse],
                            references: inout [PointReference]) -> [BitField]? {
        guard let items = sequence(field, expected: "a list of bit fields", emptyMessage: "the list is empty; remove 'bits' or name at least one bit")
        else { return nil }
        if let type, type.isFloatingPoint {
            report(line: field.line, column: field.column, path: field.path,
                   "bit fields need an integer type, not \(type.rawValue) (a status word is usually uint16)")
            return nil
        }
        var fields: [BitField] = []
        var complete = true
        var usedBits: [Int: String] = [:]
        for item in items {
            guard let map = mapping(item, expected: "a mapping with the bit's name, bit and meaning", allowedKeys: Self.bitKeys)
            else {
                complete = false
                continue
            }
            var name: String? = nil
            if let nameField = required(map, "name"), let text = self.name(nameField, what: "bit name") {
                name = uniqueName(text, nameField, owner: item.path, among: &allNames)
            }
            var bit: Int? = nil
            if let bitField = required(map, "bit"), let number = integer(bitField, in: 0...63) {
                if let type, number >= type.bitCount {
                    report(bitField, "bit \(number) is beyond \(Self.article(type)) \(type.rawValue), which has "
                        + (type.bitCount == 1 ? "only bit 0" : "bits 0...\(type.bitCount - 1)"))
                } else if let first = usedBits[number] {
                    report(bitField, "bit \(number) is already named \(quote(first)) in \(owner).bits")
                } else {
                    bit = number
                    if let name { usedBits[number] = name }
                }
            }
            let meaningField = required(map, "meaning")
            let keyword = meaningField.flatMap { choice($0, Self.bitMeanings, what: "meaning") }
            var meaning: BitMeaning? = nil
            let pointsField = map.optional("points")
            switch keyword {
            case "sensor-off":
                if let pointsField {
                    if let names = pointNameList(pointsField, references: &references) { meaning = .sensorOff(points: names) }
                } else {
                    report(line: map.line, column: map.column, path: map.path,
                           "missing required key 'points' (the points that are sensor-off while the bit is set)")
                }
            case "device-alarm": meaning = .deviceAlarm
            case "technical-fault": meaning = .technicalFault
            case "status": meaning = .status
            default: break
            }
            if let keyword, keyword != "sensor-off", let pointsField {
                report(line: pointsField.line, column: pointsField.column, path: pointsField.path,
                       "'points' only applies to meaning sensor-off (this bit's meaning is \(keyword))")
                meaning = nil
            }
            if let name, let bit, let meaning {
                fields.append(BitField(name: name, bit: bit, meaning: meaning))
            } else {
                complete = false
            }
        }
        return complete ? fields : nil
    }

    private func pointNameList(_ field: Field, references: inout [PointReference]) -> [String]? {
        guard let items = sequence(field, expected: "a list of point names",
                                   emptyMessage: "the list is empty; name the points that are sensor-off while the bit is set")
        else { return nil }
        var names: [String] = []
        var complete = true
        for item in items {
            if let text = string(item, expected: "a point name") {
                names.append(text)
                references.append(PointReference(name: text, field: item))
            } else {
                complete = false
            }
        }
        return complete ? names : nil
    }

    /// A point or bit name: unique among all point and bit names of the profile.
    private func uniqueName(_ name: String, _ field: Field, owner: String, among used: inout [String: FirstUse]) -> String? {
        if let first = used[name] {
            report(field, "duplicate name \(quote(name)) (\(first.path) at line \(first.line) already uses it); "
                + "point and bit names must be unique within the profile")
            return nil
        }
        used[name] = FirstUse(path: owner, line: field.node.line)
        return name
    }

    private func validRange(_ field: Field) -> ClosedRange<Double>? {
        guard case .sequence(let nodes) = field.node.content else {
            _ = sequence(field, expected: "[low, high]", emptyMessage: "")
            return nil
        }
        guard nodes.count == 2 else {
            report(field, "expected [low, high], found a list of \(nodes.count) value\(nodes.count == 1 ? "" : "s")")
            return nil
        }
        let lowField = Field(node: nodes[0], path: field.path + "[0]", line: nodes[0].line, column: nodes[0].column)
        let highField = Field(node: nodes[1], path: field.path + "[1]", line: nodes[1].line, column: nodes[1].column)
        let low = number(lowField)
        let high = number(highField)
        guard let low, let high else { return nil }
        if low > high {
            report(field, "the range is empty: the low value (\(scalarOrEmpty(nodes[0]))) is above the high value "
                + "(\(scalarOrEmpty(nodes[1]))); write [low, high]")
            return nil
        }
        return low...high
    }

    private func scalarOrEmpty(_ node: YAMLNode) -> String {
        if case .scalar(let text, _) = node.content { return text }
        return ""
    }

    /// A UCUM code: printable, no spaces (UCUM has none), e.g. "mm[Hg]", "{beat}/min", "1".
    private func unit(_ field: Field) -> String? {
        guard let text = string(field, expected: "a UCUM unit, like \"mL/h\" or \"mm[Hg]\"") else { return nil }
        var problem: String? = nil
        if text.isEmpty {
            problem = "it is empty"
        } else if let bad = Self.firstSpaceOrControl(text) {
            problem = "contains \(Self.describeCharacter(bad))"
        } else if text.utf8.count > 64 {
            problem = "it is \(text.utf8.count) characters long"
        }
        if let problem {
            report(field, "invalid unit \(quote(text)) (\(problem)): use a UCUM code such as \"mL/h\", \"mm[Hg]\" or \"1\" (dimensionless)")
            return nil
        }
        return text
    }

    /// An IEEE 11073-10101 reference id: MDC_ then capitals, digits and '_'.
    private func mdc(_ field: Field) -> String? {
        guard let text = string(field, expected: "an MDC reference id, like MDC_PULS_OXIM_SAT_O2") else { return nil }
        var valid = text.hasPrefix("MDC_") && text.utf8.count > 4 && text.utf8.count <= 64
        for byte in text.utf8 where valid {
            let allowed = (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_")
            if !allowed { valid = false }
        }
        if !valid {
            report(field, "invalid MDC reference id \(quote(text)): expected MDC_ followed by capital letters, digits and '_', "
                + "like MDC_PULS_OXIM_SAT_O2 (leave 'mdc' out when no term applies)")
            return nil
        }
        return text
    }
}
