import Alarms
import Charting
import Health
import JSON
import Platform
import SessionPicture
import Sessions
import Vitals

/// The finished session records on the box, `<directory>/<id>.json`: listed at GET /sessions,
/// each served at /sessions/<id>.json, pruned to `keepDays` and `SessionSettings.maximumArchiveBytes`.
/// Immutable, so libmicrohttpd's thread reads the directory through it while the publisher
/// thread writes there: a record appears by rename, whole or not at all.
struct SessionArchive: Sendable {
    let directory: String
    let bedIDs: [String]
    let keepDays: Int

    func recordPath(_ id: String) -> String { "\(directory)/\(id).json" }

    /// The ids of the records on disk, newest start first (beds in configuration order within a second).
    func ids() -> [(id: String, bytes: Int)] {
        guard let names = try? listDirectory(directory) else { return [] }
        var found: [(id: String, bytes: Int, stamp: String)] = []
        for name in names where name.hasSuffix(".json") {
            let id = String(name.dropLast(5))
            guard SessionID.isWellFormed(id, beds: bedIDs), let bytes = regularFileSize(atPath: recordPath(id)) else { continue }
            found.append((id, bytes, String(id.suffix(16))))
        }
        found.sort { $0.stamp != $1.stamp ? $0.stamp > $1.stamp : $0.id < $1.id }
        return found.map { ($0.id, $0.bytes) }
    }

    /// GET /sessions, /sessions/<id>.json and /sessions/<id>.svg (the record drawn as one page,
    /// `SessionPicture`); nil for any other path. An id that is not a session id of a configured
    /// bed is answered 404 without looking at the disk.
    func respond(to path: String) -> HealthResponse? {
        if path == "/sessions" || path == "/sessions/" {
            var json = JSONWriter()
            json.beginObject()
            json.key("sessions")
            json.beginArray()
            for record in ids() {
                json.beginObject()
                json.member("session", record.id)
                json.member("bed", String(record.id.dropLast(17)))
                json.member("bytes", record.bytes)
                json.member("href", "/sessions/\(record.id).json")
                json.member("picture", "/sessions/\(record.id).svg")
                json.endObject()
            }
            json.endArray()
            json.member("keep_days", keepDays)
            json.endObject()
            return HealthResponse(status: 200, contentType: "application/json", body: json.text + "\n")
        }
        guard path.hasPrefix("/sessions/") else { return nil }
        let name = path.dropFirst("/sessions/".count)
        let picture = name.hasSuffix(".svg")
        guard name.hasSuffix(".json") || picture else { return HealthResponse.notFound(path: path) }
        let id = String(name.dropLast(picture ? 4 : 5))
        guard SessionID.isWellFormed(id, beds: bedIDs), let bytes = try? readFile(recordPath(id)) else {
            return HealthResponse.notFound(path: path)
        }
        guard picture else {
            return HealthResponse(status: 200, contentType: "application/json", body: String(decoding: bytes, as: UTF8.self))
        }
        do throws(SessionRecordReadError) {
            return HealthResponse(status: 200, contentType: "image/svg+xml", body: SessionPicture.svg(try SessionRecordPlot.plot(recordJSON: bytes)))
        } catch {
            return HealthResponse(status: 500, body: "\(id): \(error.description)\n")
        }
    }

    /// Deletes records older than `keepDays`, then the oldest while they take more than
    /// `maximumArchiveBytes`. Returns what it deleted, for the log.
    func prune(nowMilliseconds now: Int64) -> [String] {
        var deleted: [String] = []
        var total = 0
        let oldest = now - Int64(keepDays) * 86_400_000
        for record in ids() {
            let start = parseUTCTimestamp(Self.rfc3339(fromStamp: String(record.id.suffix(16)))) ?? now
            if start < oldest || total + record.bytes > SessionSettings.maximumArchiveBytes {
                if (try? removeFile(recordPath(record.id))) != nil { deleted.append(record.id) }
            } else {
                total += record.bytes
            }
        }
        return deleted
    }

    /// "20261203T214900Z" -> "2026-12-03T21:49:00Z".
    static func rfc3339(fromStamp stamp: String) -> String {
        let bytes = Array(stamp.utf8)
        guard bytes.count == 16 else { return "" }
        func part(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        return "\(part(0..<4))-\(part(4..<6))-\(part(6..<8))T\(part(9..<11)):\(part(11..<13)):\(part(13..<15))Z"
    }
}

/// Each bed's `SessionRecorder`, its state file (`<directory>/state-<bed>.json`, so a restart,
/// `kill -9` included, continues an open session) and the finished records. On the publisher
/// thread only: the sampling loops and the alarm thread never wait for any of it.
final class SessionKeeper {
    let settings: SessionSettings
    let archive: SessionArchive
    /// Per bed, in the configuration's order (the publisher's bed index).
    var recorders: [SessionRecorder]
    /// When each bed's state was last written (wall clock, ms).
    private var stateWrittenAt: [Int64]
    /// Figures of a message alone (no new row or event) reach the state file at most this often:
    /// what a crash can cost is the summary's last seconds, never a row or an event.
    static let stateWriteIntervalMilliseconds: Int64 = 10_000
    /// Why the directory or a file in it cannot be written, while that lasts.
    private(set) var writeFailure: String?
    /// State files found damaged at start and moved aside, with where they went.
    private(set) var movedAside: [String] = []

    init(settings: SessionSettings, descriptions: [BedDescription], intervalMilliseconds: Int64, nowMilliseconds now: Int64) {
        self.settings = settings
        archive = SessionArchive(directory: settings.directory, bedIDs: descriptions.map { $0.bedID }, keepDays: settings.keepDays)
        stateWrittenAt = [Int64](repeating: 0, count: descriptions.count)
        do throws(SystemError) {
            try makeDirectories(settings.directory, mode: 0o750, purpose: "create session directory")
        } catch {
            writeFailure = error.description
            log(.error, "\(error.description); infusion sessions are recorded and published but not kept on the box, "
                + "and a restart loses the open ones")
        }
        var recorders: [SessionRecorder] = []
        for description in descriptions {
            let path = Self.statePath(settings.directory, bed: description.bedID)
            var recorder = SessionRecorder(description: description, intervalMilliseconds: intervalMilliseconds, settings: settings)
            if FileKind(atPath: path) != .missing {
                var problem: String?
                do throws(SystemError) {
                    let bytes = try readFile(path)
                    do throws(SessionStateError) {
                        recorder = try SessionRecorder(description: description, intervalMilliseconds: intervalMilliseconds,
                                                       settings: settings, snapshot: bytes)
                        if let id = recorder.openSessionID {
                            recorder.resumed()
                            log(.info, "bed \(description.bedID): session \(id) continues")
                        }
                    } catch {
                        problem = error.description
                    }
                } catch {
                    problem = error.description
                }
                if let problem {
                    let stem = path + ".damaged-" + moveAsideStamp(wallClockMilliseconds: now)
                    let moved = moveAside(path, to: stem, reason: problem)
                    let note = "session state \(path): \(problem); " + (moved.map { "moved aside to \($0)" } ?? "could not be moved aside")
                    movedAside.append(note)
                    log(.error, note + "; bed \(description.bedID) starts without its open session, the next one starts afresh")
                }
            }
            recorders.append(recorder)
        }
        self.recorders = recorders
        for id in archive.prune(nowMilliseconds: now) { log(.info, "session record \(id) deleted (sessions.keep_days, size bound)") }
    }

    static func statePath(_ directory: String, bed: String) -> String { "\(directory)/state-\(bed).json" }

    /// Keeps what `changes` says is worth keeping: the state file, and a finished record as a file.
    func keep(_ changes: SessionChanges, bed: Int, nowMilliseconds now: Int64) {
        if let finished = changes.finished {
            attempt { () throws(SystemError) in
                try replaceFile(archive.recordPath(finished.id), with: Array(finished.record.utf8))
            }
            for id in archive.prune(nowMilliseconds: now) { log(.info, "session record \(id) deleted (sessions.keep_days, size bound)") }
            log(.info, "bed \(recorders[bed].bedID): session \(finished.id) ended")
        }
        if let started = changes.started { log(.info, "bed \(recorders[bed].bedID): session \(started) started") }
        let due = changes.recordChanged || changes.finished != nil || changes.started != nil
            || (changes.stateChanged && now - stateWrittenAt[bed] >= Self.stateWriteIntervalMilliseconds)
        guard due else { return }
        stateWrittenAt[bed] = now
        let snapshot = recorders[bed].snapshot()
        attempt { () throws(SystemError) in
            try replaceFile(Self.statePath(settings.directory, bed: recorders[bed].bedID), with: snapshot)
        }
    }

    private func attempt(_ write: () throws(SystemError) -> Void) {
        do throws(SystemError) {
            try write()
            if writeFailure != nil {
                log(.info, "the session directory \(settings.directory) is written again")
                writeFailure = nil
            }
        } catch {
            if writeFailure == nil {
                var text = "cannot keep infusion sessions on the box: \(error.description)"
                let advice = error.errno.storageAdvice
                if !advice.isEmpty { text += "; " + advice }
                log(.error, text + "; records are still published")
            }
            writeFailure = error.description
        }
    }
}
