import Foundation
import Testing
@testable import Commands
import JSON
import Platform

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

    /// The injected wall clock of every decision: 2026-12-03T13:16:13.000Z.
    static let nowMilliseconds: Int64 = 1_796_303_773_000
    /// Three seconds before `nowMilliseconds`.
    static let issued = "2026-12-03T13:16:10.000Z"
    /// A synchronised box whose kernel states at most 50 ms of error.
    static let clock = CommandClock(nowMilliseconds: nowMilliseconds, errorMilliseconds: 50)
    static let maximumAgeMilliseconds: Int64 = 30_000

    /// One decision with an empty id memory, so the same payload always gets the same answer.
    static func decide(_ payload: [UInt8], tokens: CommandTokens = tokens, clock: CommandClock = clock) -> CommandDecision {
        var recentIDs = RecentCommandIDs()
        return decideCommand(payload, tokens: tokens, bedIDs: beds, clock: clock,
                             maximumAgeMilliseconds: maximumAgeMilliseconds, recentIDs: &recentIDs)
    }

    static func decide(_ payload: String, tokens: CommandTokens = tokens, clock: CommandClock = clock) -> CommandDecision {
        decide(Array(payload.utf8), tokens: tokens, clock: clock)
    }

    static let validAcknowledge =
        #"{"issued":"\#(issued)","id":"c-17","command":"acknowledge-alarm","token":"\#(centralToken)","bed":"chair-1","alarm":"a-42"}"#
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
        let pause = " {\n \"token\" : \"\(F.centralToken)\", \"issued\": \"\(F.issued)\", \"command\":\"pause-audio\", \"id\":\"c 18 ~!\"\t} \n"
        #expect(F.decide(pause) == .accepted(Command(id: "c 18 ~!", kind: .pauseAudio, issuer: "central-1")))
        let rebirth = #"{"issued":"\#(F.issued)","id":"c-19","command":"rebirth","token":"\#(F.dashboardToken)"}"#
        #expect(F.decide(rebirth) == .accepted(Command(id: "c-19", kind: .rebirth, issuer: "dashboard-3")))
    }

    @Test func acceptsIdsAndAlarmIdsAtTheirLimits() {
        let id = String(repeating: "~", count: 64)
        let alarm = String(repeating: "A.z_9-", count: 10) + "abcd"
        let payload = #"{"issued":"\#(F.issued)","id":"\#(id)","command":"acknowledge-alarm","token":"\#(F.centralToken)","bed":"chair-2","alarm":"\#(alarm)"}"#
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
            (#"{"issued":"\#(F.issued)","id":"c-1","id":"c-2","command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "duplicate key 'id'"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"rebirth","token":"\#(c)","token":"\#(d)"}"#, "c-1", .rebirth, "duplicate key 'token'"),
            (#"{"command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "missing id"),
            (#"{"issued":"\#(F.issued)","id":17,"command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "id must be a string"),
            (#"{"issued":"\#(F.issued)","id":null,"command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "id must be a string"),
            (#"{"issued":"\#(F.issued)","id":"","command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "id must be 1 to 64 printable ASCII characters"),
            (#"{"issued":"\#(F.issued)","id":"\#(String(repeating: "x", count: 65))","command":"rebirth","token":"\#(c)"}"#, nil, .rebirth,
             "id must be 1 to 64 printable ASCII characters"),
            (#"{"issued":"\#(F.issued)","id":"c\n1","command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "id must be 1 to 64 printable ASCII characters"),
            (#"{"issued":"\#(F.issued)","id":"c-é","command":"rebirth","token":"\#(c)"}"#, nil, .rebirth, "id must be 1 to 64 printable ASCII characters"),
            (#"{"issued":"\#(F.issued)","id":"c-1","token":"\#(c)"}"#, "c-1", nil, "missing command"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":["rebirth"],"token":"\#(c)"}"#, "c-1", nil, "command must be a string"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"reboot","token":"\#(c)"}"#, "c-1", nil,
             "unknown command 'reboot'; expected acknowledge-alarm, pause-audio, rebirth, session-start or session-end"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"Rebirth","token":"\#(c)"}"#, "c-1", nil,
             "unknown command 'Rebirth'; expected acknowledge-alarm, pause-audio, rebirth, session-start or session-end"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"x\u0007y","token":"\#(c)"}"#, "c-1", nil,
             "unknown command 'x?y'; expected acknowledge-alarm, pause-audio, rebirth, session-start or session-end"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"pause-audio","token":"\#(c)","bed":"chair-1"}"#, "c-1", .pauseAudio,
             "unknown key 'bed'; pause-audio takes id, command, issued and token"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"rebirth","token":"\#(c)","force":true}"#, "c-1", .rebirth,
             "unknown key 'force'; rebirth takes id, command, issued and token"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1","alarm":"a-1","note":"x"}"#,
             "c-1", .acknowledgeAlarm, "unknown key 'note'; acknowledge-alarm takes id, command, issued, token, bed and alarm"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"rebirth"}"#, "c-1", .rebirth, "missing token"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"rebirth","token":12345678901234567890}"#, "c-1", .rebirth, "token must be a string"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"rebirth","token":"wrong-token-wrong-token"}"#, "c-1", .rebirth, "unauthorised: token not recognised"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"rebirth","token":""}"#, "c-1", .rebirth, "unauthorised: token not recognised"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"rebirth","token":"\#(c.dropLast())"}"#, "c-1", .rebirth, "unauthorised: token not recognised"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"rebirth","token":"\#(c)x"}"#, "c-1", .rebirth, "unauthorised: token not recognised"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"rebirth","token":"\#(c.lowercased())"}"#, "c-1", .rebirth, "unauthorised: token not recognised"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"pause-audio","token":"\#(d)"}"#, "c-1", .pauseAudio,
             "unauthorised: 'dashboard-3' may not pause-audio"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(d)","bed":"chair-9","alarm":"a-1"}"#, "c-1", .acknowledgeAlarm,
             "unauthorised: 'dashboard-3' may not acknowledge-alarm"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(c)","alarm":"a-1"}"#, "c-1", .acknowledgeAlarm, "missing bed"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":1,"alarm":"a-1"}"#, "c-1", .acknowledgeAlarm,
             "bed must be a string"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-9","alarm":"a-1"}"#, "c-1", .acknowledgeAlarm,
             "unknown bed 'chair-9'"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"Chair-1","alarm":"a-1"}"#, "c-1", .acknowledgeAlarm,
             "unknown bed 'Chair-1'"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1"}"#, "c-1", .acknowledgeAlarm, "missing alarm"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1","alarm":42}"#, "c-1", .acknowledgeAlarm,
             "alarm must be a string"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1","alarm":""}"#, "c-1", .acknowledgeAlarm,
             "bad alarm id '': expected 1 to 64 letters, digits, '.', '_' or '-'"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1","alarm":"a/42"}"#, "c-1", .acknowledgeAlarm,
             "bad alarm id 'a/42': expected 1 to 64 letters, digits, '.', '_' or '-'"),
            (#"{"issued":"\#(F.issued)","id":"c-1","command":"acknowledge-alarm","token":"\#(c)","bed":"chair-1","alarm":"\#(String(repeating: "a", count: 65))"}"#,
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
        let payload = #"{"issued":"\#(F.issued)","id":"c-1","command":"rebirth","token":"\#(F.centralToken)"}"# + padding
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
        #expect(F.decide(#"{"issued":"\#(F.issued)","id":"c-2","command":"rebirth"}"#, tokens: .notConfigured)
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
        let denied = F.decide(#"{"issued":"\#(F.issued)","id":"c-9","command":"pause-audio","token":"\#(F.dashboardToken)"}"#)
        #expect(encodeCommandResponse(denied, wallClockMilliseconds: Self.time)
            == #"{"id":"c-9","command":"pause-audio","result":"refused","reason":"unauthorised: 'dashboard-3' may not pause-audio","time":"2026-11-24T08:40:01.002Z"}"#)
    }

    @Test func escapesIdsThatNeedIt() throws {
        let decision = F.decide(#"{"issued":"\#(F.issued)","id":"say \"hi\" \\ there","command":"rebirth","token":"\#(F.centralToken)"}"#)
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
        #expect(F.decide(payload, tokens: tokens) == decision, "not deterministic")
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
            let decision = F.decide(payload)
            guard case .refused = decision else {
                Issue.record("a truncation to \(length) bytes was accepted")
                continue
            }
            Self.checkInvariants(payload, decision)
        }
        // Truncating the trailing whitespace of a padded command leaves a valid one.
        let padded = Array((F.validAcknowledge + " \n").utf8)
        for length in valid.count...padded.count {
            #expect(F.decide(Array(padded[0..<length]))
                == F.decide(valid))
        }
    }

    @Test func randomMutationsNeverCrashAndStayConsistent() {
        var random = SplitMix64(seed: 0x5EED_0001)
        let seeds = [
            F.validAcknowledge,
            #"{"issued":"\#(F.issued)","id":"c-18","command":"pause-audio","token":"\#(F.centralToken)"}"#,
            #"{"issued":"\#(F.issued)","id":"c-19","command":"rebirth","token":"\#(F.dashboardToken)"}"#,
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
            let decision = F.decide(payload)
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
            let decision = F.decide(payload)
            guard case .refused = decision else { Issue.record("random bytes accepted"); continue }
            Self.checkInvariants(payload, decision)
        }
    }
}

/// Stale, future and repeated commands: the decision against an injected clock.
struct CommandFreshnessTests {
    typealias F = CommandFixtures

    static func pause(id: String = "c-1", issued: String, token: String = F.centralToken) -> [UInt8] {
        Array(#"{"id":"\#(id)","issued":"\#(issued)","command":"pause-audio","token":"\#(token)"}"#.utf8)
    }

    static func reason(_ decision: CommandDecision) -> String? {
        if case .refused(let refusal) = decision { return refusal.reason }
        return nil
    }

    @Test func readsRFC3339UTCTimesAndNothingElse() {
        #expect(parseUTCTimestamp("1970-01-01T00:00:00Z") == 0)
        #expect(parseUTCTimestamp("2026-12-03T13:16:13Z") == F.nowMilliseconds)
        #expect(parseUTCTimestamp("2026-12-03T13:16:13.250Z") == F.nowMilliseconds + 250)
        #expect(parseUTCTimestamp("2026-12-03T13:16:13.2Z") == F.nowMilliseconds + 200)
        #expect(parseUTCTimestamp("2026-12-03T13:16:13.123456789Z") == F.nowMilliseconds + 123)
        #expect(parseUTCTimestamp("2024-02-29T00:00:00Z") == 1_709_164_800_000)
        #expect(parseUTCTimestamp("2000-03-01T00:00:00Z") == 951_868_800_000)
        // Every millisecond of a day round-trips through the formatter.
        for milliseconds: Int64 in [0, 1, 999, 86_399_999, 951_782_400_000, 4_102_444_799_999, F.nowMilliseconds] {
            #expect(parseUTCTimestamp(formatUTCTimestamp(millisecondsSinceEpoch: milliseconds)) == milliseconds)
        }
        for text in ["", "2026-12-03T13:16:13", "2026-12-03 13:16:13Z", "2026-12-03T13:16:13+00:00", "2026-12-03t13:16:13z",
                     "2026-13-03T13:16:13Z", "2025-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-12-03T24:00:00Z",
                     "2026-12-03T13:60:00Z", "2026-12-03T13:16:13.Z", "2026-12-03T13:16:13.1234567890Z",
                     "2026-12-03T13:16:13,250Z", "+026-12-03T13:16:13Z", "2026-12-0３T13:16:13Z"] {
            #expect(parseUTCTimestamp(text) == nil, "\(text)")
        }
    }

    @Test func aCommandOlderThanTheMaximumAgeIsRefusedAsStale() {
        // 30.000 s old is still fresh; 30.001 s is not.
        #expect(F.decide(Self.pause(issued: "2026-12-03T13:15:43.000Z")) == .accepted(Command(id: "c-1", kind: .pauseAudio, issuer: "central-1")))
        let stale = F.decide(Self.pause(issued: "2026-12-03T13:15:42.999Z"))
        #expect(Self.reason(stale)?.hasPrefix("stale: issued 30.001 s ago, and commands older than 30 s (commands.max_age_s) are refused") == true,
                "\(stale)")
        let queuedForMinutes = F.decide(Self.pause(issued: "2026-12-03T13:11:13Z"))
        #expect(Self.reason(queuedForMinutes)?.hasPrefix("stale: issued 300 s ago") == true, "\(queuedForMinutes)")
    }

    @Test func aCommandFromTheFutureIsRefusedBeyondTheSendersAndThisClocksError() {
        // Synchronised, 50 ms of stated error: 2.05 s ahead is allowed, 2.051 s is not.
        #expect(F.decide(Self.pause(issued: "2026-12-03T13:16:15.050Z")) == .accepted(Command(id: "c-1", kind: .pauseAudio, issuer: "central-1")))
        let ahead = F.decide(Self.pause(issued: "2026-12-03T13:16:15.051Z"))
        #expect(Self.reason(ahead) == "issued 2.051 s in the future by this box's clock, beyond the 2.05 s allowed (2 s for the sender's "
            + "clock and 50 ms this box's clock may be off); check that both clocks are synchronised by NTP", "\(ahead)")
        // Unsynchronised, the kernel's 16 s: 18 s ahead is allowed, more is not.
        let unsynchronised = CommandClock(nowMilliseconds: F.nowMilliseconds, errorMilliseconds: 16_000_000)
        #expect(unsynchronised.futureAllowanceMilliseconds == 18_000, "the error is capped at the kernel's 16 s")
        #expect(F.decide(Self.pause(issued: "2026-12-03T13:16:31Z"), clock: unsynchronised)
            == .accepted(Command(id: "c-1", kind: .pauseAudio, issuer: "central-1")))
        #expect(Self.reason(F.decide(Self.pause(issued: "2026-12-03T13:16:31.001Z"), clock: unsynchronised))?
            .hasPrefix("issued 18.001 s in the future") == true)
    }

    @Test func theIssueTimeIsRequiredAndReadStrictly() {
        let missing = F.decide(#"{"id":"c-1","command":"rebirth","token":"\#(F.centralToken)"}"#)
        #expect(Self.reason(missing) == #"missing issued: every command carries the time it was issued, an RFC 3339 UTC time such as "2026-12-03T13:16:13.250Z""#)
        #expect(Self.reason(F.decide(#"{"id":"c-1","issued":1796303773,"command":"rebirth","token":"\#(F.centralToken)"}"#))?
            .hasPrefix("issued must be an RFC 3339 UTC time") == true)
        #expect(Self.reason(F.decide(Self.pause(issued: "2026-12-03T14:16:13+01:00")))?
            .hasPrefix("issued '2026-12-03T14:16:13+01:00' is not an RFC 3339 UTC time") == true)
        // A sender without a valid token learns nothing about the clock: authorisation first.
        #expect(Self.reason(F.decide(Self.pause(issued: "2020-01-01T00:00:00Z", token: "wrong-token-wrong-token")))
            == "unauthorised: token not recognised")
    }

    @Test func aRepeatedIdFromTheSameSenderIsRefusedUntilItWouldBeStale() {
        var recentIDs = RecentCommandIDs()
        func decide(_ payload: [UInt8], at now: Int64 = F.nowMilliseconds) -> CommandDecision {
            decideCommand(payload, tokens: F.tokens, bedIDs: F.beds, clock: CommandClock(nowMilliseconds: now, errorMilliseconds: 0),
                          maximumAgeMilliseconds: F.maximumAgeMilliseconds, recentIDs: &recentIDs)
        }
        let first = Self.pause(issued: F.issued)
        #expect(decide(first) == .accepted(Command(id: "c-1", kind: .pauseAudio, issuer: "central-1")))
        // The same bytes again (a redelivery), and the same id with a new time (a resend).
        #expect(Self.reason(decide(first))?.hasPrefix("repeated id: 'central-1' already sent a command with this id within 30 s") == true)
        #expect(Self.reason(decide(Self.pause(issued: "2026-12-03T13:16:13Z"), at: F.nowMilliseconds + 20_000))?
            .hasPrefix("repeated id") == true)
        // Another sender's "c-1" is its own command; a refused command's id is not remembered.
        let rebirth = Array(#"{"id":"c-1","issued":"\#(F.issued)","command":"rebirth","token":"\#(F.dashboardToken)"}"#.utf8)
        #expect(decide(rebirth) == .accepted(Command(id: "c-1", kind: .rebirth, issuer: "dashboard-3")))
        let staleTwo = Self.pause(id: "c-2", issued: "2026-12-03T13:10:00Z")
        #expect(Self.reason(decide(staleTwo))?.hasPrefix("stale") == true)
        #expect(decide(Self.pause(id: "c-2", issued: F.issued)) == .accepted(Command(id: "c-2", kind: .pauseAudio, issuer: "central-1")))
        // Remembered as long as the command is not stale (30.000 s old), then forgotten, and the
        // age check refuses it.
        #expect(Self.reason(decide(first, at: F.nowMilliseconds + 27_000))?.hasPrefix("repeated id") == true)
        #expect(recentIDs.count(at: F.nowMilliseconds + 27_000) == 3)
        #expect(Self.reason(decide(first, at: F.nowMilliseconds + 27_001))?.hasPrefix("stale: issued 30.001 s ago") == true)
        #expect(recentIDs.count(at: F.nowMilliseconds + 27_001) == 0)
    }

    @Test func theIdMemoryIsBoundedAndRefusesRatherThanForgets() {
        var recentIDs = RecentCommandIDs()
        func decide(_ id: String, at now: Int64) -> CommandDecision {
            let issued = formatUTCTimestamp(millisecondsSinceEpoch: now)
            return decideCommand(Self.pause(id: id, issued: issued), tokens: F.tokens, bedIDs: F.beds,
                                 clock: CommandClock(nowMilliseconds: now, errorMilliseconds: 0),
                                 maximumAgeMilliseconds: F.maximumAgeMilliseconds, recentIDs: &recentIDs)
        }
        for index in 0..<RecentCommandIDs.capacity {
            #expect(Self.reason(decide("c-\(index)", at: F.nowMilliseconds + Int64(index))) == nil)
        }
        #expect(recentIDs.count(at: F.nowMilliseconds + 1000) == RecentCommandIDs.capacity)
        let full = decide("one-more", at: F.nowMilliseconds + 1000)
        #expect(Self.reason(full)?.hasPrefix("too many commands: 256 were accepted within 30 s") == true, "\(full)")
        #expect(Self.reason(decide("c-0", at: F.nowMilliseconds + 1000))?.hasPrefix("repeated id") == true, "nothing was forgotten")
        // The first id goes stale 30 s after it was issued: its slot takes the next command.
        #expect(decide("one-more", at: F.nowMilliseconds + 30_001) == .accepted(Command(id: "one-more", kind: .pauseAudio, issuer: "central-1")))
        #expect(Self.reason(decide("one-more", at: F.nowMilliseconds + 30_002))?.hasPrefix("repeated id") == true)
    }

    @Test func theIntakeRemembersAcrossCommands() {
        var intake = CommandIntake(tokens: F.tokens, maximumAgeSeconds: 30)
        let payload = Self.pause(issued: F.issued)
        #expect(intake.decide(payload, bedIDs: F.beds, clock: F.clock) == .accepted(Command(id: "c-1", kind: .pauseAudio, issuer: "central-1")))
        #expect(Self.reason(intake.decide(payload, bedIDs: F.beds, clock: F.clock))?.hasPrefix("repeated id") == true)
        var short = CommandIntake(tokens: F.tokens, maximumAgeSeconds: 2)
        #expect(Self.reason(short.decide(payload, bedIDs: F.beds, clock: F.clock))?.hasPrefix("stale: issued 3 s ago, and commands older than 2 s") == true)
    }
}

/// A sender that puts its token where no token belongs (in the id, as the command) must not
/// have it published: the reply goes to every subscriber of the responses topic. Found by the
/// command-payload fuzz target (Tests/Fuzz/Inputs/command-payload/reproducers).
struct CommandTokenEchoTests {
    typealias F = CommandFixtures

    @Test func aTokenInTheIdOrAsTheCommandIsNeverEchoed() throws {
        let payloads = [
            #"{"issued":"\#(F.issued)","id":"c-17\#(F.centralToken)","command":"acknowledge-alarm","token":"\#(F.centralToken)","bed":"chair-1","alarm":"a-42"}"#,
            #"{"id":"c-17\#(F.dashboardToken)","bed":"chair-1"}"#,
            #"{"id":"c-1","command":"\#(F.centralToken)"}"#,
        ]
        for payload in payloads {
            let decision = F.decide(payload)
            guard case let .refused(refusal) = decision else {
                Issue.record("accepted: \(payload)")
                continue
            }
            let text = encodeCommandResponse(decision, wallClockMilliseconds: 0)
            #expect(!text.contains(F.centralToken) && !text.contains(F.dashboardToken), "\(text)")
            #expect(refusal.reason.contains("token"), "the reason does not say what is wrong: \(refusal.reason)")
            #expect(try JSONParser.parse(text)["result"] == .string("refused"))
        }
    }
}
