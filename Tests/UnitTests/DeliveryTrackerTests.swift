import Testing
@testable import StoreAndForward

struct DeliveryTrackerTests {
    @Test func liveMessagesGoOutAtOnceAndWaitingOnesAreReplayedOldestFirst() {
        var tracker = DeliveryTracker(replayWindow: 8)
        tracker.recordAppended(1, publishNow: false)
        tracker.recordAppended(2, publishNow: false)
        tracker.recordAppended(3, publishNow: true)
        tracker.published(3, messageID: 30, replay: false)
        #expect(tracker.waitingCount == 2)
        #expect(tracker.nextToReplay() == 1)
        #expect(tracker.nextToReplay() == 1, "peeking does not take it")
        tracker.published(1, messageID: 31, replay: true)
        #expect(tracker.nextToReplay() == 2)
        tracker.published(2, messageID: 32, replay: true)
        #expect(tracker.nextToReplay() == nil)
        #expect(tracker.publishedLive == 1)
        #expect(tracker.publishedReplay == 2)
        #expect(tracker.inFlightReplayCount == 2)
        let acks = [tracker.acknowledged(messageID: 32), tracker.acknowledged(messageID: 30),
                    tracker.acknowledged(messageID: 31)]
        #expect(acks == [2, 3, 1])
        #expect(tracker.acknowledgedCount == 3)
        #expect(tracker.inFlightCount == 0)
        #expect(tracker.inFlightReplayCount == 0)
    }

    @Test func replayWindowLimitsReplaysButNotLiveMessages() {
        var tracker = DeliveryTracker(replayWindow: 3)
        for sequence: UInt64 in 1...10 { tracker.recordRecovered(sequence) }
        var messageID: Int32 = 100
        var replayed: [UInt64] = []
        while let next = tracker.nextToReplay() {
            tracker.published(next, messageID: messageID, replay: true)
            replayed.append(next)
            messageID += 1
        }
        #expect(replayed == [1, 2, 3])
        // A live message goes out regardless of the full window.
        tracker.recordAppended(11, publishNow: true)
        tracker.published(11, messageID: 200, replay: false)
        #expect(tracker.nextToReplay() == nil)
        #expect(tracker.acknowledged(messageID: 200) == 11)
        #expect(tracker.nextToReplay() == nil, "a live ack does not open the replay window")
        #expect(tracker.acknowledged(messageID: 101) == 2)
        #expect(tracker.nextToReplay() == 4)
    }

    @Test func connectionLostSendsEverythingInFlightBackToWaiting() {
        var tracker = DeliveryTracker(replayWindow: 2)
        for sequence: UInt64 in 1...4 { tracker.recordRecovered(sequence) }
        tracker.published(1, messageID: 1, replay: true)
        tracker.published(2, messageID: 2, replay: true)
        tracker.recordAppended(5, publishNow: true)
        tracker.published(5, messageID: 3, replay: false)
        tracker.recordAppended(6, publishNow: true)
        tracker.publishRefused(6)
        tracker.connectionLost()
        #expect(tracker.inFlightCount == 0)
        #expect(tracker.waiting.runs == [SequenceSet.Run(first: 1, last: 6)])
        #expect(tracker.acknowledged(messageID: 1) == nil, "a late ack after the loss is ignored")
        var replayed: [UInt64] = []
        var messageID: Int32 = 10
        while replayed.count < 6 {
            guard let next = tracker.nextToReplay() else {
                // Window full: the broker acknowledges the oldest in flight.
                #expect(tracker.acknowledged(messageID: messageID - 2) != nil)
                continue
            }
            tracker.published(next, messageID: messageID, replay: true)
            replayed.append(next)
            messageID += 1
        }
        #expect(replayed == [1, 2, 3, 4, 5, 6])
    }

    @Test func reusedMessageIDMapsToTheLatestPublish() {
        var tracker = DeliveryTracker()
        tracker.recordAppended(5, publishNow: true)
        tracker.published(5, messageID: 7, replay: false)
        tracker.recordAppended(6, publishNow: true)
        tracker.published(6, messageID: 7, replay: false)
        #expect(tracker.acknowledged(messageID: 7) == 6)
        #expect(tracker.acknowledged(messageID: 7) == nil)
        #expect(tracker.nextToReplay() == 5, "the earlier message lost its id without an ack")
    }

    @Test func unknownAcknowledgementsAreIgnored() {
        var tracker = DeliveryTracker()
        tracker.recordRecovered(1)
        #expect(tracker.acknowledged(messageID: 12345) == nil)
        #expect(tracker.acknowledged(messageID: Int32.min) == nil)
        #expect(tracker.acknowledgedCount == 0)
        #expect(tracker.waitingCount == 1)
    }

    @Test func forgettingDroppedRecords() {
        var tracker = DeliveryTracker(replayWindow: 4)
        for sequence: UInt64 in 1...10 { tracker.recordRecovered(sequence) }
        tracker.published(1, messageID: 1, replay: true)
        tracker.published(2, messageID: 2, replay: true)
        tracker.published(9, messageID: 9, replay: false)
        // The queue dropped its oldest segment: everything below 5 is gone.
        tracker.forget(below: 5)
        #expect(tracker.acknowledged(messageID: 1) == nil)
        #expect(tracker.inFlightReplayCount == 0)
        #expect(tracker.nextToReplay() == 5)
        tracker.forget(5)
        #expect(tracker.nextToReplay() == 6)
        #expect(tracker.waitingCount == 4, "6, 7, 8, 10")
        #expect(tracker.acknowledged(messageID: 9) == 9)
    }

    @Test func refusedPublishWaitsForReplay() {
        var tracker = DeliveryTracker()
        tracker.recordAppended(1, publishNow: true)
        tracker.publishRefused(1)
        #expect(tracker.nextToReplay() == 1)
        tracker.publishRefused(1)
        #expect(tracker.waitingCount == 1, "a refused replay stays waiting once")
        #expect(tracker.publishedLive == 0)
    }

    @Test func onlyARecordHandedToTheClientBeforeOrRecoveredIsSentAgain() {
        var tracker = DeliveryTracker(replayWindow: 8)
        // Made before the first connection: waits, but was never handed over.
        tracker.recordAppended(1, publishNow: false)
        #expect(!tracker.wasHandedBefore(1))
        tracker.published(1, messageID: 1, replay: true)
        // In flight when the connection drops: handed over without a PUBACK.
        tracker.recordAppended(2, publishNow: true)
        tracker.published(2, messageID: 2, replay: false)
        // The client refused it: not handed over.
        tracker.recordAppended(3, publishNow: true)
        tracker.publishRefused(3)
        tracker.connectionLost()
        #expect(tracker.wasHandedBefore(1) && tracker.wasHandedBefore(2))
        #expect(!tracker.wasHandedBefore(3))
        // Made during the outage.
        tracker.recordAppended(4, publishNow: false)
        #expect(!tracker.wasHandedBefore(4))
        // Recovered from disk after a restart: may have been handed over.
        tracker.recordRecovered(5)
        #expect(tracker.wasHandedBefore(5))

        // Sent again and acknowledged: nothing is left marked.
        var messageID: Int32 = 10
        while let next = tracker.nextToReplay() {
            tracker.published(next, messageID: messageID, replay: true)
            messageID += 1
        }
        for id: Int32 in 10..<messageID { _ = tracker.acknowledged(messageID: id) }
        #expect(tracker.handedBefore.isEmpty)
    }

    @Test func aReusedMessageIDMarksTheEarlierRecordAsHandedBefore() {
        var tracker = DeliveryTracker(replayWindow: 8)
        tracker.recordAppended(1, publishNow: true)
        tracker.published(1, messageID: 7, replay: false)
        tracker.recordAppended(2, publishNow: true)
        tracker.published(2, messageID: 7, replay: false)
        #expect(tracker.wasHandedBefore(1) && !tracker.wasHandedBefore(2))
        tracker.forget(1)
        #expect(!tracker.wasHandedBefore(1), "a forgotten record leaves no mark")
    }
}
