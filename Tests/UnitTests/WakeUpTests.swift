import Foundation
import Testing
@testable import Platform

struct WakeUpTests {
    @Test func aSignalIsSeenByTheNextWaitUntilDrained() throws {
        let wakeUp = try WakeUp(purpose: "a test")
        #expect(!wakeUp.wait(timeoutMilliseconds: 0))
        wakeUp.signal()
        #expect(wakeUp.wait(timeoutMilliseconds: 0))
        // Still signalled: waiting does not consume the count, draining does.
        #expect(wakeUp.wait(timeoutMilliseconds: 0))
        wakeUp.drain()
        #expect(!wakeUp.wait(timeoutMilliseconds: 0))
    }

    @Test func signalsCoalesceIntoOneDrain() throws {
        let wakeUp = try WakeUp(purpose: "a test")
        for _ in 0..<5 { wakeUp.signal() }
        wakeUp.drain()
        #expect(!wakeUp.wait(timeoutMilliseconds: 0))
        // Draining what is not signalled is harmless.
        wakeUp.drain()
        #expect(!wakeUp.wait(timeoutMilliseconds: 0))
    }

    @Test func aSignalFromAnotherThreadEndsABlockedWait() throws {
        let wakeUp = try WakeUp(purpose: "a test")
        let signaller = try OSThread(name: "signaller") {
            sleep(milliseconds: 20)
            wakeUp.signal()
        }
        // A minute is a bound no passing run comes near; only a lost signal reaches it.
        let signalled = wakeUp.wait(timeoutMilliseconds: 60_000)
        signaller.join()
        #expect(signalled)
    }

    @Test func waitingOnTwoDescriptorsTellsWhichIsReady() throws {
        let first = try WakeUp(purpose: "the first")
        let second = try WakeUp(purpose: "the second")
        #expect(waitUntilReadable(first.descriptor, second.descriptor, timeoutMilliseconds: 0) == (false, false))
        second.signal()
        #expect(waitUntilReadable(first.descriptor, second.descriptor, timeoutMilliseconds: 60_000) == (false, true))
        first.signal()
        #expect(waitUntilReadable(first.descriptor, nil, timeoutMilliseconds: 60_000) == (true, false))
    }

    /// The pattern the alarm thread and the publisher use: drain, take everything, wait. A
    /// producer that pushes and then signals can never leave an element behind a consumer
    /// that sleeps until its timeout.
    @Test func aConsumerThatDrainsBeforeTakingMissesNoWakeUp() throws {
        let ring = SPSCRing<Int>(capacity: 16, filler: 0)
        let wakeUp = try WakeUp(purpose: "a test")
        let total = 20_000
        let producer = try OSThread(name: "producer") {
            var next = 0
            while next < total {
                if ring.push(next) {
                    next += 1
                    wakeUp.signal()
                }
            }
        }
        var received = 0
        var inOrder = true
        var waitsThatTimedOut = 0
        while received < total && waitsThatTimedOut == 0 {
            wakeUp.drain()
            while let value = ring.pop() {
                if value != received { inOrder = false }
                received += 1
            }
            if received < total && !wakeUp.wait(timeoutMilliseconds: 60_000) { waitsThatTimedOut += 1 }
        }
        producer.join()
        #expect(received == total)
        #expect(inOrder)
        #expect(waitsThatTimedOut == 0)
    }
}
