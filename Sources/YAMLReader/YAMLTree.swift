import CYAML

/// A YAML node with its 1-based source position, so every configuration error can point at
/// the line and column to fix.
public struct YAMLNode {
    public enum Content {
        case scalar(text: String, quoted: Bool)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
        /// Stands in for something already reported (an alias), so decoding skips it silently
        /// instead of reporting the same mistake a second time.
        case invalid
    }

    public var content: Content
    public var line: Int
    public var column: Int

    /// YAML's null spellings; only unquoted, because `"null"` is deliberately a string.
    public var isNull: Bool {
        guard case .scalar(let text, let quoted) = content, !quoted else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }
}

/// Keys are plain text: the schema has no use for lists or mappings as keys.
public struct YAMLPair {
    public var key: String
    public var keyLine: Int
    public var keyColumn: Int
    public var value: YAMLNode
}

/// What reading the YAML produced: the root node (nil when the text is empty or reading had to
/// stop) and the problems found on the way. Problems that do not stop reading (aliases,
/// duplicate keys, tags) are collected so decoding can still report everything else.
public struct YAMLLoadResult {
    public var root: YAMLNode?
    public var errors: [ConfigError]
    /// False when reading stopped early (syntax error, nesting, second document): `root` is then unusable.
    public var isComplete: Bool
}

public enum YAMLLoader {
    public static let maximumDepth = 64
    public static let maximumSize = 1 << 20

    public static func load(_ bytes: [UInt8], file: String) -> YAMLLoadResult {
        let builder = TreeBuilder(file: file)
        if bytes.count > maximumSize {
            builder.fail(line: 0, column: 0, path: "", YAMLLoader.tooLargeMessage(bytes.count))
            return builder.result
        }
        if bytes.isEmpty { return builder.result }

        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) != 0 else {
            builder.fail(line: 0, column: 0, path: "", "out of memory while reading the file")
            return builder.result
        }
        defer { yaml_parser_delete(parser) }
        // A fixed encoding turns a UTF-16 file into a clear "not UTF-8" error and keeps libyaml's
        // reader-error offsets in bytes of the buffer we hand it.
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)

        // Editors on Windows often save a BOM. Dropping it here rather than letting libyaml skip
        // it matters: with a fixed encoding libyaml counts the BOM as a column on line 1, which
        // misaligns the first key with the rest of the top-level mapping.
        let hasBOM = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        let text = hasBOM ? Array(bytes.dropFirst(3)) : bytes
        text.withUnsafeBufferPointer { input in
            guard let base = input.baseAddress else { return }
            // libyaml reads the buffer in place and does not copy it, so all parsing stays in here.
            yaml_parser_set_input_string(parser, base, input.count)
            var event = yaml_event_t()
            while !builder.finished {
                guard yaml_parser_parse(parser, &event) != 0 else {
                    builder.reportParserFailure(parser.pointee, input: input)
                    return
                }
                builder.handle(event)
                yaml_event_delete(&event)
            }
        }
        return builder.result
    }

    public static func tooLargeMessage(_ size: Int) -> String {
        "the file is \(size) bytes, more than the 1 MiB limit; a gateway configuration is a few KiB, so check that this is the right file"
    }
}

/// Turns libyaml's event stream into a node tree with an explicit stack, so deeply nested
/// input cannot exhaust the call stack.
private final class TreeBuilder {
    private struct PendingKey {
        var text: String
        var line: Int
        var column: Int
        /// False for a duplicate or unusable key: its value is read but dropped.
        var keepsValue: Bool
    }

    private struct Frame {
        var isMapping: Bool
        var line: Int
        var column: Int
        var path: String
        var items: [YAMLNode] = []
        var pairs: [YAMLPair] = []
        var pendingKey: PendingKey? = nil
        var keyPositions: [String: Int] = [:]  // key -> index in pairs
    }

    private let file: String
    private var stack: [Frame] = []
    private var root: YAMLNode?
    private var errors: [ConfigError] = []
    private var documentCount = 0
    private var stopped = false
    private(set) var finished = false

    init(file: String) { self.file = file }

    var result: YAMLLoadResult {
        YAMLLoadResult(root: stopped ? nil : root, errors: errors, isComplete: !stopped)
    }

    func fail(line: Int, column: Int, path: String, _ message: String) {
        report(line: line, column: column, path: path, message)
        stopped = true
        finished = true
    }

    private func report(line: Int, column: Int, path: String, _ message: String) {
        errors.append(ConfigError(file: file, line: line, column: column, keyPath: path, message: message))
    }

    func handle(_ event: yaml_event_t) {
        let line = oneBased(event.start_mark.line)
        let column = oneBased(event.start_mark.column)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            finished = true
        case YAML_DOCUMENT_START_EVENT:
            documentCount += 1
            if documentCount > 1 {
                fail(line: line, column: column, path: "",
                     "the file contains more than one YAML document; keep all settings in one document (remove the extra '---')")
            }
        case YAML_ALIAS_EVENT:
            let name = text(of: event.data.alias.anchor)
            report(line: line, column: column, path: pathForNextNode(),
                   "aliases (*\(name)) are not supported; write the value out in full")
            attach(YAMLNode(content: .invalid, line: line, column: column))
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            checkAnchorAndTag(anchor: scalar.anchor, tag: scalar.tag, line: line, column: column)
            var value = ""
            if let bytes = scalar.value {
                value = String(decoding: UnsafeBufferPointer(start: bytes, count: scalar.length), as: UTF8.self)
            }
            let quoted = scalar.style != YAML_PLAIN_SCALAR_STYLE
            attach(YAMLNode(content: .scalar(text: value, quoted: quoted), line: line, column: column))
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            open(isMapping: false, anchor: start.anchor, tag: start.tag, line: line, column: column)
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            open(isMapping: true, anchor: start.anchor, tag: start.tag, line: line, column: column)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return }
            let content: YAMLNode.Content = frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items)
            attach(YAMLNode(content: content, line: frame.line, column: frame.column))
        default:
            break
        }
    }

    private func open(isMapping: Bool, anchor: UnsafeMutablePointer<yaml_char_t>?,
                      tag: UnsafeMutablePointer<yaml_char_t>?, line: Int, column: Int) {
        if stack.count >= YAMLLoader.maximumDepth {
            // No key path: at this depth it would be longer than the message.
            fail(line: line, column: column, path: "",
                 "lists and mappings are nested more than \(YAMLLoader.maximumDepth) levels deep")
            return
        }
        checkAnchorAndTag(anchor: anchor, tag: tag, line: line, column: column)
        stack.append(Frame(isMapping: isMapping, line: line, column: column, path: pathForNextNode()))
    }

    private func checkAnchorAndTag(anchor: UnsafeMutablePointer<yaml_char_t>?,
                                   tag: UnsafeMutablePointer<yaml_char_t>?, line: Int, column: Int) {
        if let anchor {
            report(line: line, column: column, path: pathForNextNode(),
                   "anchors (&\(text(of: anchor))) are not supported; remove the anchor and write each value out in full")
        }
        if let tag {
            report(line: line, column: column, path: pathForNextNode(),
                   "YAML tags (\(writtenForm(ofTag: text(of: tag)))) are not supported; remove the tag")
        }
    }

    /// The key path of the node about to be attached to the innermost open collection.
    private func pathForNextNode() -> String {
        guard let top = stack.last else { return "" }
        if !top.isMapping { return "\(top.path)[\(top.items.count)]" }
        guard let key = top.pendingKey else { return top.path }
        return top.path.isEmpty ? key.text : top.path + "." + key.text
    }

    private func attach(_ node: YAMLNode) {
        guard !stack.isEmpty else {
            root = node
            return
        }
        let top = stack.count - 1
        if !stack[top].isMapping {
            stack[top].items.append(node)
            return
        }
        guard let key = stack[top].pendingKey else {
            stack[top].pendingKey = makeKey(node, in: stack[top])
            return
        }
        stack[top].pendingKey = nil
        if key.keepsValue {
            stack[top].keyPositions[key.text] = stack[top].pairs.count
            stack[top].pairs.append(YAMLPair(key: key.text, keyLine: key.line, keyColumn: key.column, value: node))
        }
    }

    private func makeKey(_ node: YAMLNode, in frame: Frame) -> PendingKey {
        var key = PendingKey(text: "", line: node.line, column: node.column, keepsValue: false)
        switch node.content {
        case .scalar(let text, _):
            key.text = text
            let path = frame.path.isEmpty ? text : frame.path + "." + text
            if let index = frame.keyPositions[text], index < frame.pairs.count {
                let first = frame.pairs[index]
                report(line: node.line, column: node.column, path: path,
                       "duplicate key (already set at line \(first.keyLine), column \(first.keyColumn))")
            } else {
                key.keepsValue = true
            }
        case .sequence:
            report(line: node.line, column: node.column, path: frame.path, "a key must be a plain name, found a list")
        case .mapping:
            report(line: node.line, column: node.column, path: frame.path, "a key must be a plain name, found a mapping")
        case .invalid:
            break  // an alias, already reported
        }
        return key
    }

    func reportParserFailure(_ parser: yaml_parser_t, input: UnsafeBufferPointer<UInt8>) {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            fail(line: 0, column: 0, path: "", "out of memory while reading the file")
        case YAML_READER_ERROR:
            // Reader errors carry a byte offset, not a line and column.
            let (line, column) = position(ofByte: parser.problem_offset, in: input)
            let value = UInt32(truncatingIfNeeded: parser.problem_value)
            // libyaml's value is a raw byte for malformed UTF-8 and a code point otherwise.
            let message = problem.hasSuffix("octet") || problem.hasSuffix("sequence")
                ? "the file is not valid UTF-8 text (save it as UTF-8): \(problem)"
                    + (parser.problem_value >= 0 ? " (byte 0x\(hex(value, digits: 2)))" : "")
                : "the file contains a character that YAML does not allow: \(problem)"
                    + (parser.problem_value >= 0 ? " (U+\(hex(value, digits: 4)))" : "")
            fail(line: line, column: column, path: "", message)
        default:
            var message = "YAML syntax error: \(problem)"
            if let context = parser.context {
                message += " (\(String(cString: context)) at line \(oneBased(parser.context_mark.line)), column \(oneBased(parser.context_mark.column)))"
            }
            let line = oneBased(parser.problem_mark.line)
            let column = oneBased(parser.problem_mark.column)
            if character(atLine: line, column: column, in: input) == UInt8(ascii: "\t") {
                message += "; tabs are not allowed for indentation or before values, use spaces"
            }
            fail(line: line, column: column, path: "", message)
        }
    }

    /// The byte starting the character at a 1-based line and column, if it is there.
    private func character(atLine line: Int, column: Int, in input: UnsafeBufferPointer<UInt8>) -> UInt8? {
        var currentLine = 1
        var currentColumn = 1
        var previous: UInt8 = 0
        for byte in input {
            if byte & 0xC0 == 0x80 { continue }
            if currentLine == line && currentColumn == column { return byte }
            if byte == 0x0A {
                if previous != 0x0D { currentLine += 1 }
                currentColumn = 1
            } else if byte == 0x0D {
                currentLine += 1
                currentColumn = 1
            } else {
                currentColumn += 1
            }
            previous = byte
            if currentLine > line { return nil }
        }
        return nil
    }

    private func position(ofByte offset: Int, in input: UnsafeBufferPointer<UInt8>) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        var previous: UInt8 = 0
        for byte in input.prefix(max(0, offset)) {
            if byte == 0x0A {
                if previous != 0x0D { line += 1 }
                column = 1
            } else if byte == 0x0D {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1  // count characters, as libyaml's own marks do
            }
            previous = byte
        }
        return (line, column)
    }

    /// libyaml hands tags over resolved ("tag:yaml.org,2002:str"); show them as written ("!!str").
    private func writtenForm(ofTag tag: String) -> String {
        let standardPrefix = "tag:yaml.org,2002:"
        guard tag.hasPrefix(standardPrefix) else { return tag }
        return "!!" + String(decoding: tag.utf8.dropFirst(standardPrefix.utf8.count), as: UTF8.self)
    }

    private func text(of pointer: UnsafeMutablePointer<yaml_char_t>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    private func oneBased(_ mark: Int) -> Int {
        mark < Int.max ? mark + 1 : mark
    }
}

public func hex(_ value: UInt32, digits: Int) -> String {
    var text = String(value, radix: 16, uppercase: true)
    while text.utf8.count < digits { text = "0" + text }
    return text
}
