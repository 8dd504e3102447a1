import Foundation
import Health
import MQTT
import Testing
import TestSupport

/// The agent when its health port is taken: it cannot serve /healthz, /readyz or /metrics,
/// but its first duty (sampling, alarms, publishing) goes on, and it says what is wrong on
/// MQTT, the one channel left.
@Suite
struct AgentHealthPortTests {
    @Test func anOccupiedHealthPortLeavesTheAgentPublishingAndTheHealthSummarySaysFailed() throws {
        let rig = try PublishingRig("health-port-taken")
        defer { rig.stopAll() }
        // Another program holds the port first.
        let squatter = try HealthServer(address: "127.0.0.1", port: rig.healthPort) { _ in nil }
        defer { squatter.stop() }
        let broker = try rig.startBroker()
        let ports = try rig.startSimulator(monitors: 1)
        try rig.writeConfig(bedPorts: ports, intervalMilliseconds: 250, healthPublishSeconds: 1)
        let health = try RecordingSubscriber(port: broker.port, topic: "\(PublishingEndToEndTests.prefix)/health")
        let vitals = try RecordingSubscriber(port: broker.port, topic: "\(PublishingEndToEndTests.prefix)/beds/+/vitals")
        try rig.startAgent()

        let summaries = health.wait(timeout: 30) { messages in
            messages.contains { String(decoding: $0.payload, as: UTF8.self).contains("\"health_server\":\"failed\"") }
        }
        let failed = summaries.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any] }
        #expect(failed?["health_server"] as? String == "failed", "\(rig.agentOutput)")
        let reason = failed?["health_server_error"] as? String ?? ""
        #expect(reason.contains("127.0.0.1:\(rig.healthPort)") && reason.contains("Address already in use"), "\(reason)")

        let published = vitals.wait(timeout: 30) { $0.count >= 5 }
        #expect(published.count >= 5, "the agent keeps publishing vitals:\n\(rig.agentOutput)")
        #expect(rig.agentIsRunning, "a taken health port does not stop the agent:\n\(rig.agentOutput)")
        #expect(rig.agentOutput.contains("/healthz, /readyz and /metrics are not served"), "\(rig.agentOutput)")
        // The port is still the other program's: the agent did not take it over.
        #expect(try rig.fetch("/healthz").status == 404)
        #expect(rig.stopAgent() == 0, "\(rig.agentOutput)")
    }
}
