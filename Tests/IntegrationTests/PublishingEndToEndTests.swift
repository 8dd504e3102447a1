import Foundation
import MQTT
import Testing
import TestSupport
import Vitals

/// Publishing as a clinic runs it: Debian's mosquitto, the simulator, and the agent as its own
/// process (`agentCommand()`, so CI reruns these against the firmware). Nothing may be lost:
/// every test checks per-bed sequence numbers at the subscriber, which de-duplicates by
/// bed + sequence as the topic contract tells subscribers to.
@Suite(.tags(.slow))
struct PublishingEndToEndTests {
    static let prefix = "bedside/test/box-1"

    // MARK: Store-and-forward

    @Test func brokerStoppedFor60SecondsWhile32BedsPublishLosesNothing() throws {
        let rig = try PublishingRig("outage")
        defer { rig.stopAll() }
        let persistence = rig.directory.appendingPathComponent("broker-data")
        try FileManager.default.createDirectory(at: persistence, withIntermediateDirectories: true)
        var broker = try rig.startBroker(persistence: persistence)
        let ports = try rig.startSimulator(monitors: 32)
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 1000)
        // A persistent session: the broker keeps its subscription across its own restart and
        // queues for it while it reconnects, as a charting service's subscriber would.
        let subscriber = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/beds/+/vitals",
                                                 sessionID: "outage-charting-\(getpid())")
        try rig.startAgent()
        let beforeOutage = subscriber.wait(timeout: 120) { Self.perBed($0).count == 32 && Self.perBed($0).values.allSatisfy { $0.count >= 3 } }
        try #require(Self.perBed(beforeOutage).count == 32, "not every bed published before the outage:\n\(rig.agentOutput)")

        broker.stop(graceful: true)
        let outageStarted = Date()
        // The outage under test: a minute of samples for 32 beds goes to the disk queue.
        Thread.sleep(forTimeInterval: 60)
        #expect(rig.agentIsRunning, "the agent must ride out the outage:\n\(rig.agentOutput)")
        let brokerBack = utcTimestampNow()
        broker = try rig.startBroker(persistence: persistence, port: broker.port)
        let outageSeconds = Date().timeIntervalSince(outageStarted)

        // Reconnect backoff is capped at 30 s; replay of ~2000 messages follows.
        let finalMessages = subscriber.wait(timeout: 240) { messages in
            let beds = Self.perBed(messages)
            return beds.count == 32 && beds.values.allSatisfy { received in
                Self.isContiguousFromOne(received) && Self.distinctSequences(received) >= Int(outageSeconds) + 8
            }
        }
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
        let beds = Self.perBed(finalMessages)
        #expect(beds.count == 32)
        for (bed, received) in beds.sorted(by: { $0.key < $1.key }) {
            let sequences = Set(received.map(\.sequence)).sorted()
            let contiguous = Self.isContiguousFromOne(received)
            #expect(contiguous, "\(bed): missing \(Self.missing(sequences))\n\(rig.agentOutput)")
            // Covered the whole outage: about one message a second went to the queue meanwhile,
            // and each is sent for the first time when the broker is back, so it is not marked
            // replayed. Only what was in flight when the broker went (one or two a bed) is.
            #expect(Self.distinctSequences(received) >= 50 + 3, "\(bed): \(Self.distinctSequences(received)) messages")
            let replayedCount = received.filter(\.replayed).count
            #expect(replayedCount <= 5, "\(bed): \(replayedCount) marked replayed, more than were in flight")
            // Replayed messages come oldest first, and so does everything else made before the
            // broker was back: live before the outage, then the backlog oldest first. (What was
            // made between the broker's return and the reconnect may interleave with live
            // messages, and a message made later may overtake the backlog: both are left out.)
            let replayedOrder = received.filter(\.replayed).map(\.sequence)
            let firstSentOrder = received.filter { !$0.replayed && $0.time < brokerBack }.map(\.sequence)
            let replayedInOrder = Self.isNonDecreasing(replayedOrder)
            let firstSentInOrder = Self.isNonDecreasing(firstSentOrder)
            #expect(replayedInOrder, "\(bed): replayed out of order: \(replayedOrder)")
            #expect(firstSentInOrder, "\(bed): made before the broker was back, out of order: \(firstSentOrder)")
        }
    }

    /// `replayed` marks a message sent again. On a fresh start nothing has been sent before, so
    /// nothing is marked, though the first vitals and the limit-change events are made before
    /// the first CONNACK and wait in the queue for it.
    @Test func aFreshStartWithTheBrokerUpMarksNothingReplayed() throws {
        let rig = try PublishingRig("fresh-start")
        defer { rig.stopAll() }
        let broker = try rig.startBroker()
        let ports = try rig.startSimulator(monitors: 2)
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 100,
                            extra: "alarms: { limits: { spo2-low: { threshold: 88 }, hr-high: { threshold: 130 } } }")
        let everything = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/#")
        try rig.startAgent()
        let received = everything.wait(timeout: 60) { messages in
            let beds = Self.perBed(messages)
            let limitChanges = messages.filter { String(decoding: $0.payload, as: UTF8.self).contains("\"limit-change\"") }
            return beds.count == 2 && beds.values.allSatisfy { $0.count >= 20 } && limitChanges.count >= 4
        }
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
        let texts = received.map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(texts.filter { $0.contains("\"limit-change\"") }.count >= 4, "two changed limits per bed: \(texts.prefix(20))")
        #expect(Self.perBed(received).values.allSatisfy { $0.count >= 20 }, "\(rig.agentOutput)")
        let marked = texts.filter { $0.contains("\"replayed\"") }
        #expect(marked.isEmpty, "nothing was sent before, yet \(marked.count) message(s) say replayed: \(marked.prefix(3))")
    }

    @Test func agentKilledWithSigkillAndRestartedLosesNothingThatWasQueued() throws {
        let rig = try PublishingRig("kill9")
        defer { rig.stopAll() }
        var broker = try rig.startBroker()
        let ports = try rig.startSimulator(monitors: 4)
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 250)
        var subscriber = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/beds/+/vitals")
        try rig.startAgent()
        var received = subscriber.wait(timeout: 60) { Self.perBed($0).count == 4 && Self.perBed($0).values.allSatisfy { $0.count >= 8 } }
        try #require(Self.perBed(received).count == 4, "\(rig.agentOutput)")

        // The broker goes away, messages pile up in the queue, and the agent is killed mid-stream.
        broker.stop()
        // The outage under test: four seconds of samples wait in the queue when the kill comes.
        Thread.sleep(forTimeInterval: 4)
        rig.killAgent()
        received = subscriber.messages
        let lastSeenBeforeKill = Self.perBed(received).mapValues { $0.map(\.sequence).max() ?? 0 }

        broker = try rig.startBroker(port: broker.port)
        let second = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/beds/+/vitals")
        let status = try RecordingSubscriber(port: broker.port, topic: "\(Self.prefix)/status")
        try rig.startAgent()
        let after = second.wait(timeout: 120) { messages in
            let beds = Self.perBed(received + messages)
            return beds.count == 4 && beds.allSatisfy { bed, all in
                Self.isContiguousFromOne(all) && (all.map(\.sequence).max() ?? 0) >= (lastSeenBeforeKill[bed] ?? 0) + 30
            }
        }
        let all = received + after
        for (bed, messages) in Self.perBed(all).sorted(by: { $0.key < $1.key }) {
            let sequences = Set(messages.map(\.sequence)).sorted()
            let contiguous = Self.isContiguousFromOne(messages)
            #expect(contiguous, "\(bed): missing \(Self.missing(sequences))\n\(rig.agentOutput)")
            // Numbers continue after the restart: a number seen twice is the same message (same
            // time), never a new one that restarted the count.
            let timesBySequence = Dictionary(grouping: messages, by: \.sequence).mapValues { Set($0.map(\.time)) }
            let reused = timesBySequence.filter { $0.value.count > 1 }.keys.sorted()
            #expect(reused.isEmpty, "\(bed): sequence numbers reused by different messages: \(reused)")
            let replayedAfterKill = messages.contains { $0.replayed && $0.sequence > (lastSeenBeforeKill[bed] ?? 0) }
            #expect(replayedAfterKill, "\(bed): what was queued before the kill was not replayed")
        }
        // The agent's Last Will: killed while connected, the broker says offline for it.
        _ = status.wait(timeout: 20) { $0.contains { String(decoding: $0.payload, as: UTF8.self).contains("\"online\"") } }
        rig.killAgent()
        let wills = status.wait(timeout: 30) { $0.contains { String(decoding: $0.payload, as: UTF8.self).contains("connection-lost") } }
        #expect(wills.contains { String(decoding: $0.payload, as: UTF8.self).contains("\"offline\"") },
                "no Last Will after kill -9: \(wills.map { String(decoding: $0.payload, as: UTF8.self) })")
        subscriber = second
    }

    @Test func aFullDiskIsReportedAndTheAgentKeepsGoing() throws {
        try #require(getuid() == 0, "mounting a small tmpfs to fill needs root (CI runs as root)")
        let rig = try PublishingRig("full-disk")
        defer { rig.stopAll() }
        let queue = rig.directory.appendingPathComponent("small-disk")
        try FileManager.default.createDirectory(at: queue, withIntermediateDirectories: true)
        let mount = try runToCompletion(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", queue.path])
        try #require(mount.status == 0, "mount: \(mount.output)")
        defer { _ = try? runToCompletion(["umount", "-l", queue.path]) }
        let ports = try rig.startSimulator(monitors: 4)
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 100, queue: "{ directory: \(queue.path), max_mb: 1, segment_kb: 16 }")
        try rig.startAgent()  // no broker yet: everything goes to the disk, until it is full
        waitUntil(timeout: 60, checkingEvery: 0.2) { rig.agentOutput.contains("No space left on device") || !rig.agentIsRunning }
        #expect(rig.agentOutput.contains("No space left on device"), "\(rig.agentOutput)")
        // What is tested: the agent is still running a while after the disk filled up.
        Thread.sleep(forTimeInterval: 2)
        #expect(rig.agentIsRunning, "a full disk must not stop the agent:\n\(rig.agentOutput)")

        let broker = try rig.startBroker()
        _ = broker
        let subscriber = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/beds/+/vitals")
        let arrived = subscriber.wait(timeout: 90) { Self.perBed($0).values.contains { $0.count >= 20 } }
        #expect(Self.perBed(arrived).values.contains { $0.count >= 20 }, "\(rig.agentOutput)")
        let metrics = try rig.metrics()
        #expect((metrics["bedside_queue_write_failures_total"]?.first?.value ?? 0) > 0, "\(metrics.keys.sorted())")
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
    }

    // MARK: TLS and credentials

    @Test func tlsWithClientCertificateAndPasswordConnectsAndAWrongPasswordIsRetried() throws {
        let rig = try PublishingRig("tls")
        defer { rig.stopAll() }
        let pki = try TestCertificates(directory: rig.directory)
        let tlsPort = freeLoopbackPort()
        let passwordFile = rig.directory.appendingPathComponent("passwd").path
        let made = try runToCompletion(["mosquitto_passwd", "-b", "-c", passwordFile, "box-1", "correct horse=battery"])
        try #require(made.status == 0, "\(made.output)")
        let plainPort = freeLoopbackPort()
        _ = try rig.startBroker(port: plainPort, config: """
            per_listener_settings true
            listener \(tlsPort) 127.0.0.1
            cafile \(pki.caFile)
            certfile \(pki.serverCertificate)
            keyfile \(pki.serverKey)
            require_certificate true
            allow_anonymous false
            password_file \(passwordFile)
            listener \(plainPort) 127.0.0.1
            allow_anonymous true
            """)
        let ports = try rig.startSimulator(monitors: 1)
        let credentials = try rig.writeCredentials(name: "good", username: "box-1", password: "correct horse=battery")
        let tls = "tls: { ca_file: \(pki.caFile), cert_file: \(pki.clientCertificate), key_file: \(pki.clientKey) }"
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 500, mqttPort: tlsPort,
                            mqttExtra: "credentials_file: \(credentials), \(tls)")
        let subscriber = try RecordingSubscriber(port: plainPort, topic: "\(Self.prefix)/beds/+/vitals")
        try rig.startAgent()
        let arrived = subscriber.wait(timeout: 60) { $0.count >= 3 }
        #expect(arrived.count >= 3, "no vitals over TLS:\n\(rig.agentOutput)")
        #expect(rig.stopAgent() == 0)

        let wrong = try rig.writeCredentials(name: "wrong", username: "box-1", password: "not the password")
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 500, mqttPort: tlsPort,
                            mqttExtra: "credentials_file: \(wrong), \(tls)")
        try rig.startAgent()
        waitUntil(timeout: 20, checkingEvery: 0.2) { rig.agentOutput.contains("refused the connection") }
        // What is tested: the agent is still running a while after the refusal (it retries).
        Thread.sleep(forTimeInterval: 3)
        #expect(rig.agentIsRunning, "a wrong password must not stop the agent:\n\(rig.agentOutput)")
        let log = rig.agentOutput
        #expect(log.contains("refused the connection") && log.contains("user name or password") && log.contains(wrong),
                "the refusal should name the cause and the credentials file:\n\(log)")
        #expect(!log.contains("not the password"), "the password must never be logged")
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
    }

    // MARK: Health

    @Test func metricsParseWithPrometheusClientAndReadinessNamesItsChecks() throws {
        let rig = try PublishingRig("health")
        defer { rig.stopAll() }
        _ = try rig.startBroker()
        let ports = try rig.startSimulator(monitors: 2)
        try rig.writeConfig(bedPorts: ports + [freeLoopbackPort()], intervalMilliseconds: 200, healthPublishSeconds: 1)
        let health = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/health")
        let vitals = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/beds/+/vitals")
        try rig.startAgent()
        _ = vitals.wait(timeout: 60) { Self.perBed($0).count == 3 && Self.perBed($0).values.allSatisfy { $0.count >= 10 } }

        var metrics = try rig.metrics()
        /// The sum over the samples that carry `labels` (e.g. every error kind of one device).
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            let matching = metrics[name]?.filter { sample in labels.allSatisfy { sample.labels[$0.key] == $0.value } } ?? []
            return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
        }
        // The counters trail the vitals a subscriber sees by a moment (PUBACKs, the alarm
        // engine's verdicts, the publisher's once-a-second figures): wait until they show what
        // the checks below need.
        try waitUntil(timeout: 15, checkingEvery: 0.2) {
            metrics = try rig.metrics()
            return (value("bedside_mqtt_published_total", ["kind": "live"]) ?? 0) >= 30
                && (value("bedside_mqtt_acknowledged_total") ?? 0) >= 30
                && (value("bedside_alarms_active") ?? 0) >= 4 && (value("bedside_alarm_sounding_priority") ?? 0) >= 2
        }
        #expect((value("bedside_device_requests_total", ["device": "monitor-1"]) ?? 0) >= 10, "\(metrics.keys.sorted())")
        #expect((value("bedside_device_errors_total", ["device": "monitor-3"]) ?? 0) > 0, "the unplugged monitor's errors")
        #expect(value("bedside_device_answering", ["device": "monitor-3"]) == 0)
        #expect(value("bedside_device_answering", ["device": "monitor-1"]) == 1)
        #expect(metrics["bedside_loop_wakeup_latency_seconds"]?.contains { $0.labels["quantile"] == "0.99" } == true)
        #expect((value("bedside_loop_cycles_total") ?? 0) >= 10)
        #expect((value("bedside_mqtt_published_total", ["kind": "live"]) ?? 0) >= 30)
        #expect((value("bedside_mqtt_acknowledged_total") ?? 0) >= 30)
        #expect(value("bedside_mqtt_connected") == 1)
        #expect(value("bedside_queue_pending_messages") != nil && value("bedside_queue_dropped_total") == 0)
        // monitor-3's comm loss, and no buzzer configured (a technical alarm on each of the 3 beds).
        #expect((value("bedside_alarms_active") ?? 0) >= 4, "\(rig.agentOutput)")
        #expect((value("bedside_alarm_sounding_priority") ?? 0) >= 2)

        // Not ready: monitor-3 does not answer; the reason names it. The clock check agrees
        // with the kernel as read independently.
        let ready = try rig.fetch("/readyz")
        #expect(ready.status == 503, "\(ready.body)")
        #expect(ready.body.contains("monitor-3"), "\(ready.body)")
        let clockSynchronised = try Self.kernelClockSynchronised()
        #expect(ready.body.contains(clockSynchronised ? "ok clock" : "fail clock"), "\(ready.body)")
        #expect(ready.body.contains("ok broker"), "\(ready.body)")
        #expect(ready.body.contains("ok alarm log: every alarm event is recorded in "), "\(ready.body)")
        #expect(value("bedside_alarm_log_write_failures_total") == 0)
        let live = try rig.fetch("/healthz")
        #expect(live.status == 200, "\(live.body)")
        #expect(try rig.fetch("/nothing-here").status == 404)

        let summaries = health.wait(timeout: 10) { $0.count >= 2 }
        let last = try JSONSerialization.jsonObject(with: Data(summaries.last?.payload ?? [])) as? [String: Any]
        #expect(last?["ready"] as? Bool == false, "\(String(describing: last))")
        #expect((last?["queue"] as? [String: Any])?["dropped"] as? Int == 0, "\(String(describing: last))")
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
    }

    // MARK: Commands

    @Test func malformedUnknownUnauthorisedStaleFutureAndRepeatedCommandsAreRefusedWithAReasonAndChangeNothing() throws {
        let rig = try PublishingRig("commands")
        defer { rig.stopAll() }
        _ = try rig.startBroker()
        let ports = try rig.startSimulator(monitors: 1)
        let central = "central-token-0123456789abcdef"
        let dashboard = "dashboard-token-0123456789abcd"
        let tokens = rig.directory.appendingPathComponent("command-tokens").path
        try """
            # name token commands
            central-1 \(central) acknowledge-alarm,pause-audio,rebirth
            dashboard-1 \(dashboard) rebirth
            """.write(toFile: tokens, atomically: true, encoding: .utf8)
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 500,
                            extra: "commands: { tokens_file: \(tokens), max_age_s: 30 }")
        let responses = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/responses")
        let status = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/status")
        try rig.startAgent()
        _ = status.wait(timeout: 60) { !$0.isEmpty }
        let sender = try CommandSender(port: rig.brokerPort, topic: "\(Self.prefix)/commands", responses: responses)

        // Issue times are taken as each command is built, just before it is sent.
        func now() -> String { utcTimestampNow() }
        let refused: [(payload: () -> String, reason: String)] = [
            ({ "this is not json" }, "JSON"),
            ({ #"{"id":"c-2","issued":"\#(now())","command":"self-destruct","token":"\#(central)"}"# }, "self-destruct"),
            ({ #"{"id":"c-3","issued":"\#(now())","command":"pause-audio","token":"\#(dashboard)"}"# }, "dashboard-1"),
            ({ #"{"id":"c-4","issued":"\#(now())","command":"pause-audio","token":"not-a-token-at-all-xyz"}"# }, "unauthorised"),
            ({ #"{"id":"c-5","issued":"\#(now())","command":"acknowledge-alarm","token":"\#(central)","bed":"chair-9","alarm":"a-1"}"# },
             "chair-9"),
            ({ #"{"id":"c-6","issued":"\#(now())","command":"pause-audio"}"# }, "token"),
            ({ #"{"id":"c-7","issued":"\#(now())","command":"acknowledge-alarm","token":"\#(central)","bed":"chair-1","alarm":"a-1"}"# },
             "no active alarm"),
            ({ #"{"id":"c-10","command":"pause-audio","token":"\#(central)"}"# }, "missing issued"),
            // Queued in the broker while the box was away, two minutes ago.
            ({ #"{"id":"c-11","issued":"\#(utcTimestampNow(offset: -120))","command":"pause-audio","token":"\#(central)"}"# },
             "stale: issued 120"),
            // Beyond the 2 s allowed for the sender's clock plus at most 16 s for this box's.
            ({ #"{"id":"c-12","issued":"\#(utcTimestampNow(offset: 120))","command":"pause-audio","token":"\#(central)"}"# },
             "in the future"),
        ]
        for (payload, _) in refused { try sender.send(payload()) }
        let answers = responses.wait(timeout: 30) { $0.count >= refused.count }
        #expect(answers.count == refused.count, "\(answers.map { String(decoding: $0.payload, as: UTF8.self) })\n\(rig.agentOutput)")
        for ((_, reason), answer) in zip(refused, answers) {
            let text = String(decoding: answer.payload, as: UTF8.self)
            #expect(text.contains("\"refused\"") && text.contains(reason), "expected a refusal naming '\(reason)': \(text)")
            #expect(!text.contains(central) && !text.contains(dashboard), "a reply must never echo a token: \(text)")
        }
        // Nothing changed: audio is not paused.
        #expect(try rig.metrics()["bedside_alarm_audio_paused"]?.first?.value == 0)
        #expect(rig.agentOutput.components(separatedBy: "refused:").count - 1 == refused.count, "\(rig.agentOutput)")

        // Fresh ones are accepted and do what they say: a rebirth republishes the retained status.
        let birthsBefore = status.messages.count
        try sender.send(#"{"id":"c-8","issued":"\#(now())","command":"rebirth","token":"\#(dashboard)"}"#)
        try sender.send(#"{"id":"c-9","issued":"\#(now())","command":"pause-audio","token":"\#(central)"}"#)
        let accepted = responses.wait(timeout: 30) { $0.count >= refused.count + 2 }.suffix(2)
        #expect(accepted.allSatisfy { String(decoding: $0.payload, as: UTF8.self).contains("\"accepted\"") },
                "\(accepted.map { String(decoding: $0.payload, as: UTF8.self) })")
        #expect(status.wait(timeout: 10) { $0.count > birthsBefore }.count > birthsBefore, "rebirth did not republish status")
        try waitUntil(timeout: 10, checkingEvery: 0.2) { try rig.metrics()["bedside_alarm_audio_paused"]?.first?.value == 1 }
        #expect(try rig.metrics()["bedside_alarm_audio_paused"]?.first?.value == 1)

        // The same id again, even with a fresh issue time, is a repeat; the other sender's own
        // "c-9" is a different command.
        try sender.send(#"{"id":"c-9","issued":"\#(now())","command":"pause-audio","token":"\#(central)"}"#)
        try sender.send(#"{"id":"c-9","issued":"\#(now())","command":"rebirth","token":"\#(dashboard)"}"#)
        let last = responses.wait(timeout: 30) { $0.count >= refused.count + 4 }.suffix(2).map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(last.first?.contains("\"refused\"") == true && last.first?.contains("repeated id") == true, "\(last)")
        #expect(last.dropFirst().first?.contains("\"accepted\"") == true, "\(last)")

        // A clean stop says offline with reason "stopped".
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
        let final = status.wait(timeout: 10) { $0.contains { String(decoding: $0.payload, as: UTF8.self).contains("\"stopped\"") } }
        #expect(final.contains { String(decoding: $0.payload, as: UTF8.self).contains("\"offline\"") })
    }

    /// Commands held in the broker while the agent is away: one the sender gave an MQTT 5
    /// Message Expiry Interval never reaches the agent (the broker drops it), and one without
    /// is refused as stale by its issue time. A fresh one afterwards is carried out.
    @Test func commandsHeldInTheBrokerWhileTheAgentWasAwayDoNotActLate() throws {
        let rig = try PublishingRig("held-commands")
        defer { rig.stopAll() }
        _ = try rig.startBroker()
        let ports = try rig.startSimulator(monitors: 1)
        let central = "central-token-0123456789abcdef"
        let tokens = rig.directory.appendingPathComponent("command-tokens").path
        try "central-1 \(central) pause-audio\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 500, extra: "commands: { tokens_file: \(tokens), max_age_s: 4 }")
        let responses = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/responses")
        let status = try RecordingSubscriber(port: rig.brokerPort, topic: "\(Self.prefix)/status")
        func online() -> Int { status.messages.filter { String(decoding: $0.payload, as: UTF8.self).contains("\"online\"") }.count }
        try rig.startAgent()
        _ = status.wait(timeout: 60) { _ in online() >= 1 }
        // The agent goes away; its persistent session keeps its subscription in the broker.
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")

        func publish(_ payload: String, expirySeconds: Int?) throws {
            var command = ["mosquitto_pub", "-h", "127.0.0.1", "-p", "\(rig.brokerPort)", "-V", "5", "-q", "1",
                           "-t", "\(Self.prefix)/commands", "-m", payload]
            if let expirySeconds { command += ["-D", "publish", "message-expiry-interval", "\(expirySeconds)"] }
            let result = try runToCompletion(command, timeout: 30)
            try #require(result.status == 0, "\(result.output)")
        }
        try publish(#"{"id":"e-1","issued":"\#(utcTimestampNow())","command":"pause-audio","token":"\#(central)"}"#, expirySeconds: 2)
        try publish(#"{"id":"e-2","issued":"\#(utcTimestampNow())","command":"pause-audio","token":"\#(central)"}"#, expirySeconds: nil)
        // The outage under test: longer than both the expiry interval and max_age_s.
        Thread.sleep(forTimeInterval: 5)
        try rig.startAgent()
        _ = status.wait(timeout: 60) { _ in online() >= 2 }
        let sender = try CommandSender(port: rig.brokerPort, topic: "\(Self.prefix)/commands", responses: responses)
        try sender.send(#"{"id":"e-3","issued":"\#(utcTimestampNow())","command":"pause-audio","token":"\#(central)"}"#)
        let answers = responses.wait(timeout: 30) { messages in
            messages.contains { String(decoding: $0.payload, as: UTF8.self).contains("\"e-3\"") }
        }.map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(!answers.contains { $0.contains("\"e-1\"") }, "the broker delivered an expired command: \(answers)")
        let held = answers.first { $0.contains("\"e-2\"") }
        #expect(held?.contains("\"refused\"") == true && held?.contains("stale: issued") == true, "\(answers)\n\(rig.agentOutput)")
        #expect(answers.last?.contains("\"e-3\"") == true && answers.last?.contains("\"accepted\"") == true, "\(answers)")
        try waitUntil(timeout: 10, checkingEvery: 0.2) { try rig.metrics()["bedside_alarm_audio_paused"]?.first?.value == 1 }
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
    }

    // MARK: Helpers

    /// What delivery is about (bed, seq, replayed, time): no description needed.
    static func decoded(_ messages: [MQTTClientMessage]) -> [VitalsHeader] {
        messages.compactMap { try? decodeVitalsHeader($0.payload) }
    }

    static func perBed(_ messages: [MQTTClientMessage]) -> [String: [VitalsHeader]] {
        Dictionary(grouping: decoded(messages), by: \.bedID)
    }

    static func distinctSequences(_ messages: [VitalsHeader]) -> Int { Set(messages.map(\.sequence)).count }

    static func isContiguousFromOne(_ messages: [VitalsHeader]) -> Bool {
        let sequences = Set(messages.map(\.sequence))
        guard let highest = sequences.max() else { return false }
        return sequences.count == Int(highest) && sequences.min() == 1
    }

    static func missing(_ sorted: [Int64]) -> [Int64] {
        guard let highest = sorted.last else { return [] }
        let present = Set(sorted)
        return (1...max(1, highest)).filter { !present.contains($0) }
    }

    static func isNonDecreasing(_ values: [Int64]) -> Bool { zip(values, values.dropFirst()).allSatisfy { $0 <= $1 } }

    /// The kernel's clock state read by Python through ctypes, independently of the agent.
    static func kernelClockSynchronised() throws -> Bool {
        let script = """
            import ctypes
            buffer = ctypes.create_string_buffer(512)
            state = ctypes.CDLL(None).adjtimex(buffer)
            # struct timex on 64-bit Linux: modes, pad, offset, freq, maxerror, esterror, then status at 40
            status = int.from_bytes(buffer.raw[40:44], 'little', signed=True)
            print('yes' if state != 5 and not (status & 0x40) else 'no')
            """
        let result = try runToCompletion(["/usr/bin/python3", "-c", script])
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "yes"
    }
}

typealias MQTTClientMessage = MQTTClient.Message

/// MQTT 5 where the broker speaks it, 3.1.1 otherwise. Debian's mosquitto speaks both, so
/// this runs against a stand-in for an older broker: a few lines of Python that refuse an
/// MQTT 5 CONNECT the way a 3.1.1 broker must (CONNACK 1, "unacceptable protocol version"),
/// accept 3.1.1, and acknowledge QoS 1 publishes.
@Suite
struct ProtocolFallbackEndToEndTests {
    static let broker311 = """
        import socket, sys, threading
        port, log = int(sys.argv[1]), open(sys.argv[2], "a", buffering=1)
        def read_exact(c, n):
            data = b""
            while len(data) < n:
                chunk = c.recv(n - len(data))
                if not chunk: raise EOFError
                data += chunk
            return data
        def packet(c):
            first = read_exact(c, 1)[0]
            length, shift = 0, 0
            while True:
                byte = read_exact(c, 1)[0]
                length |= (byte & 0x7f) << shift
                shift += 7
                if byte < 0x80: break
            return first, read_exact(c, length)
        def serve(c):
            try:
                kind, body = packet(c)
                level = body[6]
                log.write("connect level %d\\n" % level)
                if level != 4:
                    c.sendall(bytes([0x20, 2, 0, 1])); c.close(); return
                c.sendall(bytes([0x20, 2, 0, 0]))
                while True:
                    kind, body = packet(c)
                    if kind >> 4 == 3:
                        qos = (kind >> 1) & 3
                        topic_length = body[0] << 8 | body[1]
                        topic = body[2:2 + topic_length].decode()
                        log.write("publish qos %d %s\\n" % (qos, topic))
                        if qos == 1: c.sendall(bytes([0x40, 2]) + body[2 + topic_length:4 + topic_length])
                    elif kind >> 4 == 8:
                        c.sendall(bytes([0x90, 3]) + body[0:2] + bytes([1]))
                    elif kind >> 4 == 12:
                        c.sendall(bytes([0xd0, 0]))
                    elif kind >> 4 == 14:
                        c.close(); return
            except (EOFError, OSError):
                c.close()
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port)); server.listen()
        while True:
            connection, _ = server.accept()
            threading.Thread(target=serve, args=(connection,), daemon=True).start()
        """

    @Test func aBrokerThatSpeaksOnly311GetsMQTT311AndItsAcknowledgementsEmptyTheQueue() throws {
        let rig = try PublishingRig("mqtt311")
        defer { rig.stopAll() }
        let port = freeLoopbackPort()
        let log = rig.directory.appendingPathComponent("broker311.log").path
        let broker = try ChildProcess(name: "broker311", command: ["/usr/bin/python3", "-c", Self.broker311, String(port), log],
                                      directory: rig.directory)
        defer { broker.kill() }
        #expect(waitForListener(port: port), "\(broker.output)")
        let ports = try rig.startSimulator(monitors: 1)
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 250, mqttPort: port)
        try rig.startAgent()
        let deadline = Date().addingTimeInterval(60)
        var seen = ""
        while Date() < deadline {
            seen = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if seen.components(separatedBy: "/vitals").count > 8 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(seen.hasPrefix("connect level 5\n"), "the agent should try MQTT 5 first:\n\(seen)")
        #expect(seen.contains("connect level 4\n"), "and fall back to 3.1.1:\n\(seen)")
        #expect(seen.contains("publish qos 1 bedside/test/box-1/beds/chair-1/vitals"), "\(seen)")
        #expect(rig.agentOutput.contains("(MQTT 3.1.1)"), "\(rig.agentOutput)")
        // Every PUBACK of the old broker reached the queue: nothing waits once the stream is acknowledged.
        var pending = -1.0
        try waitUntil(timeout: 15, checkingEvery: 0.2) {
            pending = try rig.metrics()["bedside_queue_pending_messages"]?.first?.value ?? -1
            return pending >= 0 && pending <= 2
        }
        #expect(pending >= 0 && pending <= 2, "pending \(pending)")
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
    }
}
