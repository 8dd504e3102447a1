import Foundation
import Testing
@testable import Commands
import JSON

/// Shared fixtures: two senders and two beds.
enum CommandFixtures {
    static let centralToken = "Zk3v9QeT0pL2mW8xR4yB6nC1sD7fG5hJ"
    static let dashboardToken = "q8W2e4R6t8Y0u2I4o6P8a0S2d4F6g8H0"
    static let file = """
        # who            token                               commands
        central-1        \(centralToken)    acknowledge-alarm,pause-audio,rebirth
        dashboard-3\t\(dashboardToken)\trebirth   # read-only screens may only ask for a rebirth

        """
    static let beds = ["chair-1", "chair-2"]

    static var tokens: CommandTokens {
        // The fixture is valid; a failure here shows up in every test that uses it.
        (try? CommandTokens.parse(Array(file.utf8), file: "tokens")) ?? .notConfigured
    }

    static func decide(_ payload: String, tokens: CommandTokens = tokens) -> CommandDecision {
        decideCommand(Array(payload.utf8), tokens: tokens, bedIDs: beds)
    }

    static let validAcknowledge =
        #"{"id":"c-17","command":"acknowledge-alarm","token":"\#(centralToken)","bed":"chair-1","alarm":"a-42"}"#
}

struct CommandDecisionTests {
    typealias F = CommandFixtures

    @Test func fixtureTokensFileParses() throws {
        let tokens = try CommandTokens.parse(Array(F.file.utf8), file: "tokens")
        #expect(tokens.isConfigured)
        #expect(tokens.senders.count == 2)
        #expect(tokens.senders[0].name == "central-1")
        #expect(tokens.senders[0].commands == [.acknowledgeAlarm, .pauseAudio, .rebirth])
        #expect(tokens.senders[0].line == 2)
        #expect(tokens.senders[1].name == "dashboard-3")
        #expect(tokens.senders[1].commands == [.rebirth])
    }

    @Test func acceptsAcknowledgeAlarm() {
        #expect(F.decide(F.validAcknowledge) == .accepted(Command(id: "c-17", kind: .acknowledgeAlarm, issuer: "central-1",
                                                                   bed: "chair-1", alarm: "a-42")))
    }

    @Test func acceptsPauseAudioAndRebirthWithWhitespaceAndAnyKeyOrder() {
        let pause = " {\n \"token\" : \"\(F.centralToken)\", \"command\":\"pause-audio\", \"id\":\"c 18 ~!\"\t} \n"
        #expect(F.decide(pause) == .accepted(Command(id: "c 18 ~!", kind: .pauseAudio, issuer: "central-1")))
        let rebirth = #"{"id":"c-19","command":"rebirth","token":"\#(F.dashboardToken)"}"#
        #expect(F.decide(rebirth) == .accepted(Command(id: "c-19", kind: .rebirth, issuer: "dashboard-3")))
    }

    @Test func acceptsIdsAndAlarmIdsAtTheirLimits() {
        let id = String(repeating: "~", count: 64)
        let alarm = String(repeating: "A.z_9-", count: 10) + "abcd"
        let payload = #"{"id":"\#(id)","command":"acknowledge-alarm","token":"\#(F.centralToken)","bed":"chair-2","alarm":"\#(alarm)"}"#
        #expect(F.decide(payload) == .accepted(Command(id: id, kind: .acknowledgeAlarm, issuer: "central-1",
                                                       bed: "chair-2", alarm: alarm)))
    }

    static let refusals: [(payload: String, id: String?, command: CommandKind?, reason: String)] = {
        let c = CommandFixtures.centralToken
        let d = CommandFixtures.dashboardToken
        return [
            ("", nil, nil, "not JSON: unexpected end of input at byte 0"),
            ("{\"id\":", nil, nil, "not JSON: unexpected end of input at byte 6"),
            ("hello", nil, nil, "not JSON: unexpected character at byte 0"),
            (#"["id","c-1"]"#, nil, nil, "not a JSON object"),
            (#""rebirth""#, nil, nil, "not a JSON object"),
            ("null", nil, nil, "not a JSON object"),
            (#"{"id":"c-1","id":"c-2","command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "duplicate key 'id'"),
            (#"{"id":"c-1","command":"rebirth","token":"\#(c)","token":"\#(d)"}"#, "c-1", .rebirth, "duplicate key 'token'"),
            (#"{"command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "missing id"),
            (#"{"id":17,"command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "id must be a string"),
            (#"{"id":null,"command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "id must be a string"),
            (#"{"id":"","command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "id must be 1 to 64 printable ASCII characters"),
            (#"{"id":"\#(String(repeating: "x", count: 65))","command":"rebirth","token":"\#(c)"}"#, nil, .rebirth,
             "id must be 1 to 64 printable ASCII characters"),
            (#"{"id":"c\n1","command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "id must be 1 to 64 printable ASCII characters"),
            (#"{"id":"c-é","command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "id must be 1 to 64 printable ASCII characters"),
            (#"{"id":"c-1","token":"\#(c)"}"#, "c-1", nil, "missing command"),
            (#"{"id":"c-1","command":["rebirth"],"token":"\#(c)"}"#, "c-1", nil, "command must be a string"),
            (#"{"id":"c-1","command":"reboot","token":"\#(c)"}"#, "c-1", nil,
             "unknown command 'reboot'; expected acknowledge-alarm, pause-audio or rebirth"),
            (#"{"id":"c-1","command":"Rebirth","token":"\#(c)"}"#, "c-1", nil,
             "unknown command 'Rebirth'; expected acknowledge-alarm, pause-audio or rebirth"),
            (#"{"id":"c-1","command":"x\u0007y","token":"\#(c)"}"#, "c-1", nil,
             "unknown command 'x?y'; expected acknowledge-alarm, pause-audio or rebirth"),
            (#"{"id":"c-1","command":"pause-audio","token":"\#(c)","bed":"chair-1"}"#, "c-1", .pauseAudio,
             "unknown key 'bed'; pause-audio takes id, command and token"),
            (#"{"id":"c-1","command":"rebirth","token":"\#(c)","force":true}"#, "c-1", .rebirth,
             "unknown key 'force'; rebirth takes id, command and token"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1","alarm":"a-1","note":"x"}"#,
             "c-1", .acknowledgeAlarm, "unknown key 'note'; acknowledge-alarm takes id, command, token, bed and alarm"),
            (#"{"id":"c-1","command":"rebirth"}"#, "c-1", .rebirth, "missing token"),
            (#"{"id":"c-1","command":"rebirth","token":12345678901234567890}"#, "c-1", .rebirth, "token must be a string"),
            (#"{"id":"c-1","command":"rebirth","token":"wrong-token-wrong-token"}"#, "c-1", .rebirth, "unauthorised: token not recognised"),
            (#"{"id":"c-1","command":"rebirth","token":""}"#, "c-1", .rebirth, "unauthorised: token not recognised"),
            (#"{"id":"c-1","command":"rebirth","token":"\#(c.dropLast())"}"#, "c-1", .rebirth, "unauthorised: token not recognised"),
            (#"{"id":"c-1","command":"rebirth","token":"\#(c)x"}"#, "c-1", .rebirth, "unauthorised: token not recognised"),
            (#"{"id":"c-1","command":"rebirth","token":"\#(c.lowercased())"}"#, "c-1", .rebirth, "unauthorised: token not recognised"),
            (#"{"id":"c-1","command":"pause-audio","token":"\#(d)"}"#, "c-1", .pauseAudio,
             "unauthorised: 'dashboard-3' may not pause-audio"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(d)","bed":"chair-9","alarm":"a-1"}"#, "c-1", .acknowledgeAlarm,
             "unauthorised: 'dashboard-3' may not acknowledge-alarm"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(c)","alarm":"a-1"}"#, "c-1", .acknowledgeAlarm, "missing bed"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":1,"alarm":"a-1"}"#, "c-1", .acknowledgeAlarm,
             "bed must be a string"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-9","alarm":"a-1"}"#, "c-1", .acknowledgeAlarm,
             "unknown bed 'chair-9'"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"Chair-1","alarm":"a-1"}"#, "c-1", .acknowledgeAlarm,
             "unknown bed 'Chair-1'"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1"}"#, "c-1", .acknowledgeAlarm, "missing alarm"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1","alarm":42}"#, "c-1", .acknowledgeAlarm,
             "alarm must be a string"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1","alarm":""}"#, "c-1", .acknowledgeAlarm,
             "bad alarm id '': expected 1 to 64 letters, digits, '.', '_' or '-'"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1","alarm":"a/42"}"#, "c-1", .acknowledgeAlarm,
             "bad alarm id 'a/42': expected 1 to 64 letters, digits, '.', '_' or '-'"),
            (#"{"id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1","alarm":"\#(String(repeating: "a", count: 65))"}"#,
             "c-1", .acknowledgeAlarm,
             "bad alarm id '\(String(repeating: "a", count: 64))…': expected 1 to 64 letters, digits, '.', '_' or '-'"),
        ]
    }()

    @Test(arguments: refusals)
    func refusesWithItsReason(payload: String, id: String?, command: CommandKind?, reason: String) {
        #expect(F.decide(payload) == .refused(CommandRefusal(id: id, command: command, reason: reason)))
    }

    @Test func refusesOversizedPayloadsWithoutReadingThem() {
        let padding = String(repeating: " ", count: maximumCommandPayloadBytes)
        let payload = #"{"id":"c-1","command":"rebirth","token":"\#(F.centralToken)"}"# + padding
        #expect(F.decide(payload) == .refused(CommandRefusal(id: nil, command: nil,
                                                             reason: "payload too large: \(payload.utf8.count) bytes, the limit is 4096")))
        // Exactly at the limit is still read.
        let atLimit = String(payload.prefix(maximumCommandPayloadBytes))
        #expect(F.decide(atLimit) == .accepted(Command(id: "c-1", kind: .rebirth, issuer: "central-1")))
    }

    @Test func refusesDeepNestingAsNotJSONWithoutCrashing() {
        let payload = String(repeating: "[", count: 4000)
        guard case .refused(let refusal) = F.decide(payload) else { Issue.record("accepted"); return }
        #expect(refusal.reason.hasPrefix("not JSON: nested deeper than"))
    }

    @Test func refusesEverythingWhenNoTokensFileIsConfigured() {
        let reason = "unauthorised: no command tokens are configured on this box"
        #expect(F.decide(F.validAcknowledge, tokens: .notConfigured)
            == .refused(CommandRefusal(id: "c-17", command: .acknowledgeAlarm, reason: reason)))
        #expect(F.decide(#"{"id":"c-2","command":"rebirth"}"#, tokens: .notConfigured)
            == .refused(CommandRefusal(id: "c-2", command: .rebirth, reason: reason)))
        #expect((try? CommandTokens.load(path: nil))?.isConfigured == false)
    }

    @Test func anEmptyTokensFileRecognisesNoToken() throws {
        let tokens = try CommandTokens.parse(Array("# nobody yet\n\n".utf8), file: "tokens")
        #expect(tokens.isConfigured && tokens.senders.isEmpty)
        #expect(F.decide(F.validAcknowledge, tokens: tokens)
            == .refused(CommandRefusal(id: "c-17", command: .acknowledgeAlarm, reason: "unauthorised: token not recognised")))
    }

    @Test func tokenLookupMatchesOnlyTheExactToken() {
        let tokens = F.tokens
        #expect(tokens.sender(presenting: Array(F.centralToken.utf8))?.name == "central-1")
        #expect(tokens.sender(presenting: Array(F.dashboardToken.utf8))?.name == "dashboard-3")
        #expect(tokens.sender(presenting: []) == nil)
        #expect(tokens.sender(presenting: Array(F.centralToken.utf8.dropLast())) == nil)
        #expect(tokens.sender(presenting: Array((F.centralToken + F.centralToken).utf8)) == nil)
        // A candidate whose length differs by a multiple of 256 must not look equal.
        #expect(tokens.sender(presenting: Array((F.centralToken + String(repeating: "A", count: 256)).utf8)) == nil)
        #expect(constantTimeDifference([1, 2, 3], [1, 2, 3]) == 0)
        #expect(constantTimeDifference([1, 2, 3], [1, 2, 4]) != 0)
        #expect(constantTimeDifference([1, 2, 3], []) != 0)
    }

    @Test func neitherSendersNorErrorsShowTheToken() throws {
        let tokens = F.tokens
        for sender in tokens.senders {
            #expect(!sender.description.contains(F.centralToken) && !sender.description.contains(F.dashboardToken))
            #expect(!String(describing: sender).contains(F.centralToken))
        }
        let text = "nurse-1 abcdefghij#klmnopqrstuv rebirth\nnurse-2 short rebirth\n"
        #expect {
            try CommandTokens.parse(Array(text.utf8), file: "tokens")
        } throws: { error in
            let description = (error as? TokenFileErrors)?.description ?? ""
            return !description.contains("abcdefghij") && !description.contains("short") && description.contains("nurse-2")
        }
    }
}

struct CommandResponseTests {
    typealias F = CommandFixtures
    static let time: Int64 = 1_795_509_601_002  // 2026-11-24T08:40:01.002Z

    @Test func encodesAnAcceptedCommand() {
        let text = encodeCommandResponse(F.decide(F.validAcknowledge), wallClockMilliseconds: Self.time)
        #expect(text == #"{"id":"c-17","command":"acknowledge-alarm","result":"accepted","reason":null,"time":"2026-11-24T08:40:01.002Z"}"#)
    }

    @Test func encodesRefusalsWithNullsForWhatCouldNotBeRead() {
        #expect(encodeCommandResponse(F.decide("hello"), wallClockMilliseconds: Self.time)
            == #"{"id":null,"command":null,"result":"refused","reason":"not JSON: unexpected character at byte 0","time":"2026-11-24T08:40:01.002Z"}"#)
        let denied = F.decide(#"{"id":"c-9","command":"pause-audio","token":"\#(F.dashboardToken)"}"#)
        #expect(encodeCommandResponse(denied, wallClockMilliseconds: Self.time)
            == #"{"id":"c-9","command":"pause-audio","result":"refused","reason":"unauthorised: 'dashboard-3' may not pause-audio","time":"2026-11-24T08:40:01.002Z"}"#)
    }

    @Test func escapesIdsThatNeedIt() throws {
        let decision = F.decide(#"{"id":"say \"hi\" \\ there","command":"rebirth","token":"\#(F.centralToken)"}"#)
        let text = encodeCommandResponse(decision, wallClockMilliseconds: 0)
        #expect(try JSONParser.parse(text)["id"] == .string(#"say "hi" \ there"#))
    }

    @Test func aLaterStageCanRefuseAnAcceptedCommand() {
        let command = Command(id: "c-17", kind: .acknowledgeAlarm, issuer: "central-1", bed: "chair-1", alarm: "a-42")
        let refusal = CommandRefusal(command, reason: "no active alarm 'a-42' on chair-1")
        #expect(encodeCommandResponse(.refused(refusal), wallClockMilliseconds: 0)
            == #"{"id":"c-17","command":"acknowledge-alarm","result":"refused","reason":"no active alarm 'a-42' on chair-1","time":"1970-01-01T00:00:00.000Z"}"#)
    }

    @Test(arguments: CommandDecisionTests.refusals)
    func responsesAreValidJSONAndNeverEchoTheToken(payload: String, id: String?, command: CommandKind?, reason: String) throws {
        let text = encodeCommandResponse(F.decide(payload), wallClockMilliseconds: Self.time)
        #expect(!text.contains(F.centralToken) && !text.contains(F.dashboardToken))
        #expect(!text.contains(String(F.centralToken.dropLast())))
        let parsed = try JSONParser.parse(text)
        #expect(parsed["result"] == .string("refused"))
        #expect(parsed["reason"] == .string(reason))
        #expect(parsed["id"] == (id.map { JSONValue.string($0) } ?? .null))
        #expect(parsed["command"] == (command.map { JSONValue.string($0.name) } ?? .null))
    }
}

/// Hostile and broken input: no crash, the same answer every time, and nothing accepted
/// that breaks the rules.
struct CommandRobustnessTests {
    typealias F = CommandFixtures

    /// What every decision must satisfy, whatever the input.
    static func checkInvariants(_ payload: [UInt8], _ decision: CommandDecision) {
        let tokens = F.tokens
        #expect(decideCommand(payload, tokens: tokens, bedIDs: F.beds) == decision, "not deterministic")
        switch decision {
        case .accepted(let command):
            #expect(isCorrelationID(command.id))
            let sender = tokens.senders.first { $0.name == command.issuer }
            #expect(sender?.may(command.kind) == true)
            if command.kind == .acknowledgeAlarm {
                #expect(F.beds.contains(command.bed ?? ""))
                #expect(isID(command.alarm ?? ""))
            } else {
                #expect(command.bed == nil && command.alarm == nil)
            }
            // Accepted means the payload really carried that sender's token.
            let text = String(decoding: payload, as: UTF8.self)
            #expect(text.contains(command.issuer == "central-1" ? F.centralToken : F.dashboardToken))
        case .refused(let refusal):
            #expect(!refusal.reason.isEmpty)
            if let id = refusal.id { #expect(isCorrelationID(id)) }
        }
        let response = encodeCommandResponse(decision, wallClockMilliseconds: 0)
        #expect(!response.contains(F.centralToken) && !response.contains(F.dashboardToken))
        #expect((try? JSONParser.parse(response)) != nil, "response is not JSON: \(response)")
    }

    @Test func everyTruncationOfAValidCommandIsRefused() {
        let valid = Array(F.validAcknowledge.utf8)
        for length in 0..<valid.count {
            let payload = Array(valid[0..<length])
            let decision = decideCommand(payload, tokens: F.tokens, bedIDs: F.beds)
            guard case .refused = decision else {
                Issue.record("a truncation to \(length) bytes was accepted")
                continue
            }
            Self.checkInvariants(payload, decision)
        }
        // Truncating the trailing whitespace of a padded command leaves a valid one.
        let padded = Array((F.validAcknowledge + " \n").utf8)
        for length in valid.count...padded.count {
            #expect(decideCommand(Array(padded[0..<length]), tokens: F.tokens, bedIDs: F.beds)
                == decideCommand(valid, tokens: F.tokens, bedIDs: F.beds))
        }
    }

    @Test func randomMutationsNeverCrashAndStayConsistent() {
        var random = SplitMix64(seed: 0x5EED_0001)
        let seeds = [
            F.validAcknowledge,
            #"{"id":"c-18","command":"pause-audio","token":"\#(F.centralToken)"}"#,
            #"{"id":"c-19","command":"rebirth","token":"\#(F.dashboardToken)"}"#,
        ].map { Array($0.utf8) }
        let interesting: [UInt8] = Array(#"{}[]":,\"0-9eE+.ntfu"#.utf8) + [0x00, 0x0A, 0x7F, 0x80, 0xC3, 0xA9, 0xFF, 0xED, 0xA0]
        var accepted = 0
        var refused = 0
        for round in 0..<600 {
            var payload = seeds[round % seeds.count]
            for _ in 0..<(1 + random.next(below: 4)) {
                let position = random.next(below: payload.count + 1)
                let byte = random.next(below: 3) == 0 ? interesting[random.next(below: interesting.count)] : UInt8(random.next(below: 256))
                switch random.next(below: 4) {
                case 0 where position < payload.count: payload[position] = byte
                case 1: payload.insert(byte, at: position)
                case 2 where position < payload.count: payload.remove(at: position)
                default:  // duplicate a slice, e.g. a whole member
                    let start = random.next(below: payload.count)
                    let end = min(payload.count, start + 1 + random.next(below: 24))
                    payload.insert(contentsOf: payload[start..<end], at: position)
                }
            }
            let decision = decideCommand(payload, tokens: F.tokens, bedIDs: F.beds)
            if case .accepted = decision { accepted += 1 } else { refused += 1 }
            Self.checkInvariants(payload, decision)
        }
        // Most mutations break something; a few (e.g. inside an id) keep a valid command.
        #expect(refused > 300)
        #expect(accepted + refused == 600)
    }

    @Test func randomBytesAreRefused() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<200 {
            let payload = (0..<random.next(below: 300)).map { _ in UInt8(random.next(below: 256)) }
            let decision = decideCommand(payload, tokens: F.tokens, bedIDs: F.beds)
            guard case .refused = decision else { Issue.record("random bytes accepted"); continue }
            Self.checkInvariants(payload, decision)
        }
    }
}
