import Acquisition
import Alarms
import Charting
import ClinicView
import Commands
import Config
import FHIR
import MLLP
import MQTT
import Platform
import Sessions
import StoreAndForward
import Vitals

/// What the publisher says about the box and its broker, fixed for a run.
struct PublisherSettings {
    var topics: Topics
    var site: String
    var box: String
    var version: String
    var bedIDs: [String]
    /// "host:port", as the log names the broker.
    var brokerAddress: String
    /// Added to the log line when the broker refuses this box's user name or password.
    var authenticationAdvice: String
    /// Period of the retained health summary; 0 publishes none.
    var healthPublishIntervalSeconds: Int
    /// How long a bed's oldest sample may wait for its slowest device before the bed is sent.
    var bedPatienceMilliseconds: Int
    /// Each bed's chart interval, and whether its rows go out as FHIR bundles.
    var charting = ChartingSettings()
    /// Infusion sessions; nil records none (tests of other parts).
    var sessions: SessionSettings?
}

/// What the agent last knew of one device, for its retained state topic and /readyz.
struct DeviceStatus: Equatable {
    var known = false
    var answering = false
    var reason: String?
    var exceptionCode: Int?
    var sinceMilliseconds: Int64 = 0
}

/// The publisher's side of the health figures.
struct PublishingFigures {
    var brokerReady = false
    var pendingMessages = 0
    var queueFileBytes = 0
    var droppedMessages: UInt64 = 0
    var queueWriteFailures: UInt64 = 0
    /// Why the last write to the disk queue failed, while it still fails.
    var queueWriteFailure: String?
    /// Why the queue keeps nothing on disk: it could not be opened at start.
    var queueUnavailable: String?
    /// Parts of the queue directory moved aside at start, and the first of them with its reason.
    var queueQuarantined = 0
    var queueQuarantineExample: String?
    var lostMessages: UInt64 = 0
    var publishedLive: UInt64 = 0
    var publishedReplayed: UInt64 = 0
    var acknowledged: UInt64 = 0
    /// PUBACKs with a reason code of 128 or more: the broker will never take those messages.
    var refusedByBroker: UInt64 = 0
    var commandsAccepted: UInt64 = 0
    var commandsRefused: UInt64 = 0
    var devices: [DeviceStatus] = []
    /// The alarm forwarding link, when configured: where, what it did, and whether its fault is raised.
    var alarmForward: (address: String, figures: MLLPFigures, faultRaised: Bool)?
    /// The chart forwarding link, when configured; `faultRaised`: not delivering (no alarm for it).
    var chartForward: (address: String, figures: MLLPFigures, faultRaised: Bool)?
    /// Infusion sessions, when recorded: each bed's alarm statistics and open session.
    var sessions: SessionFigures?
}

/// What the health documents show of the infusion sessions.
struct SessionFigures {
    var beds: [(bed: String, openSession: String?, alarms: AlarmStatistics)] = []
    var directory = ""
    var writeFailure: String?
    var movedAside: [String] = []
}

/// Everything between the sampling side and the broker, on one thread: it takes the records
/// the alarm thread passes on, assembles one message per bed per cycle, writes it and every
/// alarm event to the disk queue and hands them to the sink, replays what the broker has not
/// acknowledged, keeps each device's retained state, and answers commands.
///
/// It does nothing on its own: whoever owns the thread calls `step(now:)` whenever something
/// may have happened (the agent: when woken by the alarm thread or the MQTT inbox, or when a
/// timer is due; see `hasWorkNow` and `longestWaitMilliseconds`), so tests drive it with a
/// recording sink and a clock of their own.
final class Publisher<Sink: MessageSink, Alarms: AlarmOutlet> {
    let settings: PublisherSettings
    let sink: Sink
    let clock: AgentClock
    let alarms: Alarms
    /// Events from the broker connection, taken on each step.
    let inbox = MQTTInbox()
    /// Every alarm event also goes here as IHE PCD-04 when `alarms.forward.hl7` is configured.
    var alarmForwarder: AlarmForwarder?
    /// Every chart row also goes here as IHE PCD-01 when `charting.hl7` is configured.
    var chartForwarder: ChartForwarder?
    /// The clinic view, when configured: each document also goes there, without waiting.
    private(set) var view: ViewHub?
    let outbox: Outbox<Sink>
    let devices: [PlannedDevice]
    var commandIntake: CommandIntake
    private let sampleRings: [SPSCRing<SampleRecord>]
    private let assembler: BedAssembler
    /// Each bed's vitals and alarm event topics, built once rather than per message.
    private let vitalsTopics: [String]
    private let alarmEventTopics: [String]
    private let descriptionTopics: [String]
    /// Per bed: its description and the buffer its vitals messages are written into.
    private var vitalsEncoders: [VitalsEncoder]
    /// Per bed: the chart it makes of its vitals messages, and the topic of its FHIR bundles.
    private var chartAggregators: [ChartingAggregator]
    private let fhirBundleTopics: [String]
    private let fhirContext: FHIRContext
    /// Each device's Device resource, retained: the resource every observation of it names.
    private let fhirDevices: [(topic: String, payload: String)]
    private(set) var deviceStatus: [DeviceStatus]
    /// Each bed's infusion sessions, when recorded; their topics.
    let sessions: SessionKeeper?
    private let sessionTopics: [String]
    private let sessionRecordTopics: [String]
    var commandsAccepted: UInt64 = 0
    var commandsRefused: UInt64 = 0
    let startedWallMilliseconds: Int64
    /// The JSON of the retained health summary, from the agent that owns the figures.
    var healthSummary: (MonotonicInstant) -> String = { _ in "{}" }
    private var lastHealthPublish: MonotonicInstant?
    /// Last connection refusal logged, so a broker refusing every 30 s is logged once.
    private var lastRefusal: Int32?

    init(settings: PublisherSettings, devices: [PlannedDevice], queue: DiskQueue, sink: Sink, clock: AgentClock,
         alarms: Alarms, sampleRings: [SPSCRing<SampleRecord>], commandIntake: CommandIntake) {
        self.settings = settings
        self.sink = sink
        self.clock = clock
        self.alarms = alarms
        self.devices = devices
        self.commandIntake = commandIntake
        self.sampleRings = sampleRings
        startedWallMilliseconds = clock.wallMilliseconds()
        deviceStatus = [DeviceStatus](repeating: DeviceStatus(), count: devices.count)
        let topics = settings.topics
        vitalsTopics = settings.bedIDs.map { topics.vitals(bed: $0) }
        alarmEventTopics = settings.bedIDs.map { topics.alarmEvents(bed: $0) }
        let assembler = BedAssembler(bedIDs: settings.bedIDs, devices: devices,
                                     patienceNanoseconds: Int64(settings.bedPatienceMilliseconds) * 1_000_000)
        self.assembler = assembler
        descriptionTopics = settings.bedIDs.map { topics.description(bed: $0) }
        vitalsEncoders = settings.bedIDs.indices.map { VitalsEncoder(description: assembler.description(bed: $0)) }
        let chartInterval = Int64(settings.charting.intervalSeconds) * 1000
        chartAggregators = vitalsEncoders.map { ChartingAggregator(description: $0.bedDescription, intervalMilliseconds: chartInterval) }
        fhirBundleTopics = settings.bedIDs.map { topics.fhirBundle(bed: $0) }
        let fhirContext = FHIRContext(site: settings.site, box: settings.box)
        self.fhirContext = fhirContext
        var fhirDevices: [(topic: String, payload: String)] = []
        if settings.charting.publishesFHIR {
            for encoder in vitalsEncoders {
                let description = encoder.bedDescription
                for (index, device) in description.devices.enumerated() {
                    fhirDevices.append((topics.fhirDevice(device: device),
                                        FHIREncoder.device(at: index, of: description, context: fhirContext)))
                }
            }
        }
        self.fhirDevices = fhirDevices
        sessionTopics = settings.bedIDs.map { topics.session(bed: $0) }
        sessionRecordTopics = settings.bedIDs.map { topics.sessionRecords(bed: $0) }
        if let sessionSettings = settings.sessions {
            let descriptions = settings.bedIDs.indices.map { assembler.description(bed: $0) }
            sessions = SessionKeeper(settings: sessionSettings, descriptions: descriptions, intervalMilliseconds: chartInterval,
                                     nowMilliseconds: clock.wallMilliseconds())
        } else {
            sessions = nil
        }
        outbox = Outbox(queue: queue, sink: sink, clock: clock)
        for (index, topic) in vitalsTopics.enumerated() {
            if let last = outbox.lastStreamSequence(topic: topic) { assembler.continueSequence(bed: index, after: last) }
        }
        // Each run's descriptions go into the queue ahead of its vitals: messages replayed
        // after a configuration change then arrive after the description they name.
        for (index, topic) in descriptionTopics.enumerated() {
            outbox.send(topic: topic, payload: vitalsEncoders[index].bedDescription.payload,
                        streamSequence: (outbox.lastStreamSequence(topic: topic) ?? 0) + 1)
        }
    }

    var topics: Topics { settings.topics }

    /// The Last Will: what the broker says for the agent when the connection dies unannounced.
    var lastWill: MQTTWill {
        MQTTWill(topic: topics.status, payload: status(online: false, since: startedWallMilliseconds, reason: "connection-lost"),
                 qos: .atLeastOnce, retain: true)
    }

    /// One round of work: samples to bed messages, alarm events and states, broker events,
    /// replay, queue upkeep, the health summary when due.
    func step(now: MonotonicInstant) {
        drainSamples(now: now.nanoseconds)
        sendAlarms()
        if let change = alarmForwarder?.faultChange(nowMilliseconds: now.nanoseconds / 1_000_000) {
            alarms.showForwardingFault(change)
        }
        chartForwarder?.watchDelivery(nowMilliseconds: now.nanoseconds / 1_000_000)
        for event in inbox.take() { handle(event) }
        outbox.replay()
        outbox.maintenance(now: now)
        if settings.healthPublishIntervalSeconds > 0, outbox.brokerReady,
           lastHealthPublish.map({ now.milliseconds(since: $0) >= Int64(settings.healthPublishIntervalSeconds) * 1000 }) ?? true {
            publishHealth(now: now)
        }
    }

    /// Whether `step` has work already, so the caller should not wait before the next one.
    var hasWorkNow: Bool { outbox.canReplayNow }

    /// The longest the caller may wait between steps when nothing wakes it: the queue's fsync
    /// interval, at most `longest`. Health documents and summaries are due on whole seconds.
    func longestWaitMilliseconds(atMost longest: Int) -> Int {
        min(longest, outbox.upkeepIntervalMilliseconds ?? longest)
    }

    var figures: PublishingFigures {
        let queue = outbox.queue
        return PublishingFigures(brokerReady: outbox.brokerReady, pendingMessages: queue.pendingCount,
                                 queueFileBytes: queue.fileBytes, droppedMessages: queue.droppedCount,
                                 queueWriteFailures: queue.writeFailures, queueWriteFailure: outbox.writeFailureMessage,
                                 queueUnavailable: queue.unavailability?.description,
                                 queueQuarantined: queue.recovery.quarantined.count,
                                 queueQuarantineExample: queue.recovery.quarantined.first.map { part in
                                     "\(part.path): \(part.reason)" + (part.movedTo.map { ", moved to \($0)" } ?? ", left in place")
                                 },
                                 lostMessages: outbox.lost, publishedLive: outbox.publishedLive,
                                 publishedReplayed: outbox.publishedReplayed, acknowledged: outbox.acknowledged,
                                 refusedByBroker: outbox.refusedByBroker, commandsAccepted: commandsAccepted,
                                 commandsRefused: commandsRefused, devices: deviceStatus,
                                 alarmForward: alarmForwarder.map { ($0.link.settings.address, $0.link.currentFigures, $0.faultRaised) },
                                 chartForward: chartForwarder.map { ($0.link.settings.address, $0.link.currentFigures, $0.failing) },
                                 sessions: sessions.map { keeper in
                                     SessionFigures(beds: keeper.recorders.map { ($0.bedID, $0.openSessionID, $0.bedAlarms) },
                                                    directory: keeper.settings.directory, writeFailure: keeper.writeFailure,
                                                    movedAside: keeper.movedAside)
                                 })
    }

    private func drainSamples(now: Int64) {
        for ring in sampleRings {
            while let record = ring.pop() {
                if let bed = assembler.bedToSendBefore(record) { sendVitals(bed: bed) }
                if let change = assembler.consume(record, now: now) { report(change) }
            }
        }
        for bed in assembler.beds.indices where assembler.isReady(bed: bed, now: now) { sendVitals(bed: bed) }
    }

    /// Encodes the bed's message into its encoder's buffer and hands that buffer to the
    /// outbox: no String and no copy of the payload on the way to the queue and the client.
    private func sendVitals(bed: Int) {
        let wallClock = clock.wallMilliseconds()
        var sessionChanges: [SessionChanges] = []
        let (sequence, row) = assembler.takeMessage(bed: bed) { sequence, values in
            vitalsEncoders[bed].encode(sequence: sequence, wallClockMilliseconds: wallClock, values: values)
            view?.vitals(bed: bed, json: vitalsEncoders[bed].bytes, values: values)
            let row = chartAggregators[bed].add(values, messageMilliseconds: wallClock)
            if let sessions {
                // The row closes the interval before this message; the message may then end the session.
                if let row { sessionChanges.append(sessions.recorders[bed].addRow(row)) }
                sessionChanges.append(sessions.recorders[bed].observe(values, messageMilliseconds: wallClock))
            }
            return (sequence, row)
        }
        for changes in sessionChanges { takeSessionChanges(changes, bed: bed, wallMilliseconds: wallClock) }
        outbox.send(topic: vitalsTopics[bed], payload: &vitalsEncoders[bed].bytes, streamSequence: sequence)
        if let step = chartAggregators[bed].stepAtLastMessage {
            log(.warning, "chart of bed \(settings.bedIDs[bed]): the wall clock stepped "
                + (step == .back ? "back past the open charting interval; it was charted as it was and charting starts again from the new time"
                   : "forward over whole charting intervals; those get no row") + " (check the box's time synchronisation)")
        }
        if let row { sendChartRow(row, bed: bed) }
    }

    /// A chart row, once per bed and interval, through the disk queue like the vitals it is
    /// made of, and to the charting link when there is one. Its stream sequence is the row's
    /// boundary in seconds: it grows across restarts without a counter on disk.
    private func sendChartRow(_ row: ChartRow, bed: Int) {
        chartForwarder?.forward(row, bed: bed)
        if settings.charting.publishesFHIR {
            outbox.send(topic: fhirBundleTopics[bed], payload: FHIREncoder.bundle(row, context: fhirContext),
                        streamSequence: row.rowMilliseconds / 1000)
        }
    }

    /// Alarm events through the disk queue (never lost), retained states straight to the broker
    /// (only the latest matters; all are republished on every connection).
    private func sendAlarms() {
        let (events, states) = alarms.takeOutgoing()
        for event in events {
            alarmForwarder?.forward(event)
            guard let bed = settings.bedIDs.firstIndex(of: event.bed) else { continue }
            outbox.send(topic: alarmEventTopics[bed], payload: encodeAlarmEvent(event), streamSequence: event.sequence)
            if let sessions {
                takeSessionChanges(sessions.recorders[bed].alarm(event), bed: bed, wallMilliseconds: clock.wallMilliseconds())
            }
        }
        if let view {
            for state in states { view.alarmState(bed: state.bed, json: Array(state.payload.utf8)) }
        }
        var degraded = !outbox.brokerReady
        for status in deviceStatus where status.known && !status.answering { degraded = true }
        alarms.showDegraded(degraded)
        guard outbox.brokerReady else {
            if !states.isEmpty { alarms.republishAllStates() }
            return
        }
        for state in states {
            _ = try? sink.publish(topic: topics.alarmState(bed: settings.bedIDs[state.bed]), payload: state.payload,
                                  qos: .atLeastOnce, retain: true)
        }
    }

    private func handle(_ event: MQTTEvent) {
        let broker = settings.brokerAddress
        switch event {
        case .connected(let result):
            lastRefusal = nil
            log(.info, "connected to MQTT broker \(broker) (\(result.protocolVersion.name)"
                + (result.sessionPresent ? ", session resumed)" : ")")
                + (outbox.waiting > 0 ? "; replaying \(outbox.waiting) queued message(s)" : ""))
            outbox.brokerReady = true
            do throws(MQTTError) {
                try sink.subscribe(topics.commands, qos: .atLeastOnce)
            } catch {
                log(.warning, "\(error.description); commands will not be received until the next connection")
            }
            publishRetainedState()
        case .refused(let result) where result.protocolVersion == .v5 && result.code == 132:
            log(.info, "MQTT broker \(broker) does not speak MQTT 5; connecting with MQTT 3.1.1")
        case .refused(let result):
            if lastRefusal != result.code {
                lastRefusal = result.code
                var message = "MQTT broker \(broker) refused the connection: \(result.description)"
                if result.isAuthenticationFailure {
                    message += " (a wrong user name or password, or a user the broker does not allow)"
                    message += settings.authenticationAdvice
                }
                log(.error, message + "; retrying every 30 s at most")
            }
        case .lost(let code):
            let wasReady = outbox.brokerReady
            outbox.connectionLost()
            if wasReady && code != 0 {
                log(.warning, "lost MQTT broker \(broker) (code \(code)); reconnecting, messages wait in the disk queue")
            }
        case .acknowledged(let messageID, let reasonCode):
            outbox.acknowledged(messageID: messageID, reasonCode: reasonCode)
        case .message(let topic, let payload):
            if topic == topics.commands { execute(commandPayload: payload) }
        }
    }

    private func status(online: Bool, since: Int64, reason: String? = nil) -> String {
        StatusMessages.status(online: online, site: settings.site, box: settings.box, version: settings.version,
                              sinceMilliseconds: since, reason: reason)
    }

    /// Birth and everything retained: on every connection and on a rebirth command.
    func publishRetainedState() {
        _ = try? sink.publish(topic: topics.status, payload: status(online: true, since: startedWallMilliseconds),
                              qos: .atLeastOnce, retain: true)
        // Before any vitals of this connection: a subscriber must hold the description a
        // message names before the message arrives.
        for (index, topic) in descriptionTopics.enumerated() {
            _ = try? sink.publish(topic: topic, payload: vitalsEncoders[index].bedDescription.payload, qos: .atLeastOnce,
                                  retain: true)
        }
        for index in devices.indices where deviceStatus[index].known { publishDeviceState(index) }
        for device in fhirDevices {
            _ = try? sink.publish(topic: device.topic, payload: device.payload, qos: .atLeastOnce, retain: true)
        }
        for bed in settings.bedIDs.indices { publishSession(bed: bed, wallMilliseconds: clock.wallMilliseconds()) }
        alarms.republishAllStates()
        publishHealth(now: clock.monotonic())
    }

    private func publishDeviceState(_ index: Int) {
        _ = try? sink.publish(topic: topics.deviceState(device: devices[index].config.id), payload: deviceStatePayload(index),
                              qos: .atLeastOnce, retain: true)
    }

    private func deviceStatePayload(_ index: Int) -> String {
        let status = deviceStatus[index]
        let device = devices[index]
        return StatusMessages.deviceState(device: device.config.id, bed: settings.bedIDs[device.bedIndex],
                                          answering: status.answering, reason: status.reason,
                                          exceptionCode: status.exceptionCode, timeMilliseconds: status.sinceMilliseconds)
    }

    /// Per bed, the names of its description's entries, in entry order.
    var bedEntryNames: [[String]] { vitalsEncoders.map { encoder in encoder.bedDescription.entries.map { $0.name } } }

    /// From now on every bed description, vitals message, alarm state and device state also
    /// goes to `hub`; it gets the descriptions and the device states known so far at once.
    func attachView(_ hub: ViewHub) {
        view = hub
        for (bed, encoder) in vitalsEncoders.enumerated() { hub.description(bed: bed, json: Array(encoder.bedDescription.payload.utf8)) }
        for index in devices.indices where deviceStatus[index].known {
            hub.deviceState(device: index, json: Array(deviceStatePayload(index).utf8))
        }
        alarms.republishAllStates()
    }

    private func report(_ change: DeviceStateChange) {
        let device = change.device.config.id
        let index = change.device.index
        var status = DeviceStatus(known: true, answering: change.answering, reason: nil, exceptionCode: nil,
                                  sinceMilliseconds: clock.wallMilliseconds())
        if change.answering {
            log(.info, "device \(device) is answering")
        } else {
            status.reason = change.failure.name
            if change.failure == .exception { status.exceptionCode = Int(change.exceptionCode) }
            let reason = change.failure == .exception
                ? "it answered with Modbus exception \(change.exceptionCode)" : change.failure.name
            log(.warning, "device \(device) lost (\(reason)); its values are comm-loss while it is retried with backoff")
        }
        deviceStatus[index] = status
        if outbox.brokerReady { publishDeviceState(index) }
        view?.deviceState(device: index, json: Array(deviceStatePayload(index).utf8))
        if let sessions {
            let bed = change.device.bedIndex
            takeSessionChanges(sessions.recorders[bed].deviceState(device: device, answering: change.answering, reason: status.reason,
                                                                   at: status.sinceMilliseconds),
                               bed: bed, wallMilliseconds: status.sinceMilliseconds)
        }
    }

    /// Keeps a session change on the box, sends a finished record through the disk queue
    /// (never lost; its stream sequence is the session's start in seconds) and the running
    /// record retained.
    func takeSessionChanges(_ changes: SessionChanges, bed: Int, wallMilliseconds wall: Int64) {
        guard let sessions else { return }
        sessions.keep(changes, bed: bed, nowMilliseconds: wall)
        if let finished = changes.finished {
            outbox.send(topic: sessionRecordTopics[bed], payload: finished.record, streamSequence: finished.startMilliseconds / 1000)
        }
        if changes.recordChanged || changes.finished != nil { publishSession(bed: bed, wallMilliseconds: wall) }
    }

    /// The retained session topic: the open session's record as it stands, or that none is open.
    private func publishSession(bed: Int, wallMilliseconds wall: Int64) {
        guard outbox.brokerReady, let sessions else { return }
        let recorder = sessions.recorders[bed]
        let payload = recorder.runningRecord(at: wall) ?? recorder.noSessionPayload(at: wall)
        _ = try? sink.publish(topic: sessionTopics[bed], payload: payload, qos: .atLeastOnce, retain: true)
    }

    private func publishHealth(now: MonotonicInstant) {
        guard settings.healthPublishIntervalSeconds > 0 else { return }
        lastHealthPublish = now
        _ = try? sink.publish(topic: topics.health, payload: healthSummary(now), qos: .atMostOnce, retain: true)
    }

    /// Offline status, a short wait for outstanding PUBACKs (fewer replays at next start),
    /// then the queue is closed. The caller drops the connection afterwards.
    func shutDown() {
        if outbox.brokerReady {
            _ = try? sink.publish(topic: topics.status,
                                  payload: status(online: false, since: clock.wallMilliseconds(), reason: "stopped"),
                                  qos: .atLeastOnce, retain: true)
            // A second at most, counted in pauses rather than read from the clock: the
            // injected clock of a test does not move by itself.
            var pauses = 0
            while outbox.brokerReady && outbox.waiting > 0 && pauses < 100 {
                for event in inbox.take() { handle(event) }
                sleep(milliseconds: 10)
                pauses += 1
            }
        }
        outbox.close()
    }
}
