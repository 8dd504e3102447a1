import Foundation
import Testing
@testable import Platform

struct SPSCRingTests {
    @Test func keepsOrderAndRefusesWhenFull() {
        let ring = SPSCRing<Int>(capacity: 3, filler: 0)
        #expect(ring.capacity == 3)
        for value in 1...3 { #expect(ring.push(value)) }
        #expect(!ring.push(4))
        #expect(ring.refusedCount == 1)
        #expect(ring.pop() == 1)
        #expect(ring.push(5))
        #expect([ring.pop(), ring.pop(), ring.pop(), ring.pop()] == [2, 3, 5, nil])
        // Around the end of the storage several times: positions keep counting, slots wrap.
        for value in 10..<20 {
            #expect(ring.push(value))
            #expect(ring.pop() == value)
        }
    }

    @Test func aProducerAndAConsumerThreadLoseNothing() throws {
        let ring = SPSCRing<Int>(capacity: 64, filler: 0)
        let total = 200_000
        let producer = try OSThread(name: "producer") {
            var next = 0
            while next < total {
                if ring.push(next) { next += 1 }
            }
        }
        var received = 0
        var inOrder = true
        let deadline = Date().addingTimeInterval(60)
        while received < total && Date() < deadline {
            if let value = ring.pop() {
                if value != received { inOrder = false }
                received += 1
            }
        }
        producer.join()
        #expect(received == total)
        #expect(inOrder)
        // The producer retried on full, so refusals are expected; none may be lost.
        #expect(ring.pop() == nil)
    }
}
