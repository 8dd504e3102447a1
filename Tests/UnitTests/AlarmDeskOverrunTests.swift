import Acquisition
import Alarms
import Config
import Foundation
import MQTT
import Testing
@testable import Gateway

/// The agent's loop-overrun fault as the desk decides it, with time injected: raised on the beds
/// of the loop that overran, not on every bed, and ended per loop.
@Suite(.serialized)
struct AlarmDeskOverrunTests {
    static let wall: Int64 = 1_795_000_000_000

    /// Three beds; loop 0 serves chair-1, loop 1 serves chair-2 and chair-3, loop 2 chair-3.
    static func desk(logPath: String) -> AlarmDesk {
        let config = GatewayConfig(site: "ward-3", box: "box-1",
                                   mqtt: MQTTSettings(host: "127.0.0.1", port: 1883, clientID: "box-1",
                                                      keepaliveSeconds: 30, topicPrefix: "clinic"),
                                   sampling: SamplingSettings(intervalMilliseconds: 100),
                                   beds: [BedConfig(id: "chair-1", devices: []), BedConfig(id: "chair-2", devices: []),
                                          BedConfig(id: "chair-3", devices: [])],
                                   alarms: AlarmSettings(logPath: logPath))
        var desk = AlarmDesk(config: config, devices: [], loopBeds: [[0], [1, 2], [2]])
        _ = desk.start(config: config, now: 0, wall: wall)
        _ = desk.takeOutgoing()
        return desk
    }

    static func withDesk(_ body: (inout AlarmDesk) -> Void) {
        let directory = NSTemporaryDirectory() + "overrun-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var desk = desk(logPath: directory + "/alarms.log")
        body(&desk)
    }

    static func check(_ desk: inout AlarmDesk, _ overruns: [UInt64], at now: Int64) -> [String] {
        desk.checkOverruns(overruns, now: now, wall: wall + now)
        return desk.takeOutgoing().events.map { "\($0.type.name) \($0.bed) \($0.condition)" }
    }

    @Test func faultOnlyOnTheBedsOfTheLoopThatOverran() {
        Self.withDesk { desk in
            #expect(Self.check(&desk, [0, 1, 0], at: 1000).isEmpty)
            #expect(Self.check(&desk, [0, 2, 0], at: 2000).isEmpty)
            #expect(desk.overrunFaultEnd == nil)
            #expect(Self.check(&desk, [0, 3, 0], at: 3000)
                    == ["start chair-2 agent-loop-overrun", "start chair-3 agent-loop-overrun"])
            // The oldest of the three leaves the 10 s window just after 11 s.
            #expect(desk.overrunFaultEnd == 11_001)
            #expect(Self.check(&desk, [0, 3, 0], at: 11_000).isEmpty)
            #expect(Self.check(&desk, [0, 3, 0], at: 11_001)
                    == ["end chair-2 agent-loop-overrun", "end chair-3 agent-loop-overrun"])
            #expect(desk.overrunFaultEnd == nil)
        }
    }

    @Test func overrunsOfDifferentLoopsDoNotAddUp() {
        Self.withDesk { desk in
            #expect(Self.check(&desk, [1, 1, 1], at: 1000).isEmpty)
            #expect(Self.check(&desk, [2, 2, 2], at: 2000).isEmpty)
        }
    }

    @Test func aBedServedByTwoLoopsKeepsItsFaultWhileEitherLoopIsInFault() {
        Self.withDesk { desk in
            #expect(Self.check(&desk, [0, 3, 0], at: 1000)
                    == ["start chair-2 agent-loop-overrun", "start chair-3 agent-loop-overrun"])
            #expect(Self.check(&desk, [0, 3, 3], at: 5000).isEmpty) // chair-3 already in fault
            // Loop 1's fault ends: chair-2's ends, chair-3 stays for loop 2.
            #expect(desk.overrunFaultEnd == 11_001)
            #expect(Self.check(&desk, [0, 3, 3], at: 11_001) == ["end chair-2 agent-loop-overrun"])
            #expect(desk.overrunFaultEnd == 15_001)
            #expect(Self.check(&desk, [0, 3, 3], at: 15_001) == ["end chair-3 agent-loop-overrun"])
        }
    }

    @Test func aFaultingLoopSeenAgainStaysOneAlarm() {
        Self.withDesk { desk in
            #expect(Self.check(&desk, [3, 0, 0], at: 1000) == ["start chair-1 agent-loop-overrun"])
            #expect(Self.check(&desk, [6, 0, 0], at: 8000).isEmpty)
            #expect(Self.check(&desk, [6, 0, 0], at: 11_001).isEmpty) // the later three are still in the window
            #expect(Self.check(&desk, [6, 0, 0], at: 18_001) == ["end chair-1 agent-loop-overrun"])
        }
    }
}
