import Foundation
import Platform
import Testing
@testable import Gateway

/// libmosquitto's thread posts one event per PUBACK; the publisher needs one wake-up per batch.
struct MQTTInboxTests {
    /// The eventfd's counter: how many times it was signalled since the last read.
    static func signals(_ wakeUp: WakeUp) -> UInt64 {
        var count: UInt64 = 0
        return read(wakeUp.descriptor, &count, 8) == 8 ? count : 0
    }

    @Test func aBurstOfAcknowledgementsWakesThePublisherOnce() throws {
        let inbox = MQTTInbox()
        let wakeUp = try WakeUp(purpose: "a test")
        inbox.wakeUp = wakeUp
        for id in 1...50 { inbox.post(.acknowledged(messageID: Int32(id), reasonCode: 0)) }
        #expect(Self.signals(wakeUp) == 1)
        #expect(inbox.take().count == 50)
        // Taken: the next event wakes it again, and nothing is lost in between.
        inbox.post(.acknowledged(messageID: 51, reasonCode: 0))
        #expect(Self.signals(wakeUp) == 1)
        inbox.post(.lost(code: 7))
        #expect(Self.signals(wakeUp) == 0)
        #expect(inbox.take().count == 2)
        #expect(inbox.take().isEmpty)
    }
}
