import Acquisition
import Health
import Platform
import Testing
@testable import Gateway

/// /healthz, /readyz, /metrics and the MQTT health summary from figures alone.
struct HealthDocumentsTests {
    func healthyFigures() -> HealthFigures {
        var figures = HealthFigures()
        figures.wallClockMilliseconds = 1_700_000_000_000
        figures.uptimeMilliseconds = 61_500
        figures.brokerAddress = "broker.clinic:8883"
        figures.brokerProtocol = "MQTT 5"
        figures.requireClockSync = true
        figures.clock = .read(ClockSynchronisation(clockState: 0, status: 0, estimatedErrorMicroseconds: 120,
                                                   maximumErrorMicroseconds: 5000))
        figures.loops = [LoopFigures(bus: "ward-a", cycles: 1200, overruns: 2, overrunsFromSilentDevices: 5)]
        figures.devices = [DeviceFigures(id: "monitor-1", status: DeviceStatus(known: true, answering: true), requests: 1200,
                                         failures: [FailureCount(kind: .timeout, count: 3)])]
        figures.publishing.brokerReady = true
        figures.publishing.pendingMessages = 4
        figures.healthServer = .serving(port: 9180)
        return figures
    }

    @Test func everyCheckPassesWhenAllIsWell() {
        let figures = healthyFigures()
        #expect(HealthDocuments.liveness(figures).status == 200)
        let readiness = HealthDocuments.readiness(figures)
        #expect(readiness.status == 200, "\(readiness.body)")
        #expect(readiness.body.contains("ok broker: connected to broker.clinic:8883 (MQTT 5)"))
        #expect(readiness.body.contains("ok devices: all 1 answering"))
        #expect(readiness.body.contains("ok queue: 4 message(s) pending"))
    }

    @Test func aStalledLoopFailsLivenessNamingItsBus() {
        var figures = healthyFigures()
        figures.loops.append(LoopFigures(bus: "ward-b", cycles: 10, stalledMilliseconds: 7400))
        let liveness = HealthDocuments.liveness(figures)
        #expect(liveness.status == 503)
        #expect(liveness.body.contains("ok loop ward-a: 1200 cycles"))
        #expect(liveness.body.contains("fail loop ward-b: no sampling cycle completed for 7 s"))
    }

    @Test func aPublisherThatStoppedRunningFailsLivenessAsServed() {
        let documents = HealthDocuments(healthyFigures(), builtAt: MonotonicInstant(nanoseconds: 0))
        #expect(documents.livenessServed(ageMilliseconds: 1000).status == 200)
        let stale = documents.livenessServed(ageMilliseconds: 6000)
        #expect(stale.status == 503 && stale.body.contains("fail publisher: the publisher thread has not run for 6 s"))
    }

    @Test func readinessNamesWhatIsWrong() {
        var figures = healthyFigures()
        figures.publishing.brokerReady = false
        figures.devices.append(DeviceFigures(id: "pump-1", status: DeviceStatus(known: true, answering: false, reason: "timeout")))
        figures.devices.append(DeviceFigures(id: "pump-2"))
        figures.clock = .unreadable("Operation not permitted (errno 1)")
        figures.publishing.queueWriteFailure = "cannot write the disk queue: No space left on device"
        let body = HealthDocuments.readiness(figures).body
        #expect(body.contains("fail broker: not connected to broker.clinic:8883; 4 message(s) wait in the disk queue"))
        #expect(body.contains("fail devices: not answering: pump-1 (timeout), pump-2 (no answer yet)"))
        #expect(body.contains("fail clock: cannot read the clock state: Operation not permitted (errno 1)"))
        #expect(body.contains("fail queue: cannot write the disk queue: No space left on device"))

        figures.requireClockSync = false
        #expect(HealthDocuments.readiness(figures).body.contains("ok clock: cannot read the clock state"))
    }

    @Test func aQueueRepairedAtStartStaysReadyAndSaysWhatWasMovedAside() {
        var figures = healthyFigures()
        figures.publishing.queueQuarantined = 2
        figures.publishing.queueQuarantineExample = "/q/18446744073709551615.seg: out of range, moved to /q/quarantine/x"
        let readiness = HealthDocuments.readiness(figures)
        #expect(readiness.status == 200, "\(readiness.body)")
        #expect(readiness.body.contains("ok queue: 4 message(s) pending; 2 damaged part(s) moved aside at start, "
                                        + "e.g. /q/18446744073709551615.seg: out of range, moved to /q/quarantine/x"))
        let metrics = HealthDocuments.metrics(figures)
        #expect(metrics.contains("bedside_queue_quarantined_total 2\n"))
        #expect(metrics.contains("bedside_queue_persistent 1\n"))
        #expect(HealthDocuments.summaryJSON(figures).contains("\"quarantined\":2,\"persistent\":true"))
    }

    @Test func aQueueThatCouldNotBeOpenedFailsReadinessWithItsReason() {
        var figures = healthyFigures()
        figures.publishing.queueUnavailable = "cannot create queue directory /ro/queue: Read-only file system (errno 30)"
        let readiness = HealthDocuments.readiness(figures)
        #expect(readiness.status == 503)
        #expect(readiness.body.contains("fail queue: not available (cannot create queue directory /ro/queue: Read-only file system "
                                        + "(errno 30)); messages go straight to the broker and are lost while it is away"))
        #expect(HealthDocuments.metrics(figures).contains("bedside_queue_persistent 0\n"))
        #expect(HealthDocuments.summaryJSON(figures).contains("\"persistent\":false"))
    }

    @Test func metricsCarryTheFigures() {
        var figures = healthyFigures()
        figures.publishing.refusedByBroker = 2
        figures.publishing.commandsAccepted = 5
        figures.alarms.active = 3
        figures.loops[0].refusedRecords = 7
        let text = HealthDocuments.metrics(figures)
        #expect(text.contains("bedside_loop_records_refused_total{bus=\"ward-a\"} 7\n"))
        #expect(HealthDocuments.summaryJSON(figures).contains("\"records_refused\":7"))
        #expect(text.contains("bedside_mqtt_refused_total 2\n"))
        #expect(text.contains("bedside_commands_total{result=\"accepted\"} 5\n"))
        #expect(text.contains("bedside_device_errors_total{device=\"monitor-1\",kind=\"timeout\"} 3\n"))
        #expect(text.contains("bedside_loop_overruns_total{bus=\"ward-a\"} 2\n"))
        #expect(text.contains("bedside_loop_overruns_silent_device_total{bus=\"ward-a\"} 5\n"))
        #expect(text.contains("bedside_alarms_active 3\n"))
        #expect(text.contains("bedside_uptime_seconds 61.5\n"))
        #expect(text.contains("bedside_mqtt_connected 1\n"))
    }

    @Test func theSummarySaysWhetherTheHealthServerIsServed() {
        var figures = healthyFigures()
        let serving = HealthDocuments.summaryJSON(figures)
        #expect(serving.contains("\"health_server\":\"serving\""))
        #expect(!serving.contains("health_server_error"))
        #expect(serving.contains("\"ready\":true"))
        #expect(serving.contains("\"uptime_s\":61"))

        figures.healthServer = .failed(reason: "cannot listen on 127.0.0.1:9180: Address already in use")
        let failed = HealthDocuments.summaryJSON(figures)
        #expect(failed.contains("\"health_server\":\"failed\""))
        #expect(failed.contains("\"health_server_error\":\"cannot listen on 127.0.0.1:9180: Address already in use\""))
    }
}

/// One rule for /healthz and the supervisor.
struct LoopLivenessTests {
    @Test func threePeriodsNeverUnderThreeSecondsPlusTwiceEveryTimeout() {
        #expect(LoopLiveness.allowedSilenceMilliseconds(periodMilliseconds: 100, responseTimeoutsMilliseconds: []) == 3000)
        #expect(LoopLiveness.allowedSilenceMilliseconds(periodMilliseconds: 2000, responseTimeoutsMilliseconds: []) == 6000)
        #expect(LoopLiveness.allowedSilenceMilliseconds(periodMilliseconds: 1000,
                                                        responseTimeoutsMilliseconds: [300, 500]) == 3000 + 1600)
    }
}

/// The hand-over between libmicrohttpd's thread and the publisher thread: documents are
/// built when asked for, from the state at the time of the request.
struct HealthHandOverTests {
    private static func documents(saying state: Int) -> HealthDocuments {
        var documents = HealthDocuments()
        documents.builtAt = MonotonicInstant.now()
        documents.metrics = "state \(state)\n"
        return documents
    }

    @Test func aRequestIsAnsweredWithDocumentsBuiltAfterItFromTheStateAtThatTime() throws {
        let publisherWakeUp = try WakeUp(purpose: "a test publisher")
        let handOver = try HealthHandOver(publisherWakeUp: publisherWakeUp)
        let state = Locked(1)
        let stopping = Locked(false)
        handOver.publisherRan(at: MonotonicInstant.now())
        handOver.deliver(HealthHandOverTests.documents(saying: 0))
        // Builds only when asked, as the agent's publisher thread does.
        let publisher = try OSThread(name: "publisher") {
            while !stopping.withLock({ $0 }) {
                publisherWakeUp.drain()
                handOver.publisherRan(at: MonotonicInstant.now())
                if handOver.takeRequest() {
                    handOver.deliver(HealthHandOverTests.documents(saying: state.withLock { $0 }))
                }
                publisherWakeUp.wait(timeoutMilliseconds: 60_000)
            }
        }
        let askedAt = MonotonicInstant.now()
        let (first, firstSilence) = handOver.freshDocuments()
        state.withLock { $0 = 2 }
        let (second, _) = handOver.freshDocuments()
        stopping.withLock { $0 = true }
        publisherWakeUp.signal()
        publisher.join()
        #expect(first.metrics == "state 1\n")
        #expect((first.builtAt?.nanoseconds ?? 0) >= askedAt.nanoseconds)
        #expect(second.metrics == "state 2\n")
        #expect(firstSilence < HealthDocuments.publisherStallMilliseconds)
    }

    @Test func withoutAnAnswerTheLastDocumentsAreServedAfterTheTimeoutAndThePublisherSilenceShows() throws {
        let handOver = try HealthHandOver(publisherWakeUp: try WakeUp(purpose: "a publisher that never runs"))
        let ranAt = MonotonicInstant.now()
        handOver.publisherRan(at: ranAt)
        handOver.deliver(HealthHandOverTests.documents(saying: 7))
        let (served, silence) = handOver.freshDocuments()
        let waited = MonotonicInstant.now().milliseconds(since: ranAt)
        #expect(served.metrics == "state 7\n")
        #expect(waited >= HealthHandOver.answerTimeoutMilliseconds)
        #expect(silence >= HealthHandOver.answerTimeoutMilliseconds && silence <= waited)
    }
}
