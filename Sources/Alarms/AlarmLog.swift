import JSON
import Platform

/// The alarm log: one text line per event, "<crc32 as 8 hex digits> <json>\n". The CRC covers
/// the JSON bytes; a line counts only when its newline is there and the CRC matches, so a line
/// torn by power loss is skipped. JSON: the contract's event members plus "mono" and "detail".
public enum AlarmLog {
    public static func encodeLine(_ event: AlarmEvent) -> String {
        var json = JSONWriter()
        writeEventMembers(&json, event)
        json.member("mono", event.monotonicMilliseconds)
        json.member("wall", event.wallClockMilliseconds)
        json.member("detail", event.detail)
        if !event.by.isEmpty { json.member("by", event.by) }
        json.endObject()
        return hex8(CRC32.checksum(Array(json.text.utf8))) + " " + json.text + "\n"
    }

    public static func encode(_ events: [AlarmEvent]) -> String {
        var text = ""
        for event in events { text += encodeLine(event) }
        return text
    }

    /// The intact events of a log, in order, skipping damaged lines.
    public static func decodeEvents(_ bytes: [UInt8]) -> (events: [AlarmEvent], skippedLines: Int, endsMidLine: Bool) {
        var events: [AlarmEvent] = []
        var skipped = 0
        var start = 0
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x0A {
                if index > start {
                    if let event = decodeLine(bytes, from: start, to: index) { events.append(event) } else { skipped += 1 }
                }
                start = index + 1
            }
            index += 1
        }
        let endsMidLine = start < bytes.count
        if endsMidLine { skipped += 1 }
        return (events, skipped, endsMidLine)
    }

    static func decodeLine(_ bytes: [UInt8], from start: Int, to end: Int) -> AlarmEvent? {
        guard end - start > 9, bytes[start + 8] == 0x20 else { return nil }
        var stored: UInt32 = 0
        for offset in 0..<8 {
            guard let digit = hexValue(bytes[start + offset]) else { return nil }
            stored = stored << 4 | UInt32(digit)
        }
        let body = Array(bytes[(start + 9)..<end])
        guard CRC32.checksum(body) == stored else { return nil }
        guard let document = try? JSONParser.parse(body),
              let bed = document["bed"]?.stringValue,
              let alarm = document["alarm"]?.stringValue,
              let condition = document["condition"]?.stringValue,
              let priorityName = document["priority"]?.stringValue, let priority = AlarmPriority(name: priorityName),
              let kindName = document["kind"]?.stringValue, let kind = AlarmKind(name: kindName),
              let typeName = document["event"]?.stringValue, let type = AlarmEventType(name: typeName),
              let sequence = document["seq"]?.integerValue,
              let mono = document["mono"]?.integerValue,
              let wall = document["wall"]?.integerValue,
              // No log the agent writes holds numbers beyond this; such a line (forged, or bad
              // memory before the CRC was taken) is damage, so `lastSequence + 1` and the time
              // formatting of a restored alarm cannot overflow.
              0 <= sequence && sequence <= largestNumber, 0 <= mono && mono <= largestNumber,
              0 <= wall && wall <= largestNumber
        else { return nil }
        return AlarmEvent(bed: bed, sequence: sequence, alarm: alarm, condition: condition, priority: priority,
                          kind: kind, type: type, wallClockMilliseconds: wall, monotonicMilliseconds: mono,
                          detail: document["detail"]?.stringValue ?? "", by: document["by"]?.stringValue ?? "")
    }

    /// Event sequences and times a line may carry (2^62: at 1000 events a second, 146 million years).
    public static let largestNumber = Int64(1) << 62

    /// Replays a log: each bed's last sequence number and the alarms still active at its end.
    public static func recover(_ bytes: [UInt8]) -> AlarmLogRecovery {
        let decoded = decodeEvents(bytes)
        var recovery = AlarmLogRecovery()
        recovery.intactLines = decoded.events.count
        recovery.skippedLines = decoded.skippedLines
        recovery.endsMidLine = decoded.endsMidLine
        for event in decoded.events {
            var bedIndex: Int?
            for index in recovery.beds.indices where recovery.beds[index].bed == event.bed { bedIndex = index }
            if bedIndex == nil {
                recovery.beds.append(RecoveredBed(bed: event.bed, lastSequence: 0, active: []))
                bedIndex = recovery.beds.count - 1
            }
            var bed = recovery.beds[bedIndex!]
            if event.sequence > bed.lastSequence { bed.lastSequence = event.sequence }
            var alarmIndex: Int?
            for index in bed.active.indices where bed.active[index].alarm == event.alarm { alarmIndex = index }
            switch event.type {
            case .start:
                if alarmIndex == nil {
                    bed.active.append(ActiveAlarm(alarm: event.alarm, condition: event.condition, priority: event.priority,
                                                  kind: event.kind, sinceWallClockMilliseconds: event.wallClockMilliseconds,
                                                  acknowledged: false, conditionPresent: true))
                }
            case .escalate:
                if let alarmIndex { bed.active[alarmIndex].priority = event.priority }
            case .acknowledge:
                if let alarmIndex { bed.active[alarmIndex].acknowledged = true }
            case .end:
                if let alarmIndex { bed.active.remove(at: alarmIndex) }
            case .audioPaused, .audioResumed, .limitChange:
                break
            }
            recovery.beds[bedIndex!] = bed
        }
        return recovery
    }
}

public struct RecoveredBed: Sendable, Equatable {
    public var bed: String
    public var lastSequence: Int64
    public var active: [ActiveAlarm]
}

public struct AlarmLogRecovery: Sendable, Equatable {
    public var beds: [RecoveredBed] = []
    public var intactLines = 0
    public var skippedLines = 0
    /// The file ends inside a line (torn write): the next append must start a new line.
    public var endsMidLine = false
    /// What stood at the log's path and could not be read as a log (a directory, a pipe, a file
    /// that cannot be read or is too large), moved aside: "<why>; moved to <where>". The log
    /// starts empty, and no alarm of before the restart is restored.
    public var movedAside: String?

    public init() {}
}

/// The log on disk: appends through Platform, one write per batch of events, each batch on
/// the storage (fdatasync) before `append` returns.
public struct AlarmLogFile: Sendable {
    public var path: String
    var needsNewline = false
    /// Something that is not a regular file stands at `path` and could not be moved aside:
    /// appending could block on it (a pipe), so nothing is written, and this is the error.
    var unusable: SystemError?

    public init(path: String) { self.path = path }

    /// Reads the log back (a missing file is an empty log) and prepares appending after a torn
    /// tail. Whatever stands at the path, the alarm system starts: anything that is not a
    /// readable regular file is moved aside to `<path>.damaged-<time>` (never deleted) and the
    /// log starts empty. Throws only when it can be neither read nor moved aside.
    public mutating func load() throws(SystemError) -> AlarmLogRecovery {
        let kind = FileKind(atPath: path)
        if kind == .missing { return AlarmLogRecovery() } // the first start
        let problem: SystemError
        let reason: String
        if kind == .regularFile {
            do {
                let recovery = AlarmLog.recover(try readFile(path, limit: 64 << 20))
                needsNewline = recovery.endsMidLine
                return recovery
            } catch {
                if error.errno == .noSuchFileOrDirectory { return AlarmLogRecovery() }
                problem = error
                reason = error.description
            }
        } else {
            // Opening a pipe would block the start; a directory cannot be appended to.
            problem = SystemError("read alarm log", path, errno: kind == .directory ? .isDirectory : .illegalSeek)
            reason = "\(kind.description) stands where the alarm log \(path) should be"
        }
        guard let movedTo = moveAside(path, to: "\(path).damaged-\(moveAsideStamp())", reason: reason) else {
            if kind != .regularFile { unusable = problem }
            throw problem
        }
        var recovery = AlarmLogRecovery()
        recovery.movedAside = "\(reason); moved to \(movedTo)"
        return recovery
    }

    /// Appends the events and waits until they are on the storage. Syncing every batch is
    /// affordable because alarm events are rare (state changes of alarms, not samples: a few
    /// a minute on a busy ward), and it is what lets a latched alarm survive a power cut.
    public mutating func append(_ events: [AlarmEvent]) throws(SystemError) {
        if events.isEmpty && !needsNewline { return }
        if let unusable { throw unusable }
        // A torn tail gets its own (bad) line instead of spoiling the first new one.
        let text = (needsNewline ? "\n" : "") + AlarmLog.encode(events)
        do throws(SystemError) {
            try appendToFile(path, text, durable: true)
        } catch {
            // Part of the text may have reached the file: the next append starts a new line.
            needsNewline = true
            throw error
        }
        needsNewline = false
    }
}

func hex8(_ value: UInt32) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var bytes: [UInt8] = []
    var shift: UInt32 = 28
    for _ in 0..<8 {
        bytes.append(digits[Int((value >> shift) & 0xF)])
        shift &-= 4
    }
    return String(decoding: bytes, as: UTF8.self)
}

func hexValue(_ byte: UInt8) -> UInt8? {
    if byte >= 0x30 && byte <= 0x39 { return byte - 0x30 }
    if byte >= 0x61 && byte <= 0x66 { return byte - 0x61 + 10 }
    return nil
}
