import Foundation
import FuzzSupport
import Platform
import StoreAndForward

// The queue directory as the agent finds it at start, whatever corruption or tampering left
// there, then what the publisher does with it: replay, append, acknowledge, and a restart.
// The input builds the directory (files with any name, content, kind), then runs operations.
// Properties: recovery never traps and keeps a usable queue; every pending record reads; an
// appended sequence is above every other record still pending (numbering starts again at 1 only
// when nothing is); an appended record that was not acknowledged is pending after a restart
// with its payload.
let base: String = {
    let parent = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = parent + "/bedside-fuzz-queue-\(getpid())"
    try? FileManager.default.removeItem(atPath: path)
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()
let directory = base + "/queue"

func segmentName(_ sequence: UInt64) -> String {
    let digits = String(sequence)
    return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
}

/// A segment's content made of intact records with the input's sequences.
func records(_ input: inout FuzzBytes) -> [UInt8] {
    var bytes: [UInt8] = []
    let count = Int(input.byte() % 8)
    for _ in 0..<count {
        let wide = input.byte()
        let sequence = wide & 1 == 1 ? input.uint64() : UInt64(input.byte())
        let stream = wide & 2 == 2 ? Int64(bitPattern: input.uint64()) : Int64(input.byte())
        let topic = input.part()
        let payload = input.part()
        bytes += RecordFormat.encode(queueSequence: sequence, streamSequence: stream, topic: topic, payload: payload) ?? []
    }
    return bytes
}

func build(_ input: inout FuzzBytes) {
    let layout = input.byte()
    if layout & 0x80 != 0 { // the queue path is not a directory
        writeFile(directory, input.part())
        return
    }
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for _ in 0..<Int(layout % 8) {
        let kind = input.byte()
        let name: String
        switch kind % 8 {
        case 0: name = segmentName(input.uint64())
        case 1: name = "checkpoint"
        case 2: name = "checkpoint.tmp"
        case 3: name = String(decoding: input.part().filter { $0 != 0x2F && $0 != 0 }, as: UTF8.self)
        case 4: name = "quarantine"
        default: name = segmentName(UInt64(input.byte()))
        }
        guard !name.isEmpty, name != ".", name != ".." else { continue }
        let path = directory + "/" + name
        try? FileManager.default.removeItem(atPath: path) // a later entry of the same name replaces it
        switch kind >> 3 & 3 {
        case 0: // file: raw bytes, checksums repaired if asked
            var content = input.part()
            if kind & 0x20 != 0 { name == "checkpoint" ? repairCheckpointChecksum(&content) : repairRecordChecksums(&content) }
            writeFile(path, content)
        case 1: // file of intact records
            writeFile(path, records(&input))
        case 2:
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        default:
            mkfifo(path, 0o600)
        }
    }
}

func settings() -> QueueSettings {
    QueueSettings(directory: directory, maximumBytes: 64 << 20, segmentBytes: 4096, fsync: .never, checkpointIntervalMilliseconds: 0)
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzQueueDirectory(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzBytes(fuzzInput(data, size))
    try? FileManager.default.removeItem(atPath: base)
    try! FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    build(&input)
    var queue: DiskQueue
    do {
        queue = try DiskQueue(settings: settings())
    } catch {
        fuzzRequire(false, "the queue cannot start on this directory: \(error)")
        return 0
    }
    var appended: [UInt64: [UInt8]] = [:]
    for sequence in queue.pendingSequences() {
        fuzzRequire(queue.read(sequence) != nil, "pending record \(sequence) does not read")
    }
    var operations = 0
    while !input.isAtEnd && operations < 32 {
        operations += 1
        switch input.byte() % 5 {
        case 0, 1:
            let payload = input.part()
            guard let sequence = try? queue.append(topic: "bedside/s/b/beds/chair-1/vitals", payload: payload, streamSequence: Int64(operations))
            else { continue }
            let above = queue.pendingSequences().filter { $0 > sequence }
            fuzzRequire(above.isEmpty, "appended sequence \(sequence) is not above pending \(above)")
            appended[sequence] = payload
        case 2:
            if let first = queue.firstPending() {
                _ = queue.markAcknowledged(first)
                appended[first] = nil
            }
        case 3:
            try? queue.maintenance(now: MonotonicInstant.now())
        default:
            try? queue.close()
            do {
                queue = try DiskQueue(settings: settings())
            } catch {
                fuzzRequire(false, "the queue cannot start again after closing: \(error)")
                return 0
            }
            for (sequence, payload) in appended {
                fuzzRequire(queue.read(sequence)?.payload == payload, "record \(sequence), appended, is lost after a restart")
            }
        }
    }
    try? queue.close()
    return 0
}

runFuzzTarget(fuzzQueueDirectory, seeds: {
    // The three states that crashed the agent before (issue 16), then a sound queue.
    let largestSegment: [UInt8] = [1, 0] + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + [0, 0, 1, 4]
    var checkpoint = QueueCheckpoint(lowestUnacknowledged: UInt64.max, lastStreamSequences: [:]).encoded()
    let largestCheckpoint: [UInt8] = [1, 1, UInt8(checkpoint.count)] + checkpoint + [0, 4]
    let largestRecord: [UInt8] = [1, 8 | 5, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1, 0x74, 2, 0x7B, 0x7D, 0, 4]
    checkpoint = QueueCheckpoint(lowestUnacknowledged: 2, lastStreamSequences: ["t": 5]).encoded()
    let sound: [UInt8] = [2, 8 | 5, 1, 3,
                          0, 1, 1, 1, 0x74, 1, 0x41, 0, 2, 2, 1, 0x74, 1, 0x42, 0, 3, 3, 1, 0x74, 1, 0x43,
                          1, UInt8(checkpoint.count)] + checkpoint + [0, 1, 0x44, 2, 4, 3]
    return [largestSegment, largestCheckpoint, largestRecord, sound]
})
