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

/// The coalesced hand-over (`signalIfWaiting` / `waitForProducers`): a producer writes only
/// while its consumer announced a wait, and no element is ever left behind a sleeping consumer.
struct CoalescedWakeUpTests {
    @Test func aBusyConsumerCostsItsProducersNoWrite() throws {
        let wakeUp = try WakeUp(purpose: "a test")
        for _ in 0..<5 { wakeUp.signalIfWaiting() }
        #expect(wakeUp.drain() == 0)
        #expect(!wakeUp.wait(timeoutMilliseconds: 0))
    }

    @Test func aWaitingConsumerGetsOneWriteHoweverManyHandOvers() throws {
        let wakeUp = try WakeUp(purpose: "a test")
        wakeUp.announceWaiting()
        for _ in 0..<5 { wakeUp.signalIfWaiting() }
        #expect(wakeUp.drain() == 1)
        // The write was claimed: the consumer is taken to be awake until it announces again.
        wakeUp.signalIfWaiting()
        #expect(wakeUp.drain() == 0)
        wakeUp.announceWaiting()
        wakeUp.withdrawWaiting()
        wakeUp.signalIfWaiting()
        #expect(wakeUp.drain() == 0)
    }

    /// An element pushed before the announcement (no write: the consumer was busy) is found
    /// by the look that follows it, so the consumer does not block at all.
    @Test func workHandedOverWhileBusyIsFoundWithoutBlocking() throws {
        let ring = SPSCRing<Int>(capacity: 4, filler: 0)
        let wakeUp = try WakeUp(purpose: "a test")
        ring.push(1)
        wakeUp.signalIfWaiting()
        let outcome = wakeUp.waitForProducers(timeoutMilliseconds: 60_000) { !ring.isEmpty }
        #expect(outcome.signalled)
        #expect(wakeUp.drain() == 0)
        #expect(ring.pop() == 1)
    }

    /// The window that loses wake-ups in a naive protocol: the consumer found nothing and is
    /// about to block when the producer pushes and signals. Here the producer runs inside that
    /// window (from the consumer's own last look), and the wait still returns at once.
    @Test func aHandOverBetweenTheLastLookAndTheBlockEndsTheWait() throws {
        let ring = SPSCRing<Int>(capacity: 4, filler: 0)
        let wakeUp = try WakeUp(purpose: "a test")
        let outcome = wakeUp.waitForProducers(timeoutMilliseconds: 60_000) {
            let found = !ring.isEmpty
            ring.push(7)
            wakeUp.signalIfWaiting()
            return found
        }
        #expect(outcome.signalled)
        #expect(wakeUp.drain() == 1)
        #expect(ring.pop() == 7)
    }

    @Test func anotherDescriptorStillEndsTheWait() throws {
        let wakeUp = try WakeUp(purpose: "a test")
        let button = try WakeUp(purpose: "another descriptor")
        button.signal()
        let outcome = wakeUp.waitForProducers(alsoWatching: button.descriptor, timeoutMilliseconds: 60_000) { false }
        #expect(outcome.signalled == false)
        #expect(outcome.otherReadable)
        #expect(wakeUp.drain() == 0)
    }

    /// Two producers at full speed, a consumer that drains, takes everything and waits with
    /// the protocol: every element arrives, no wait runs into its (one minute) timeout, and
    /// there is never more than one write per announced wait.
    @Test func twoProducersAndAConsumerLoseNoWakeUpAndWriteOncePerWait() throws {
        let rings = [SPSCRing<Int>(capacity: 16, filler: 0), SPSCRing<Int>(capacity: 16, filler: 0)]
        let wakeUp = try WakeUp(purpose: "a test")
        let total = 20_000
        let producers = try rings.enumerated().map { index, ring in
            try OSThread(name: "producer \(index)") {
                var next = 0
                while next < total {
                    if ring.push(next) {
                        next += 1
                        wakeUp.signalIfWaiting()
                    }
                }
            }
        }
        var received = [0, 0]
        var inOrder = true
        var waits = 0
        var writes = 0
        var waitsThatTimedOut = 0
        while received != [total, total] && waitsThatTimedOut == 0 {
            writes += wakeUp.drain()
            for (index, ring) in rings.enumerated() {
                while let value = ring.pop() {
                    if value != received[index] { inOrder = false }
                    received[index] += 1
                }
            }
            if received == [total, total] { break }
            waits += 1
            let outcome = wakeUp.waitForProducers(timeoutMilliseconds: 60_000) { rings.contains { !$0.isEmpty } }
            if !outcome.signalled { waitsThatTimedOut += 1 }
        }
        for producer in producers { producer.join() }
        writes += wakeUp.drain()
        #expect(received == [total, total])
        #expect(inOrder)
        #expect(waitsThatTimedOut == 0)
        #expect(writes <= waits)
    }
}
