import Foundation
import Testing
import YAMLReader
@testable import Commands
@testable import Config
import Profiles
import Gateway
import JSON
import RegisterMaps
import Sessions
import Vitals

/// Deploy/mqtt/asyncapi.yaml against the code: every topic of Topics.swift is a channel with
/// the same address, QoS and retain are as agreed, every $ref resolves, and the payload
/// schemas name the members the encoders write. Read with the agent's own libyaml reader.
struct CommandTopicContractTests {
    /// Ids unlike each other, so a swapped parameter shows.
    static let ids = ["site": "site-x", "box": "box.7", "bed": "chair_3", "device": "pump-2"]
    static let topics = Topics(prefix: "bedside/site-x/box.7")
    static let expectedAddresses: [String: String] = [
        "status": topics.status,
        "vitals": topics.vitals(bed: "chair_3"),
        "description": topics.description(bed: "chair_3"),
        "alarmEvents": topics.alarmEvents(bed: "chair_3"),
        "alarmState": topics.alarmState(bed: "chair_3"),
        "deviceState": topics.deviceState(device: "pump-2"),
        "fhirBundle": topics.fhirBundle(bed: "chair_3"),
        "fhirDevice": topics.fhirDevice(device: "pump-2"),
        "session": topics.session(bed: "chair_3"),
        "sessionRecords": topics.sessionRecords(bed: "chair_3"),
        "health": topics.health,
        "commands": topics.commands,
        "responses": topics.responses,
    ]
    /// Topics member for each channel, to notice a topic added to Topics.swift only.
    static let topicsMembers = ["status": "status", "vitals": "vitals", "description": "description",
                                "alarmEvents": "alarmEvents",
                                "alarmState": "alarmState", "deviceState": "deviceState", "health": "health",
                                "fhirBundle": "fhirBundle", "fhirDevice": "fhirDevice",
                                "session": "session", "sessionRecords": "sessionRecords",
                                "commands": "commands", "responses": "responses"]

    @Test func documentIsAsyncAPI300AndStatesThatIdsAreOpaque() throws {
        let document = try ContractDocument.load()
        #expect(document.root["asyncapi"]?.text == "3.0.0")
        let description = document.root["info"]?["description"]?.text ?? ""
        #expect(description.contains("opaque ids"))
        #expect(description.contains("No patient\nname, record number") || description.contains("No patient name, record number"))
    }

    @Test func everyChannelAddressIsWhatTopicsBuilds() throws {
        let document = try ContractDocument.load()
        let channels = try #require(document.root["channels"])
        #expect(Set(channels.keys) == Set(Self.expectedAddresses.keys))
        for name in channels.keys {
            let channel = try #require(channels[name])
            let address = try #require(channel["address"]?.text, "channel \(name) has no address")
            let placeholders = Self.placeholders(in: address)
            #expect(Set(placeholders) == Set(channel["parameters"]?.keys ?? []), "channel \(name): parameters and address disagree")
            var substituted = address
            for placeholder in placeholders {
                let value = try #require(Self.ids[placeholder], "channel \(name): unknown parameter {\(placeholder)}")
                substituted = substituted.replacingOccurrences(of: "{\(placeholder)}", with: value)
            }
            #expect(substituted == Self.expectedAddresses[name], "channel \(name)")
        }
    }

    @Test func everyTopicInTopicsSwiftIsInTheContract() throws {
        let source = try String(contentsOf: ContractDocument.repositoryRoot.appendingPathComponent("Sources/Gateway/Topics.swift"),
                                encoding: .utf8)
        var members: [String] = []
        for line in source.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count >= 3, words[0] == "public", words[1] == "var" || words[1] == "func" else { continue }
            let name = String(words[2].prefix { $0.isLetter || $0.isNumber })
            if name != "prefix" { members.append(name) }
        }
        #expect(Set(members) == Set(Self.topicsMembers.values), "Topics.swift and the contract list different topics")
    }

    @Test func operationsPublishWithTheAgreedQoSAndRetain() throws {
        let document = try ContractDocument.load()
        let expected: [String: (action: String, channel: String, qos: String, retain: String)] = [
            "sendStatus": ("send", "status", "1", "true"),
            "sendVitals": ("send", "vitals", "1", "false"),
            "sendDescription": ("send", "description", "1", "true"),
            "sendAlarmEvent": ("send", "alarmEvents", "1", "false"),
            "sendAlarmState": ("send", "alarmState", "1", "true"),
            "sendDeviceState": ("send", "deviceState", "1", "true"),
            "sendFHIRBundle": ("send", "fhirBundle", "1", "false"),
            "sendFHIRDevice": ("send", "fhirDevice", "1", "true"),
            "sendSession": ("send", "session", "1", "true"),
            "sendSessionRecord": ("send", "sessionRecords", "1", "false"),
            "sendHealth": ("send", "health", "0", "true"),
            "receiveCommand": ("receive", "commands", "1", "false"),
            "sendResponse": ("send", "responses", "1", "false"),
        ]
        let operations = try #require(document.root["operations"])
        #expect(Set(operations.keys) == Set(expected.keys))
        for (name, want) in expected {
            let operation = try #require(operations[name], "no operation \(name)")
            #expect(operation["action"]?.text == want.action, "\(name)")
            #expect(operation["channel"]?["$ref"]?.text == "#/channels/\(want.channel)", "\(name)")
            #expect(operation["bindings"]?["mqtt"]?["qos"]?.text == want.qos, "\(name)")
            #expect(operation["bindings"]?["mqtt"]?["retain"]?.text == want.retain, "\(name)")
            for message in operation["messages"]?.items ?? [] {
                #expect(message["$ref"]?.text?.hasPrefix("#/channels/\(want.channel)/messages/") == true, "\(name)")
            }
        }
        #expect(operations["receiveCommand"]?["reply"]?["channel"]?["$ref"]?.text == "#/channels/responses")
        // The Last Will is the offline status on the status channel.
        let lastWill = document.root["servers"]?["box"]?["bindings"]?["mqtt"]?["lastWill"]
        #expect(lastWill?["topic"]?.text == document.root["channels"]?["status"]?["address"]?.text)
        #expect(lastWill?["retain"]?.text == "true")
        #expect(lastWill?["message"]?.text?.contains(#""reason":"connection-lost""#) == true)
    }

    @Test func everyReferenceResolves() throws {
        let document = try ContractDocument.load()
        var references: [String] = []
        ContractDocument.collectReferences(document.root, into: &references)
        #expect(references.count > 40)
        for reference in references {
            #expect(document.resolve(reference) != nil, "unresolved $ref \(reference)")
        }
    }

    @Test func vitalsAndDescriptionSchemasNameWhatTheEncodersWrite() throws {
        let document = try ContractDocument.load()
        let description = BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                                     ("pump-1", BuiltinProfiles.infusionPump.points)])
        var encoder = VitalsEncoder(description: description)
        let spo2 = try #require(description.entries.firstIndex { $0.name == "spo2" })
        let rate = try #require(description.entries.firstIndex { $0.name == "rate" })
        encoder.encode(sequence: 42, wallClockMilliseconds: 1_795_509_601_002, values: [
            VitalValue(entry: spo2, value: 97, quality: .ok, wallClockMilliseconds: 1_795_509_601_001),
            VitalValue(entry: rate, value: nil, quality: .commLoss, wallClockMilliseconds: 1_795_509_601_001),
        ])
        let message = try JSONParser.parse(encoder.bytes)
        let schema = try #require(document.resolve("#/components/schemas/vitals"))
        try Self.expectMembers(of: message, match: schema, in: document, context: "vitals")
        guard case .array(let vitals)? = message["vitals"] else { Issue.record("no vitals array"); return }
        let itemSchema = try #require(document.resolve("#/components/schemas/vital"))
        for vital in vitals { try Self.expectMembers(of: vital, match: itemSchema, in: document, context: "vital") }
        let qualities = itemSchema["properties"]?["quality"]?["enum"]?.items.compactMap(\.text) ?? []
        #expect(Set(qualities) == Set(["ok", "stale", "out-of-range", "comm-loss", "sensor-off"]))

        let published = try JSONParser.parse(Array(description.payload.utf8))
        let descriptionSchema = try #require(document.resolve("#/components/schemas/description"))
        try Self.expectMembers(of: published, match: descriptionSchema, in: document, context: "description")
        guard case .array(let points)? = published["points"] else { Issue.record("no points array"); return }
        #expect(points.count == description.entries.count)
        let pointSchema = try #require(document.resolve("#/components/schemas/describedPoint"))
        for point in points { try Self.expectMembers(of: point, match: pointSchema, in: document, context: "describedPoint") }
    }

    @Test func sessionSchemasNameWhatTheRecorderWrites() throws {
        let document = try ContractDocument.load()
        let description = BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                                     ("pump-1", BuiltinProfiles.infusionPump.points)])
        var recorder = SessionRecorder(description: description, intervalMilliseconds: 60_000, settings: SessionSettings())
        let start: Int64 = 1_796_334_540_000
        #expect(try JSONParser.parse(recorder.noSessionPayload(at: start)) != .null)
        try Self.expectMembers(of: try JSONParser.parse(recorder.noSessionPayload(at: start)),
                               match: try #require(document.resolve("#/components/schemas/noSession")), in: document,
                               context: "noSession")
        let changes = try recorder.startByCommand(issuer: "central-1", at: start)
        #expect(changes.started != nil)
        let ended = try recorder.endByCommand(issuer: "central-1", at: start + 60_000)
        let record = try JSONParser.parse(try #require(ended.finished?.record))
        let schema = try #require(document.resolve("#/components/schemas/sessionRecord"))
        try Self.expectMembers(of: record, match: schema, in: document, context: "sessionRecord")
        let summarySchema = try #require(schema["properties"]?["summary"])
        try Self.expectMembers(of: try #require(record["summary"]), match: summarySchema, in: document, context: "summary")
    }

    @Test func commandAndResponseSchemasMatchTheCommandsModule() throws {
        let document = try ContractDocument.load()
        let command = try #require(document.resolve("#/components/schemas/command"))
        #expect(Set(command["properties"]?.keys ?? []) == ["id", "command", "issued", "token", "bed", "alarm"])
        #expect(command["additionalProperties"]?.text == "false")
        let names = command["properties"]?["command"]?["enum"]?.items.compactMap(\.text) ?? []
        #expect(names == CommandKind.all.map(\.name))
        #expect(command["properties"]?["token"]?["minLength"]?.text == "\(CommandTokens.minimumTokenLength)")

        let schema = try #require(document.resolve("#/components/schemas/response"))
        let tokens = try CommandTokens.parse(Array("central-1 Zk3v9QeT0pL2mW8xR4yB6nC1sD7fG5hJ rebirth\n".utf8), file: "t")
        let issued = "2026-12-03T13:16:10.000Z"
        let clock = CommandClock(nowMilliseconds: 1_796_303_773_000, errorMilliseconds: 0)
        for payload in [#"{"id":"c-1","issued":"\#(issued)","command":"rebirth","token":"Zk3v9QeT0pL2mW8xR4yB6nC1sD7fG5hJ"}"#, "not json"] {
            var recentIDs = RecentCommandIDs()
            let decision = decideCommand(Array(payload.utf8), tokens: tokens, bedIDs: [], clock: clock,
                                         maximumAgeMilliseconds: 30_000, recentIDs: &recentIDs)
            if payload != "not json" { #expect(decision == .accepted(Command(id: "c-1", kind: .rebirth, issuer: "central-1"))) }
            let response = try JSONParser.parse(encodeCommandResponse(decision, wallClockMilliseconds: 0))
            try Self.expectMembers(of: response, match: schema, in: document, context: "response")
        }
    }

    // MARK: helpers

    static func placeholders(in address: String) -> [String] {
        var names: [String] = []
        var rest = Substring(address)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    /// Every member the encoder wrote is a property of the schema, and every required property was written.
    private static func expectMembers(of value: JSONValue, match schema: YAMLNode, in document: ContractDocument, context: String) throws {
        guard case .object(let members) = value else {
            Issue.record("\(context): not an object")
            return
        }
        let written = Set(members.map(\.key))
        let properties = Set(schema["properties"]?.keys ?? [])
        let required = Set(schema["required"]?.items.compactMap(\.text) ?? [])
        #expect(written.isSubset(of: properties), "\(context): not in the schema: \(written.subtracting(properties))")
        #expect(required.isSubset(of: written), "\(context): required but not written: \(required.subtracting(written))")
    }
}

/// asyncapi.yaml as read by Config's libyaml reader.
private struct ContractDocument {
    let root: YAMLNode

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func load() throws -> ContractDocument {
        let path = repositoryRoot.appendingPathComponent("Deploy/mqtt/asyncapi.yaml").path
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let result = YAMLLoader.load(bytes, file: path)
        guard result.errors.isEmpty, result.isComplete, let root = result.root else {
            throw ContractError(description: "cannot read \(path): \(ConfigErrors(result.errors).description)")
        }
        return ContractDocument(root: root)
    }

    /// A local JSON pointer ("#/components/schemas/id"); nil when nothing is there.
    func resolve(_ reference: String) -> YAMLNode? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: YAMLNode? = root
        for part in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            node = node?[key]
        }
        return node
    }

    static func collectReferences(_ node: YAMLNode, into references: inout [String]) {
        switch node.content {
        case .mapping(let pairs):
            for pair in pairs {
                if pair.key == "$ref", let text = pair.value.text { references.append(text) }
                collectReferences(pair.value, into: &references)
            }
        case .sequence(let items):
            for item in items { collectReferences(item, into: &references) }
        case .scalar, .invalid:
            break
        }
    }
}

private struct ContractError: Error, CustomStringConvertible {
    var description: String
}

private extension YAMLNode {
    subscript(key: String) -> YAMLNode? {
        guard case .mapping(let pairs) = content else { return nil }
        return pairs.first { $0.key == key }?.value
    }

    var keys: [String] {
        guard case .mapping(let pairs) = content else { return [] }
        return pairs.map(\.key)
    }

    var items: [YAMLNode] {
        guard case .sequence(let items) = content else { return [] }
        return items
    }

    var text: String? {
        guard case .scalar(let text, _) = content else { return nil }
        return text
    }
}
