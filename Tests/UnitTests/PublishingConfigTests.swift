import Foundation
import Testing
@testable import Config
import Health
import StoreAndForward
import Profiles
import Commands
import MQTT

/// The publishing settings: TLS, credentials, the disk queue, health and commands.
struct PublishingConfigTests {
    static let base = """
        site: clinic-a
        box: edge-01
        mqtt:
          host: broker.local
        beds:
          - id: chair-1
            devices:
              - { id: monitor-1, profile: patient-monitor, tcp: { host: 10.0.0.5 } }

        """

    func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bedside-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func defaultsSuitABoxUnderSystemd() throws {
        let config = try ConfigLoader.parse(text: Self.base, file: "config.yaml")
        #expect(config.queue == QueueSettings(directory: "/var/lib/bedside-gateway/queue", maximumBytes: 64 << 20,
                                              segmentBytes: 1 << 20, fsync: .interval(milliseconds: 1000)))
        #expect(config.health == HealthSettings(listenAddress: "127.0.0.1", port: 9180, publishIntervalSeconds: 10,
                                                requireClockSync: true))
        #expect(config.commands.tokensFile == nil)
        #expect(config.mqtt.sessionExpirySeconds == 3600)
        #expect(config.mqtt.credentials == nil && config.mqtt.tls == nil)
    }

    @Test func everyPublishingKeyIsRead() throws {
        let directory = try scratch()
        for name in ["ca.pem", "box.pem", "box.key", "tokens"] {
            try "x".write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let credentials = directory.appendingPathComponent("credentials").path
        try "# box credentials\nusername=edge-01\npassword=p=ss word\n".write(toFile: credentials, atomically: true, encoding: .utf8)
        chmod(credentials, 0o640)
        let text = Self.base.replacingOccurrences(of: "  host: broker.local\n", with: """
              host: broker.local
              session_expiry_s: 86400
              credentials_file: credentials
              tls: { ca_file: ca.pem, cert_file: box.pem, key_file: box.key }
            queue: { directory: spool, max_mb: 8, segment_kb: 256, fsync: always }
            health: { listen: "::1", port: 0, publish_interval_s: 30, require_clock_sync: false }
            commands: { tokens_file: tokens, max_age_s: 12 }

            """)
        let file = directory.appendingPathComponent("gateway.yaml").path
        let config = try ConfigLoader.parse(text: text, file: file)
        let root = directory.path + "/"
        #expect(config.mqtt.sessionExpirySeconds == 86400)
        #expect(config.mqtt.credentials == MQTTCredentials(username: "edge-01", password: "p=ss word", file: root + "credentials"))
        #expect(config.mqtt.tls == MQTTTLSOptions(caFile: root + "ca.pem", certificateFile: root + "box.pem", keyFile: root + "box.key"))
        #expect(config.queue == QueueSettings(directory: root + "spool", maximumBytes: 8 << 20, segmentBytes: 256 << 10, fsync: .always))
        #expect(config.health == HealthSettings(listenAddress: "::1", port: 0, publishIntervalSeconds: 30, requireClockSync: false))
        #expect(config.commands.tokensFile == root + "tokens")
        #expect(config.commands.maximumAgeSeconds == 12)
        #expect(try ConfigLoader.parse(text: Self.base, file: file).commands.maximumAgeSeconds == 30, "the default")
    }

    @Test func mistakesNameTheirPositionAndKey() throws {
        let cases: [(String, String)] = [
            ("queue: { fsync: sometimes }\n", "config.yaml:9:17: queue.fsync: unknown fsync policy \"sometimes\" (expected one of: always, interval, never)"),
            ("queue: { fsync: never, fsync_interval_ms: 100 }\n",
             "config.yaml:9:43: queue.fsync_interval_ms: fsync_interval_ms applies only with 'fsync: interval' (fsync is \"never\")"),
            ("queue: { max_mb: 0 }\n", "config.yaml:9:18: queue.max_mb: 0 is out of range (1...1000000)"),
            ("queue: { max_mb: 1, segment_kb: 1024 }\n",
             "config.yaml:9:33: queue.segment_kb: segment_kb (1024) must be at most half of max_mb (1 MiB), so that dropping the oldest segment frees room without emptying the queue"),
            ("health: { listen: localhost }\n",
             "config.yaml:9:19: health.listen: invalid address \"localhost\": expected an IPv4 or IPv6 address such as 127.0.0.1 (loopback), ::1 or the address of the box's monitoring network"),
            ("health: { port: 70000 }\n", "config.yaml:9:17: health.port: 70000 is out of range (0...65535)"),
            ("health: { require_clock_sync: maybe }\n", "config.yaml:9:31: health.require_clock_sync: expected true or false, found \"maybe\""),
            ("commands: { tokens_file: /nonexistent/tokens }\n",
             "config.yaml:9:26: commands.tokens_file: cannot read the command tokens file \"/nonexistent/tokens\": No such file or directory"),
            ("commands: { token: abc }\n", "config.yaml:9:13: commands.token: unknown key (expected one of: tokens_file, max_age_s)"),
            ("commands: { max_age_s: 0 }\n", "config.yaml:9:24: commands.max_age_s: 0 is out of range (1...600)"),
            ("commands: { max_age_s: 601 }\n", "config.yaml:9:24: commands.max_age_s: 601 is out of range (1...600)"),
            ("commands: { max_age_s: soon }\n", "config.yaml:9:24: commands.max_age_s: expected an integer, found \"soon\""),
        ]
        for (addition, expected) in cases {
            #expect(renderedErrors(Self.base + addition) == [expected], "\(addition)")
        }
        let tls = Self.base.replacingOccurrences(of: "  host: broker.local\n",
                                                 with: "  host: broker.local\n  tls: { ca_file: /nonexistent/ca.pem }\n")
        #expect(renderedErrors(tls) == ["config.yaml:5:19: mqtt.tls.ca_file: cannot read the CA certificate file (PEM) \"/nonexistent/ca.pem\": No such file or directory"])
        let password = Self.base.replacingOccurrences(of: "  host: broker.local\n",
                                                      with: "  host: broker.local\n  password: secret\n")
        #expect(renderedErrors(password).first?.hasPrefix("config.yaml:5:3: mqtt.password: unknown key") == true,
                "a password has no place in the configuration: \(renderedErrors(password))")
    }

    @Test func credentialsFilesAreCheckedLineByLineAndMustNotBeWorldReadable() throws {
        let directory = try scratch()
        let path = directory.appendingPathComponent("credentials").path
        let config = Self.base.replacingOccurrences(of: "  host: broker.local\n",
                                                    with: "  host: broker.local\n  credentials_file: \(path)\n")
        try "username=edge-01\npassword=secret\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        #expect(renderedErrors(config) == ["config.yaml:5:21: mqtt.credentials_file: the credentials file \"\(path)\" can be read by every user on this box; restrict it (chmod 640, owned by root and the service's group)"])
        chmod(path, 0o600)
        #expect(renderedErrors(config) == [])
        func write(_ text: String) throws {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)
        }
        try write("username=edge-01\npasword=secret\n")
        #expect(renderedErrors(config) == ["\(path):2:1: pasword: unknown key (expected username or password)"])
        try write("edge-01 secret\n")
        #expect(renderedErrors(config) == ["\(path):1:1: expected 'username=NAME' or 'password=SECRET'"])
        try write("username=edge-01\n")
        #expect(renderedErrors(config) == ["\(path): no 'password=' line"])
        try write("username=edge-01\npassword=\n")
        #expect(renderedErrors(config) == ["\(path):2:10: password: the password is empty"])
    }
}

/// The example files shipped in Deploy/config are valid as they stand.
struct ShippedPublishingExamplesTests {
    static let configDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Deploy/config")

    @Test func credentialsExampleParses() throws {
        let path = Self.configDirectory.appendingPathComponent("mqtt-credentials.example").path
        let parsed = parseCredentials(Array(try Data(contentsOf: URL(fileURLWithPath: path))), file: path)
        #expect(parsed.errors.isEmpty, "\(parsed.errors)")
        #expect(parsed.username == "bedside-gateway")
    }

    @Test func commandTokensExampleParses() throws {
        let path = Self.configDirectory.appendingPathComponent("command-tokens.example").path
        let tokens = try CommandTokens.load(path: path)
        #expect(tokens.senders.map(\.name) == ["central-station", "charting-service"])
        #expect(tokens.senders[1].may(.rebirth) && !tokens.senders[1].may(.pauseAudio))
    }
}
