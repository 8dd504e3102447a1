import FuzzSupport
import StoreAndForward

// The queue's checkpoint file. Property: a checkpoint that decodes encodes to bytes that
// decode to the same checkpoint.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzQueueCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzBytes(fuzzInput(data, size))
    let repair = input.byte() & 1 == 1
    var bytes = input.rest()
    if repair { repairCheckpointChecksum(&bytes) }
    guard let checkpoint = QueueCheckpoint.decode(bytes) else { return 0 }
    let again = QueueCheckpoint.decode(checkpoint.encoded())
    fuzzRequire(again == checkpoint, "checkpoint \(checkpoint) does not survive encoding")
    return 0
}

runFuzzTarget(fuzzQueueCheckpoint, seeds: {
    [[0] + QueueCheckpoint(lowestUnacknowledged: 1, lastStreamSequences: [:]).encoded(),
     [1] + QueueCheckpoint(lowestUnacknowledged: 4711, lastStreamSequences: ["bedside/site/box/beds/chair-1/vitals": 42,
                                                                           "bedside/site/box/beds/chair-2/vitals": 7]).encoded(),
     [0] + QueueCheckpoint(lowestUnacknowledged: UInt64.max, lastStreamSequences: ["t": Int64.max]).encoded()]
})
