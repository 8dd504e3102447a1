import Acquisition
import Alarms
import Commands
import Config
import Foundation
import MQTT
import Platform
import RegisterMaps
import StoreAndForward
import Testing
@testable import Gateway

/// The publisher without a broker, a socket or a thread: records go into its rings, broker
/// events into its inbox, and a recording sink stands in for the MQTT client.
@Suite
struct PublisherTests {
    static let prefix = "bedside/test/box-1"

    @Test func oneMessagePerBedPerCycle() throws {
        let world = try PublisherWorld("one-per-bed")
        defer { world.remove() }
        world.connect()
        for cycle in 1...3 {
            world.completeCycle(device: 0, value: 95)
            world.completeCycle(device: 1, value: 96)
            world.step()
            let chair1 = world.sink.vitals(bed: "chair-1")
            let chair2 = world.sink.vitals(bed: "chair-2")
            #expect(chair1.count == cycle && chair2.count == cycle)
        }
        #expect(world.sink.vitals(bed: "chair-1").map { $0.sequence } == [1, 2, 3])
        #expect(world.sink.vitals(bed: "chair-2").map { $0.sequence } == [1, 2, 3])
        #expect(world.sink.vitals(bed: "chair-1").allSatisfy { $0.qos == .atLeastOnce && !$0.retain })
    }

    @Test func theDescriptionGoesOutRetainedBeforeAnyVitalsAndEveryMessageNamesItsRevision() throws {
        let world = try PublisherWorld("description")
        defer { world.remove() }
        world.connect()
        world.completeCycle(device: 0, value: 95)
        world.step()
        let topics = world.sink.published.map(\.topic)
        let firstDescription = try #require(topics.firstIndex(of: "\(Self.prefix)/beds/chair-1/description"))
        let firstVitals = try #require(topics.firstIndex(of: "\(Self.prefix)/beds/chair-1/vitals"))
        #expect(firstDescription < firstVitals)
        let descriptions = world.sink.descriptions(bed: "chair-1")
        #expect(descriptions.allSatisfy { $0.retain && $0.qos == .atLeastOnce })
        let revision = try #require(descriptions.first?.json["revision"] as? String)
        let vitals = try #require(world.sink.vitals(bed: "chair-1").first)
        #expect(vitals.json["description"] as? String == revision)
        let entries = try #require(vitals.json["vitals"] as? [[String: Any]])
        #expect(entries.first.map { Set($0.keys) } == ["name", "value", "quality"])
        let points = try #require(descriptions.first?.json["points"] as? [[String: Any]])
        let spo2 = try #require(points.first { $0["name"] as? String == "spo2" })
        #expect(spo2["unit"] as? String == "%" && spo2["device"] as? String == "monitor-1" && spo2["mdc_code"] as? Int == 150456)
    }

    /// An outage across a configuration change: the replayed messages name the old revision,
    /// and the old description is replayed before them, the new one after them.
    @Test func replayedVitalsArriveAfterTheDescriptionTheyNameAcrossAConfigurationChange() throws {
        let before = try PublisherWorld("config-change-before")
        for value in 90...91 {
            before.completeCycle(device: 0, value: Double(value))
            before.step()
        }
        before.publisher.shutDown()
        let after = try PublisherWorld("config-change-after", directory: before.directory,
                                       firstBedProfile: BuiltinProfiles.infusionPump)
        defer { after.remove() }
        after.sink.connected = true
        after.publisher.inbox.post(.connected(MQTTConnectResult(code: 0, protocolVersion: .v5, sessionPresent: true)))
        after.step()
        after.completeCycle(device: 0, value: 12.5)
        after.step()

        var held: Set<String> = []
        var retained: String?
        var named: [String] = []
        for message in after.sink.published {
            if message.topic == "\(Self.prefix)/beds/chair-1/description" {
                let revision = try #require(message.json["revision"] as? String)
                held.insert(revision)
                retained = revision
            } else if message.topic == "\(Self.prefix)/beds/chair-1/vitals" {
                let revision = try #require(message.json["description"] as? String)
                #expect(held.contains(revision), "vitals #\(message.sequence) names \(revision) before it was published")
                named.append(revision)
            }
        }
        #expect(after.sink.vitals(bed: "chair-1").map(\.sequence) == [1, 2, 3])
        #expect(Set(named).count == 2, "two runs, two revisions: \(named)")
        #expect(retained == named.last, "the retained description is the current one")
    }

    @Test func aPubackDeletesTheMessageFromTheQueue() throws {
        let world = try PublisherWorld("puback")
        defer { world.remove() }
        let sent = try world.publishOneVitalsMessage()
        #expect(world.publisher.figures.pendingMessages == 1, "on disk until the broker acknowledges it")
        world.publisher.inbox.post(.acknowledged(messageID: sent.messageID, reasonCode: 0))
        world.step()
        #expect(world.publisher.figures.pendingMessages == 0)
        #expect(world.publisher.figures.acknowledged == 1 + UInt64(world.descriptionRecords))
        #expect(world.publisher.figures.refusedByBroker == 0)
    }

    @Test func aLostConnectionReplaysOldestFirstAfterReconnecting() throws {
        let world = try PublisherWorld("replay")
        defer { world.remove() }
        world.connect()
        world.completeCycle(device: 0, value: 90)
        world.step()
        // In flight when the connection drops: not acknowledged, so it may not have arrived.
        world.sink.connected = false
        world.publisher.inbox.post(.lost(code: 7))
        world.step()
        for value in 91...93 {
            world.completeCycle(device: 0, value: Double(value))
            world.step()
        }
        #expect(world.sink.vitals(bed: "chair-1").count == 1, "nothing is published while the broker is away")
        #expect(world.publisher.figures.pendingMessages == 4)

        world.sink.published.removeAll()
        world.connect()
        let replayed = world.sink.vitals(bed: "chair-1")
        #expect(replayed.map { $0.sequence } == [1, 2, 3, 4], "oldest first, the one in flight included")
        // Only the one handed to the client before is sent again; those made during the outage
        // reach the broker for the first time.
        #expect(replayed.map { $0.replayed } == [true, false, false, false])
        for message in replayed { world.publisher.inbox.post(.acknowledged(messageID: message.messageID, reasonCode: 0)) }
        world.completeCycle(device: 0, value: 94)
        world.step()
        let live = world.sink.vitals(bed: "chair-1").last
        #expect(live?.sequence == 5 && live?.replayed == false)
        #expect(world.publisher.figures.pendingMessages == 1)
    }

    @Test func whatWasMadeBeforeTheFirstConnectionIsNotMarkedReplayed() throws {
        let world = try PublisherWorld("first-connection")
        defer { world.remove() }
        for value in 90...92 {
            world.completeCycle(device: 0, value: Double(value))
            world.step()
        }
        #expect(world.sink.vitals(bed: "chair-1").isEmpty)
        world.connect()
        let sent = world.sink.vitals(bed: "chair-1")
        #expect(sent.map { $0.sequence } == [1, 2, 3])
        #expect(sent.allSatisfy { !$0.replayed }, "never handed to the broker before")
    }

    /// The agent steps again without waiting while `hasWorkNow`; a client that refuses every
    /// replay must not turn that into a spinning thread.
    @Test func aReplayTheClientRefusesWaitsForTheNextWakeUp() throws {
        let world = try PublisherWorld("refused-replay")
        defer { world.remove() }
        for value in 90...92 {
            world.completeCycle(device: 0, value: Double(value))
            world.step()
        }
        #expect(world.publisher.figures.pendingMessages == 3 + world.descriptionRecords)
        // The broker accepted the connection, but the client lost it again before the replay.
        world.publisher.inbox.post(.connected(MQTTConnectResult(code: 0, protocolVersion: .v5, sessionPresent: true)))
        world.step()
        #expect(world.sink.vitals(bed: "chair-1").isEmpty)
        #expect(!world.publisher.hasWorkNow)

        world.sink.connected = true
        world.step()
        #expect(world.sink.vitals(bed: "chair-1").map { $0.sequence } == [1, 2, 3])
        #expect(!world.publisher.hasWorkNow)
    }

    @Test func aBrokerRefusalOfAPublishIsCountedAndShowsInTheHealthFigures() throws {
        let world = try PublisherWorld("refusal")
        defer { world.remove() }
        let sent = try world.publishOneVitalsMessage()
        world.publisher.inbox.post(.acknowledged(messageID: sent.messageID, reasonCode: 135))
        world.step()
        let figures = world.publisher.figures
        #expect(figures.refusedByBroker == 1)
        #expect(figures.pendingMessages == 0, "the broker will never take it: kept, it would only grow the queue")

        var health = HealthFigures()
        health.publishing = figures
        #expect(HealthDocuments.metrics(health).contains("bedside_mqtt_refused_total 1\n"))
        #expect(HealthDocuments.summaryJSON(health).contains("\"refused\":1"))
    }

    @Test func deviceStateChangesPublishARetainedDeviceState() throws {
        let world = try PublisherWorld("device-state")
        defer { world.remove() }
        world.connect()
        world.push(SampleRecord(kind: .deviceSilent, failure: .timeout, deviceIndex: 1))
        world.step()
        let lostAt = world.clock.wall
        let lost = world.sink.published.filter { $0.topic == "\(Self.prefix)/devices/monitor-2/state" }
        #expect(lost.count == 1)
        #expect(lost.first?.retain == true && lost.first?.qos == .atLeastOnce)
        #expect(lost.first?.text.contains("\"state\":\"comm-loss\"") == true)
        #expect(lost.first?.text.contains("\"reason\":\"timeout\"") == true)
        #expect(lost.first?.text.contains("\"bed\":\"chair-2\"") == true)
        #expect(world.publisher.figures.devices[1] == DeviceStatus(known: true, answering: false, reason: "timeout",
                                                                   exceptionCode: nil, sinceMilliseconds: lostAt))
        #expect(world.alarms.degraded, "a lost device shows on the status LED")

        world.push(SampleRecord(kind: .deviceAnswering, deviceIndex: 1))
        world.step()
        let states = world.sink.published.filter { $0.topic == "\(Self.prefix)/devices/monitor-2/state" }
        #expect(states.count == 2)
        #expect(states.last?.text.contains("\"state\":\"answering\"") == true)
        #expect(!world.alarms.degraded)
    }

    @Test func aConnectionPublishesBirthSubscribesToCommandsAndRepublishesWhatIsRetained() throws {
        let world = try PublisherWorld("birth")
        defer { world.remove() }
        world.push(SampleRecord(kind: .deviceSilent, failure: .connection, deviceIndex: 0))
        world.step()
        #expect(world.sink.published.isEmpty, "no broker yet")
        world.connect()
        #expect(world.sink.subscriptions == ["\(Self.prefix)/commands"])
        let topics = world.sink.published.map { $0.topic }
        #expect(topics.first == "\(Self.prefix)/status")
        #expect(world.sink.published.first?.text.contains("\"state\":\"online\"") == true)
        #expect(topics.contains("\(Self.prefix)/devices/monitor-1/state"), "a state learnt while away goes out on connection")
        #expect(world.alarms.republishRequests >= 1)
    }

    @Test func aCommandIsAnsweredOnTheResponseTopicAndCounted() throws {
        let world = try PublisherWorld("command")
        defer { world.remove() }
        world.connect()
        world.publisher.inbox.post(.message(topic: "\(Self.prefix)/commands",
                                           payload: Array(#"{"id":"c-1","command":"rebirth","token":"none"}"#.utf8)))
        world.step()
        let answers = world.sink.published.filter { $0.topic == "\(Self.prefix)/responses" }
        #expect(answers.count == 1)
        #expect(answers.first?.json["result"] as? String == "refused", "no token file: nobody may command")
        #expect(world.publisher.figures.commandsRefused == 1 && world.publisher.figures.commandsAccepted == 0)
    }

    @Test func theHealthSummaryGoesOutOnConnectionAndThenEveryInterval() throws {
        let world = try PublisherWorld("health", healthPublishIntervalSeconds: 1)
        defer { world.remove() }
        world.publisher.healthSummary = { _ in #"{"ready":true}"# }
        world.connect()
        func summaries() -> [RecordingSink.Message] { world.sink.published.filter { $0.topic == "\(Self.prefix)/health" } }
        #expect(summaries().count == 1)
        #expect(summaries().first?.retain == true && summaries().first?.qos == .atMostOnce)
        for _ in 0..<40 { world.step() } // 800 ms
        #expect(summaries().count == 1)
        for _ in 0..<10 { world.step() }
        #expect(summaries().count == 2)
    }
}

/// A broker connection that records instead of sending.
final class RecordingSink: MessageSink {
    struct Message {
        var topic: String
        var bytes: [UInt8]
        var qos: MQTTQoS
        var retain: Bool
        var messageID: Int32
        var text: String { String(decoding: bytes, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:] }
        var sequence: Int { json["seq"] as? Int ?? -1 }
        var replayed: Bool { json["replayed"] as? Bool ?? false }
    }

    var connected = false
    var published: [Message] = []
    var subscriptions: [String] = []
    private var nextMessageID: Int32 = 1

    var isConnected: Bool { connected }

    func publish(topic: String, bytes: inout [UInt8], qos: MQTTQoS, retain: Bool) throws(MQTTError) -> Int32 {
        guard connected else { throw MQTTError("publish to \(topic)", code: 4) } // MOSQ_ERR_NO_CONN
        let id = nextMessageID
        nextMessageID += 1
        published.append(Message(topic: topic, bytes: bytes, qos: qos, retain: retain, messageID: id))
        return id
    }

    func subscribe(_ pattern: String, qos: MQTTQoS) throws(MQTTError) -> Int32 {
        subscriptions.append(pattern)
        let id = nextMessageID
        nextMessageID += 1
        return id
    }

    func vitals(bed: String) -> [Message] {
        published.filter { $0.topic == "\(PublisherTests.prefix)/beds/\(bed)/vitals" }
    }

    func descriptions(bed: String) -> [Message] {
        published.filter { $0.topic == "\(PublisherTests.prefix)/beds/\(bed)/description" }
    }
}

/// The alarm system as the publisher sees it, with nothing to say.
final class QuietAlarms: AlarmOutlet {
    var degraded = false
    var republishRequests = 0

    func takeOutgoing() -> (events: [AlarmEvent], states: [(bed: Int, payload: String)]) { ([], []) }
    func republishAllStates() { republishRequests += 1 }
    func showDegraded(_ degraded: Bool) { self.degraded = degraded }
    func pauseAudio() {}
    func acknowledge(bed: String, alarm: String?, by: String) throws(AlarmCommandError) {}
}

/// A clock that moves only when the test says so.
final class ManualClock {
    var monotonic = MonotonicInstant(nanoseconds: 1_000_000_000)
    var wall: Int64 = 1_700_000_000_000

    var agentClock: AgentClock {
        AgentClock(monotonic: { [unowned self] in monotonic }, wallMilliseconds: { [unowned self] in wall })
    }

    func advance(milliseconds: Int) {
        monotonic = monotonic.adding(milliseconds: milliseconds)
        wall += Int64(milliseconds)
    }
}

/// Two beds with one patient monitor each, a queue in a temporary directory.
final class PublisherWorld {
    let directory: String
    let sink = RecordingSink()
    let alarms = QuietAlarms()
    let clock = ManualClock()
    let ring = SPSCRing(capacity: 256, filler: SampleRecord.empty)
    let publisher: Publisher<RecordingSink, QuietAlarms>

    /// The description of each bed, written into the queue at start.
    let descriptionRecords = 2

    /// `directory`: another world's, to start again on its queue; `firstBedProfile`: what
    /// chair-1's device is (a changed configuration).
    init(_ label: String, healthPublishIntervalSeconds: Int = 0, directory: String? = nil,
         firstBedProfile: DeviceProfile = BuiltinProfiles.patientMonitor) throws {
        self.directory = directory ?? NSTemporaryDirectory() + "publisher-\(label)-\(UUID().uuidString)"
        let queue = try DiskQueue(settings: QueueSettings(directory: self.directory + "/queue", fsync: .never))
        let devices = (0..<2).map { index in
            let monitor = index == 0 ? firstBedProfile : BuiltinProfiles.patientMonitor
            return PlannedDevice(index: index, bedIndex: index,
                                 config: DeviceSettings(id: "monitor-\(index + 1)", profile: monitor.name,
                                                        endpoint: .tcp(host: "127.0.0.1", port: 1502 + index), unitID: 1,
                                                        responseTimeoutMilliseconds: 300),
                                 profile: monitor)
        }
        let settings = PublisherSettings(topics: Topics(prefix: PublisherTests.prefix), site: "test", box: "box-1",
                                         version: "test", bedIDs: ["chair-1", "chair-2"], brokerAddress: "127.0.0.1:1883",
                                         authenticationAdvice: "", healthPublishIntervalSeconds: healthPublishIntervalSeconds,
                                         bedPatienceMilliseconds: 1500)
        publisher = Publisher(settings: settings, devices: devices, queue: queue, sink: sink, clock: clock.agentClock,
                              alarms: alarms, sampleRings: [ring], commandIntake: CommandIntake(tokens: .notConfigured))
    }

    func remove() {
        // Disconnected first: the shutdown would otherwise wait for PUBACKs that never come.
        sink.connected = false
        publisher.inbox.post(.lost(code: 0))
        step()
        publisher.shutDown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func push(_ record: SampleRecord) { #expect(ring.push(record)) }

    /// One sampling cycle of a device: its first point and the end of its cycle.
    func completeCycle(device: Int, value: Double) {
        push(SampleRecord(kind: .sample, deviceIndex: device, pointIndex: 0, value: value,
                          wallClockMilliseconds: clock.wall, monotonicNanoseconds: clock.monotonic.nanoseconds))
        push(SampleRecord(kind: .endOfDeviceCycle, deviceIndex: device))
    }

    /// Connected, one cycle of chair-1's monitor, and the message it became.
    func publishOneVitalsMessage() throws -> RecordingSink.Message {
        connect()
        completeCycle(device: 0, value: 95)
        step()
        return try #require(sink.vitals(bed: "chair-1").first)
    }

    /// Connected, and the descriptions written into the queue at start acknowledged, so the
    /// queue holds vitals only.
    func connect() {
        sink.connected = true
        publisher.inbox.post(.connected(MQTTConnectResult(code: 0, protocolVersion: .v5, sessionPresent: true)))
        step()
        for message in sink.published where message.topic.hasSuffix("/description") {
            publisher.inbox.post(.acknowledged(messageID: message.messageID, reasonCode: 0))
        }
        step()
    }

    func step() {
        clock.advance(milliseconds: 20)
        publisher.step(now: clock.monotonic)
    }
}
