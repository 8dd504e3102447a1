import Commands
import FuzzSupport
import JSON
import Platform

// MQTT command payloads through `CommandIntake`, as the agent's command thread decides them:
// authorisation, freshness and repeated ids. The input is up to 8 payloads separated by a
// zero byte, decided in order against one intake. Properties: a payload accepted once is
// refused when it arrives again; the reply is JSON that says what was decided and never
// carries a token.
let centralToken = "5b0e6c2f9d1a4e7b8c3f2a1d0e9b8c7a6f5e4d3c2b1a0f9e"
let chartingToken = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"
let tokens = try! CommandTokens.parse(Array("""
    central-station \(centralToken) acknowledge-alarm,pause-audio,rebirth
    charting-service \(chartingToken) rebirth

    """.utf8), file: "fuzz-tokens")
// 2026-12-03T13:16:13.250Z, the issue time of the seeds.
let clock = CommandClock(nowMilliseconds: 1_796_303_773_250, errorMilliseconds: 500)

func replyHolds(_ decision: CommandDecision) {
    let reply = encodeCommandResponse(decision, wallClockMilliseconds: clock.nowMilliseconds)
    let parsed = try? JSONParser.parse(reply)
    let accepted: Bool
    if case .accepted = decision { accepted = true } else { accepted = false }
    fuzzRequire(parsed?["result"]?.stringValue == (accepted ? "accepted" : "refused"), "reply \(reply) for \(decision)")
    fuzzRequire(!reply.contains(centralToken) && !reply.contains(chartingToken), "reply \(reply) carries a token")
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzCommandPayload(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    var intake = CommandIntake(tokens: tokens, maximumAgeSeconds: 30)
    for payload in bytes.split(separator: 0, maxSplits: 7, omittingEmptySubsequences: false).map(Array.init) {
        let decision = intake.decide(payload, bedIDs: ["chair-1", "chair-2"], clock: clock)
        replyHolds(decision)
        if case .accepted = decision {
            let again = intake.decide(payload, bedIDs: ["chair-1", "chair-2"], clock: clock)
            replyHolds(again)
            if case .accepted = again { fuzzRequire(false, "a command was accepted twice: \(String(decoding: payload, as: UTF8.self))") }
        }
    }
    return 0
}

runFuzzTarget(fuzzCommandPayload, seeds: {
    let issued = formatUTCTimestamp(millisecondsSinceEpoch: clock.nowMilliseconds)
    let acknowledge = #"{"id":"c-17","command":"acknowledge-alarm","issued":"\#(issued)","token":"\#(centralToken)","bed":"chair-1","alarm":"chair-1.spo2-low"}"#
    let pause = #"{"id":"c-18","command":"pause-audio","issued":"\#(issued)","token":"\#(centralToken)"}"#
    let rebirth = #"{"id":"r-1","command":"rebirth","issued":"2026-12-03T13:15:50Z","token":"\#(chartingToken)"}"#
    let stale = #"{"id":"c-19","command":"pause-audio","issued":"2026-12-03T13:10:00Z","token":"\#(centralToken)"}"#
    return [Array(acknowledge.utf8), Array(pause.utf8) + [0] + Array(pause.utf8), Array(rebirth.utf8) + [0] + Array(stale.utf8)]
})
