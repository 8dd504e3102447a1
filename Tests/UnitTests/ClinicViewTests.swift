import Foundation
import Testing
import CShims
import ClinicView
import Config
import Platform
import Vitals

/// The clinic view's pure parts: users file, access decision, password hashes, event framing,
/// trends, the hub's hand-over to streams, the page itself, and the `view:` section.
struct ClinicViewTests {
    // MARK: Users file

    @Test func usersFileTakesYescryptAndSha512CryptHashesAndRefusesEverythingElse() {
        let good = "# station\nnurse-1:$y$j9T$abc$def\n\r\nward.b@clinic:$6$salt$hash\r\n"
        let parsed = ViewUsersFile.parse(Array(good.utf8))
        #expect(parsed.problems == [])
        #expect(parsed.users == [ViewUser(name: "nurse-1", hash: "$y$j9T$abc$def"), ViewUser(name: "ward.b@clinic", hash: "$6$salt$hash")])

        let bad = "nurse-1 $6$x$y\nnurse-2:secret\nnurse-3:$1$md5$hash\n:$6$x$y\nnur se:$6$x$y\nnurse-4:$6$a b\nnurse-5:$6$x$y\nnurse-5:$6$x$z\n"
        let problems = ViewUsersFile.parse(Array(bad.utf8)).problems
        #expect(problems.map { "\($0.line):\($0.column)" } == ["1:1", "2:9", "3:9", "4:1", "5:4", "6:13", "8:1"])
        #expect(problems[1].message.contains("not a yescrypt ($y$) or sha512crypt ($6$) hash"))
        #expect(problems[1].message.contains("mkpasswd -m yescrypt"))
        #expect(problems[6].message == "user 'nurse-5' is listed twice")
        #expect(ViewUsersFile.parse(Array("# nobody yet\n".utf8)).problems.map(\.message) == ["no users: add a 'name:hash' line"])
    }

    // MARK: Access

    @Test func accessNeedsAKnownUserAndTheRightPasswordAndHashesEvenForUnknownNames() {
        let access = ViewAccess(users: [ViewUser(name: "nurse-1", hash: "H1"), ViewUser(name: "nurse-2", hash: "H2")])
        var checked: [String] = []
        let verify = { (password: String, hash: String) -> Bool in
            checked.append(hash)
            return (password, hash) == ("right-1", "H1") || (password, hash) == ("right-2", "H2")
        }
        #expect(access.allows(user: "nurse-1", password: "right-1", verify: verify))
        #expect(!access.allows(user: "nurse-1", password: "right-2", verify: verify))
        #expect(access.allows(user: "nurse-2", password: "right-2", verify: verify))
        #expect(!access.allows(user: "stranger", password: "right-1", verify: verify))
        #expect(!access.allows(user: "", password: "", verify: verify))
        // One hash computation per request, known name or not.
        #expect(checked.count == 5)
    }

    @Test func passwordHashesAreCheckedByLibcrypt() {
        // The sha512crypt test vector of its specification (Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512").
        let hash = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        #expect(PasswordHash.matches(password: "Hello world!", hash: hash))
        #expect(!PasswordHash.matches(password: "Hello world", hash: hash))
        #expect(!PasswordHash.matches(password: "Hello world!", hash: "$6$saltstring$"))
        #expect(!PasswordHash.matches(password: "", hash: "not a hash"))

        // yescrypt, Debian's default, with a setting libcrypt makes itself.
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        #expect(crypt_gensalt_rn("$y$", 0, nil, 0, &setting, Int32(setting.count)) != nil)
        let size = MemoryLayout<crypt_data>.size
        let data = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { data.deallocate() }
        memset(data, 0, size)
        let made = String(cString: crypt_rn("station password", setting, data, Int32(size)))
        #expect(made.hasPrefix("$y$"), "\(made)")
        #expect(ViewUsersFile.parse(Array("nurse-1:\(made)\n".utf8)).problems == [])
        #expect(PasswordHash.matches(password: "station password", hash: made))
        #expect(!PasswordHash.matches(password: "station passwor", hash: made))
    }

    // MARK: Server-Sent Events

    @Test func eventsAreFramedOneDataLinePerPayloadLine() {
        var bytes: [UInt8] = []
        ServerSentEvents.append(event: "vitals", data: Array("{\"a\":1}".utf8), to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "event: vitals\ndata: {\"a\":1}\n\n")
        bytes = []
        ServerSentEvents.append(event: "x\ny", data: Array("one\ntwo\r\nthree\rfour".utf8), to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "event: xy\ndata: one\ndata: two\ndata: three\ndata: four\n\n")
        #expect(String(decoding: ServerSentEvents.keepAlive, as: UTF8.self).hasPrefix(":"))
        #expect(String(decoding: ServerSentEvents.retry(milliseconds: 2000), as: UTF8.self) == "retry: 2000\n\n")
    }

    // MARK: Trends

    @Test func trendRingAveragesPerBucketAndForgetsWhatIsOlderThanItsSpan() {
        var ring = TrendRing(bucketMilliseconds: 10_000, capacity: 4)
        ring.add(90, atMilliseconds: 1_000_000)
        ring.add(100, atMilliseconds: 1_005_000)
        ring.add(80, atMilliseconds: 1_010_000)
        ring.add(.nan, atMilliseconds: 1_020_000)
        #expect(ring.means(endingAtMilliseconds: 1_030_000) == [95, 80, nil, nil])
        // Past the span: the oldest buckets are gone, the newest shown.
        ring.add(70, atMilliseconds: 1_040_000)
        #expect(ring.means(endingAtMilliseconds: 1_040_000) == [80, nil, nil, 70])
        // A value older than the span behind the newest is ignored; it does not overwrite a slot.
        ring.add(10, atMilliseconds: 1_000_000)
        #expect(ring.means(endingAtMilliseconds: 1_040_000) == [80, nil, nil, 70])
        // Reading at a later time shows no value for buckets nothing fell into.
        #expect(ring.means(endingAtMilliseconds: 1_070_000) == [70, nil, nil, nil])
        #expect(ring.means(endingAtMilliseconds: 1_080_000) == [nil, nil, nil, nil])
        // Negative times (a clock before 1970) fall into their own buckets too.
        var early = TrendRing(bucketMilliseconds: 1000, capacity: 3)
        early.add(5, atMilliseconds: -1500)
        #expect(early.means(endingAtMilliseconds: -1) == [nil, 5, nil])
    }

    // MARK: The hub

    static func hub() -> ViewHub {
        ViewHub(layout: ViewLayout(site: "clinic-a", box: "edge-01", bedIDs: ["chair-1", "chair-2"],
                                   entryNames: [["spo2", "heart_rate"], ["spo2"]], deviceCount: 2, cycleMilliseconds: 1000))
    }

    static func readAll(_ subscription: ViewSubscription) -> String {
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 100)
        // Only what is there already: the snapshot or queued events (never the keep-alive wait).
        repeat {
            guard let count = buffer.withUnsafeMutableBytes({ subscription.read(into: $0) }) else { break }
            text += buffer[..<count]
        } while !text.suffix(2).elementsEqual([10, 10])
        return String(decoding: text, as: UTF8.self)
    }

    @Test func aNewStreamStartsWithTheLatestDocumentsAndTrendsThenGetsEachEvent() throws {
        let hub = Self.hub()
        hub.description(bed: 0, json: Array("{\"bed\":\"chair-1\"}".utf8))
        let now: Int64 = 1_800_000_000_000
        for second in 0..<30 {
            hub.vitals(bed: 0, json: Array("{\"seq\":\(second)}".utf8),
                       values: [VitalValue(entry: 0, value: 90 + Double(second % 2), quality: .ok, wallClockMilliseconds: now - 29_000 + Int64(second) * 1000),
                                VitalValue(entry: 1, value: nil, quality: .commLoss, wallClockMilliseconds: now)])
        }
        hub.alarmState(bed: 1, json: Array("{\"bed\":\"chair-2\",\"active\":[]}".utf8))
        hub.deviceState(device: 1, json: Array("{\"device\":\"monitor-2\"}".utf8))
        let subscription = try #require(hub.subscribe(wallClockMilliseconds: now, user: "nurse-1"))
        #expect(hub.streams == 1)
        var snapshot = ""
        while !snapshot.contains("event: device-state") { snapshot += Self.readAll(subscription) }
        #expect(snapshot.hasPrefix("retry: 2000\n\nevent: hello\ndata: {\"site\":\"clinic-a\",\"box\":\"edge-01\",\"beds\":[\"chair-1\",\"chair-2\"],\"cycle_ms\":1000,\"trend_bucket_s\":10,\"trend_buckets\":180,\"user\":\"nurse-1\"}\n\n"))
        #expect(snapshot.contains("event: description\ndata: {\"bed\":\"chair-1\"}\n\n"))
        #expect(snapshot.contains("event: vitals\ndata: {\"seq\":29}\n\n"), "only the latest vitals")
        #expect(!snapshot.contains("{\"seq\":28}"))
        #expect(snapshot.contains("event: alarm-state\ndata: {\"bed\":\"chair-2\",\"active\":[]}\n\n"))
        // 30 s of values alternating 90 and 91 fill the last four 10 s buckets of 180 (the
        // newest holds the last value alone); heart rate had none of quality ok.
        let trendLine = try #require(snapshot.split(separator: "\n").first { $0.hasPrefix("data: {\"bed\":\"chair-1\",\"end\"") })
        #expect(trendLine.contains("\"bucket_s\":10"))
        #expect(trendLine.contains(",null,90.4,90.5,90.5,91.0],"))
        #expect(trendLine.contains("\"heart_rate\":[null,"))
        #expect(trendLine.hasSuffix(",null]}}") && !trendLine.contains("90.4,90.5,90.5,91.0]}"))

        hub.vitals(bed: 1, json: Array("{\"seq\":1,\"bed\":\"chair-2\"}".utf8), values: [])
        #expect(Self.readAll(subscription) == "event: vitals\ndata: {\"seq\":1,\"bed\":\"chair-2\"}\n\n")
        // An unchanged alarm state (offered again while the broker is away) is not sent again.
        hub.alarmState(bed: 1, json: Array("{\"bed\":\"chair-2\",\"active\":[]}".utf8))
        hub.health(json: Array("{\"ready\":true}".utf8))
        #expect(Self.readAll(subscription) == "event: health\ndata: {\"ready\":true}\n\n")
        subscription.cancel()
        #expect(hub.streams == 0)
    }

    @Test func aStreamThatFallsAWholeLogBehindIsEndedAndCountedWhileOthersGoOn() throws {
        let hub = Self.hub()
        let slow = try #require(hub.subscribe(wallClockMilliseconds: 0, user: nil))
        let keeping = try #require(hub.subscribe(wallClockMilliseconds: 0, user: nil))
        _ = Self.readAll(slow)
        _ = Self.readAll(keeping)
        for sequence in 0..<ViewHub.logCapacity + 10 {
            hub.vitals(bed: 0, json: Array("{\"seq\":\(sequence)}".utf8), values: [])
            if sequence % 100 == 0 { while Self.readAll(keeping).contains("\"seq\":\(sequence)}") == false {} }
        }
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(buffer.withUnsafeMutableBytes { slow.read(into: $0) } == nil)
        #expect(hub.droppedStreams == 1)
        #expect(hub.droppedEvents == 10)
        #expect(buffer.withUnsafeMutableBytes { keeping.read(into: $0) } != nil)
        hub.close()
        // After close, every stream ends once it has written what it holds.
        var ended = false
        for _ in 0..<100_000 where !ended { ended = buffer.withUnsafeMutableBytes { keeping.read(into: $0) } == nil }
        #expect(ended)
    }

    // MARK: The page

    @Test func thePageIsSmallSelfContainedAndReadOnly() {
        let page = ViewPage.html
        #expect(page.utf8.count <= 50 * 1024, "page weight \(page.utf8.count) bytes")
        #expect(!page.contains("http://") && !page.contains("https://"), "no CDN or other server")
        #expect(!page.contains("<script src") && !page.contains("<link"))
        #expect(page.contains("new EventSource(\"events\")"))
        for verb in ["fetch(", "XMLHttpRequest", "<form", "method=\"post\"", "sendBeacon"] {
            #expect(!page.contains(verb), "the page must have no way to send anything: \(verb)")
        }
        // IEC 60601-1-8 colours and flashing: high red at 2 Hz, medium yellow at 0.5 Hz, low cyan steady.
        #expect(page.contains(".ban.high{background:#d40000;color:#fff;animation:f2 .5s steps(1) infinite}"))
        #expect(page.contains(".ban.medium{background:#ffd400;color:#000;animation:f2 2s steps(1) infinite}"))
        #expect(page.contains(".ban.low{background:#00c8e6;color:#000}"))
    }

    // MARK: Configuration

    static let base = PublishingConfigTests.base

    @Test func theViewIsOffUntilConfiguredAndLoopbackOnlyWithoutUsers() throws {
        #expect(try ConfigLoader.parse(text: Self.base, file: "config.yaml").view == nil)
        let open = try ConfigLoader.parse(text: Self.base + "view: {}\n", file: "config.yaml").view
        #expect(open == ViewSettings(listenAddress: "127.0.0.1", port: 8080))
        #expect(open?.requiresLogin == false)
        #expect(renderedErrors(Self.base + "view: { listen: 0.0.0.0 }\n")
            == ["config.yaml:9:17: view.listen: the view would be open to anyone on \"0.0.0.0\" without a password: set view.users_file (or listen on 127.0.0.1)"])
        #expect(renderedErrors(Self.base + "view: { port: 0, colour: red }\n").count == 2)
        #expect(renderedErrors(Self.base + "view: { cert_file: /etc/ssl/view.pem }\n")
            == ["config.yaml:9:9: view.key_file: missing 'key_file': the view's certificate needs its private key"])
    }

    @Test func theUsersFileIsCheckedLineByLineAndMustNotBeWorldReadable() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bedside-view-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("view-users").path
        let config = Self.base + "view:\n  users_file: \(path)\n"
        try "nurse-1:$6$salt$hash\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        #expect(renderedErrors(config) == ["config.yaml:10:15: view.users_file: the view users file \"\(path)\" can be read by every user on this box; restrict it (chmod 640, owned by root and the service's group)"])
        chmod(path, 0o640)
        let view = try #require(try ConfigLoader.parse(text: config, file: "config.yaml").view)
        #expect(view.users == [ViewUser(name: "nurse-1", hash: "$6$salt$hash")])
        #expect(view.listenAddress == "0.0.0.0", "with users the view serves the LAN")
        try "nurse-1:$6$salt$hash\nnurse-2:plain\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        #expect(renderedErrors(config).first?.hasPrefix("\(path):2:9: user 'nurse-2': not a yescrypt") == true, "\(renderedErrors(config))")
    }
}
