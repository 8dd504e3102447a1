import FuzzSupport
import StoreAndForward

// A queue segment as recovery scans it, and each record it finds. Properties: every record
// the scan reports lies inside the valid part, in sequence order after the given sequence,
// and decodes to what the scan reported; encoded again it gives the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzQueueSegment(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzBytes(fuzzInput(data, size))
    let mode = input.byte()
    let after = UInt64(mode >> 1)
    var bytes = input.rest()
    if mode & 1 == 1 { repairRecordChecksums(&bytes) }
    let scan = scanSegment(bytes, after: after)
    fuzzRequire(scan.validEnd >= 0 && scan.validEnd <= bytes.count, "valid end \(scan.validEnd) outside \(bytes.count) bytes")
    var previous = after
    for found in scan.records {
        fuzzRequire(found.offset >= 0 && found.offset + found.length <= scan.validEnd, "record at \(found.offset) beyond the valid end")
        fuzzRequire(found.queueSequence > previous, "sequence \(found.queueSequence) after \(previous)")
        previous = found.queueSequence
        fuzzRequire(RecordFormat.validRecordLength(in: bytes, at: found.offset) == found.length, "length differs at \(found.offset)")
        guard let record = RecordFormat.decode(bytes, at: found.offset) else {
            fuzzRequire(false, "a scanned record at \(found.offset) does not decode")
            return 0
        }
        fuzzRequire(record.queueSequence == found.queueSequence && record.streamSequence == found.streamSequence
                    && record.topic == found.topic, "decoded record differs from the scan at \(found.offset)")
        // A topic that is not UTF-8 comes back repaired (U+FFFD), so only a UTF-8 topic's record
        // can give its bytes back.
        let topicLength = Int(bytes[found.offset + 28]) | Int(bytes[found.offset + 29]) << 8
        let topicStart = found.offset + RecordFormat.headerSize
        if Array(bytes[topicStart..<(topicStart + topicLength)]) == Array(record.topic.utf8) {
            let encoded = RecordFormat.encode(record)
            fuzzRequire(encoded == Array(bytes[found.offset..<(found.offset + found.length)]),
                        "record at \(found.offset) encodes to other bytes")
        }
    }
    _ = RecordFormat.decode(bytes, at: Int(after) % (bytes.count + 1))
    return 0
}

runFuzzTarget(fuzzQueueSegment, seeds: {
    let first = RecordFormat.encode(QueueRecord(queueSequence: 1, streamSequence: 1, topic: "bedside/s/b/beds/chair-1/vitals",
                                                payload: Array(#"{"bed":"chair-1","seq":1}"#.utf8))) ?? []
    let second = RecordFormat.encode(QueueRecord(queueSequence: 2, streamSequence: 2, topic: "bedside/s/b/beds/chair-1/vitals",
                                                 payload: Array(#"{"bed":"chair-1","seq":2}"#.utf8))) ?? []
    let largest = RecordFormat.encode(QueueRecord(queueSequence: UInt64.max, streamSequence: Int64.max, topic: "t",
                                                  payload: [])) ?? []
    return [[0] + first + second, [0] + first + Array(second.prefix(20)), [0] + largest, [1] + first + [0xFF, 0x00] + second]
})
