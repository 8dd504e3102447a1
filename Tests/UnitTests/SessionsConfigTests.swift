@testable import Config
import Sessions
import Testing

/// `sessions:`: when a session ends, how long records are kept and where, their defaults and their mistakes.
struct SessionsConfigTests {
    @Test func defaultsEndAfterTenMinutesAndKeepThirtyDaysBesideTheQueue() throws {
        let config = try ConfigLoader.parse(text: PublishingConfigTests.base, file: "config.yaml")
        #expect(config.sessions.endAfterStoppedSeconds == 600 && config.sessions.keepDays == 30)
        #expect(config.sessions.directory == ConfigDecoder.siblingPath(of: config.queue.directory, named: "sessions"))
    }

    @Test func everySessionsKeyIsRead() throws {
        let config = try ConfigLoader.parse(text: PublishingConfigTests.base
                                                + "sessions: { end_after_stopped_s: 120, keep_days: 7, directory: /srv/sessions }\n",
                                            file: "config.yaml")
        #expect(config.sessions == SessionSettings(endAfterStoppedSeconds: 120, keepDays: 7, directory: "/srv/sessions"))
    }

    @Test func mistakesNameTheirPositionAndKey() {
        let cases: [(String, String)] = [
            ("sessions: { end_after_stopped_s: 5 }\n", "config.yaml:9:34: sessions.end_after_stopped_s: 5 is out of range (10...86400)"),
            ("sessions: { keep_days: 0 }\n", "config.yaml:9:24: sessions.keep_days: 0 is out of range (1...3650)"),
            ("sessions: { keep_days: \"30\" }\n", "config.yaml:9:24: sessions.keep_days: expected an integer"),
            ("sessions: { keep: 30 }\n",
             "config.yaml:9:13: sessions.keep: unknown key (expected one of: end_after_stopped_s, keep_days, directory)"),
        ]
        for (addition, expected) in cases {
            let refusal = Self.refusal(PublishingConfigTests.base + addition)
            #expect(refusal?.contains(expected) == true, "\(refusal ?? "accepted: \(addition)")")
        }
    }

    /// Why the configuration is refused; nil when it is accepted.
    static func refusal(_ text: String) -> String? {
        do {
            _ = try ConfigLoader.parse(text: text, file: "config.yaml")
            return nil
        } catch {
            return error.description
        }
    }
}
