import Foundation
import Health
import Platform
import Testing
import TestSupport

/// The health server over real sockets, spoken to with a hand-written HTTP/1.1 client so
/// the test sees exactly the status line, headers and body libmicrohttpd sent.
@Suite(.serialized)
struct HealthServerTests {
    /// Requests the respond closure saw, from libmicrohttpd's thread.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var requests: [HealthRequest] = []
        private var threads: Set<UInt> = []
        func record(_ request: HealthRequest) {
            lock.withLock {
                requests.append(request)
                threads.insert(UInt(pthread_self()))
            }
        }
        var seen: [HealthRequest] { lock.withLock { requests } }
        var threadCount: Int { lock.withLock { threads.count } }
        func ranOn(_ thread: pthread_t) -> Bool { lock.withLock { threads.contains(UInt(thread)) } }
    }

    static let metricsDocument: PrometheusDocument = {
        var document = PrometheusDocument()
        try! document.addCounter("bedside_samples_total", help: "Samples read.",
                                 samples: [PrometheusSample(labels: [PrometheusLabel("bed", "chair \"1\"")], value: 42)])
        try! document.addGauge("bedside_up", help: "1 while running.", samples: [PrometheusSample(value: 1)])
        return document
    }()

    /// The agent's three endpoints, with a failing readiness check.
    static func startServer(recorder: Recorder, address: String = "127.0.0.1", limits: HealthServer.Limits = .init()) throws -> HealthServer {
        try HealthServer(address: address, port: 0, limits: limits) { request in
            recorder.record(request)
            switch request.path {
            case "/healthz":
                return HealthReport([.pass("sampling", "3 beds, last cycle 12 ms ago")]).response
            case "/readyz":
                return HealthReport([.pass("broker", "connected to 127.0.0.1:1883"),
                                     .fail("clock", "not synchronised (adjtimex TIME_ERROR)")]).response
            case "/metrics":
                return HealthResponse(status: 200, contentType: PrometheusDocument.contentType, body: metricsDocument.text)
            default:
                return nil
            }
        }
    }

    @Test func servesHealthReadinessAndMetrics() throws {
        let recorder = Recorder()
        let server = try Self.startServer(recorder: recorder)
        defer { server.stop() }
        #expect(server.boundPort > 0)

        let health = try HTTPExchange.get("/healthz", port: server.boundPort)
        #expect(health.status == 200)
        #expect(health.headers["content-type"] == "text/plain; charset=utf-8")
        #expect(health.headers["cache-control"] == "no-store")
        #expect(health.body == "ok sampling: 3 beds, last cycle 12 ms ago\n")

        let ready = try HTTPExchange.get("/readyz", port: server.boundPort)
        #expect(ready.status == 503)
        #expect(ready.headers["cache-control"] == "no-store")
        #expect(ready.body == "ok broker: connected to 127.0.0.1:1883\nfail clock: not synchronised (adjtimex TIME_ERROR)\n")

        let metrics = try HTTPExchange.get("/metrics?debug=1", port: server.boundPort)
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(metrics.headers["cache-control"] == "no-store")
        #expect(metrics.body == Self.metricsDocument.text)
        #expect(metrics.headers["content-length"] == String(Self.metricsDocument.text.utf8.count))

        let seen = recorder.seen
        #expect(seen == [HealthRequest(method: .get, path: "/healthz"), HealthRequest(method: .get, path: "/readyz"),
                         HealthRequest(method: .get, path: "/metrics")])
    }

    @Test func unknownPathIs404AndOtherMethodsAre405() throws {
        let recorder = Recorder()
        let server = try Self.startServer(recorder: recorder)
        defer { server.stop() }

        let missing = try HTTPExchange.get("/nothing/here", port: server.boundPort)
        #expect(missing.status == 404)
        #expect(missing.headers["content-type"] == "text/plain; charset=utf-8")
        #expect(missing.headers["cache-control"] == "no-store")
        #expect(missing.body == "not found: /nothing/here\n")

        for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
            let body = "{\"restart\": true}"
            let reply = try HTTPExchange.send("\(method) /healthz HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)", port: server.boundPort)
            #expect(reply.status == 405, "\(method)")
            #expect(reply.headers["allow"] == "GET, HEAD", "\(method)")
            #expect(reply.headers["cache-control"] == "no-store", "\(method)")
            #expect(reply.headers["content-type"] == "text/plain; charset=utf-8", "\(method)")
            #expect(reply.body == "method \(method) is not allowed: use GET or HEAD\n")
        }
        // Neither a 405 nor anything else reached the respond closure except the GET.
        #expect(recorder.seen == [HealthRequest(method: .get, path: "/nothing/here")])
    }

    @Test func headHasTheHeadersOfGetWithoutABody() throws {
        let recorder = Recorder()
        let server = try Self.startServer(recorder: recorder)
        defer { server.stop() }
        let get = try HTTPExchange.get("/metrics", port: server.boundPort)
        let head = try HTTPExchange.send("HEAD /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", port: server.boundPort)
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.headers["content-type"] == get.headers["content-type"])
        #expect(head.headers["cache-control"] == "no-store")
        #expect(head.headers["content-length"] == String(get.body.utf8.count))
        #expect(recorder.seen.last == HealthRequest(method: .head, path: "/metrics"))
    }

    @Test func aSecondServerOnTheSamePortFailsNamingAddressAndPort() throws {
        let first = try HealthServer(address: "127.0.0.1", port: 0) { _ in nil }
        defer { first.stop() }
        do {
            let second = try HealthServer(address: "127.0.0.1", port: first.boundPort) { _ in nil }
            second.stop()
            Issue.record("a second server on port \(first.boundPort) started")
        } catch {
            #expect(error == .cannotListen(address: "127.0.0.1", port: first.boundPort, operation: "bind", errno: .addressInUse))
            #expect(error.description.hasPrefix("cannot listen for health checks on 127.0.0.1:\(first.boundPort): Address already in use"),
                    "\(error.description)")
        }
        // The first one still answers.
        #expect(try HTTPExchange.get("/x", port: first.boundPort).status == 404)
    }

    @Test func afterStopTheServerRefusesConnections() throws {
        let server = try HealthServer(address: "127.0.0.1", port: 0) { _ in HealthResponse(status: 200, body: "ok\n") }
        let port = server.boundPort
        #expect(try HTTPExchange.get("/healthz", port: port).status == 200)
        server.stop()
        server.stop() // twice is harmless
        #expect(throws: HTTPExchange.Failure.connect(ECONNREFUSED)) { try HTTPExchange.get("/healthz", port: port) }
    }

    @Test func addressesMustBeLiteralsAndPortsInRange() {
        for address in ["localhost", "300.1.1.1", "", "fe80::1%eth0", "127.0.0.1:80"] {
            #expect(throws: HealthError.invalidAddress(address)) { _ = try HealthServer(address: address, port: 0) { _ in nil } }
        }
        for port in [-1, 65_536] {
            #expect(throws: HealthError.invalidPort(port)) { _ = try HealthServer(address: "127.0.0.1", port: port) { _ in nil } }
        }
        let message = HealthError.invalidAddress("localhost").description
        #expect(message.contains("'localhost'") && message.contains("127.0.0.1"))
    }

    @Test func servesOverIPv6Loopback() throws {
        let recorder = Recorder()
        let server: HealthServer
        do {
            server = try Self.startServer(recorder: recorder, address: "::1")
        } catch let error as HealthError {
            // A machine without IPv6 on loopback cannot run this test; say so instead of passing silently.
            if case .cannotListen(_, _, _, let code) = error, code == .addressNotAvailable || code == Errno(EAFNOSUPPORT) {
                withKnownIssue("no IPv6 loopback on this machine: \(error)") { throw error }
                return
            }
            throw error
        }
        defer { server.stop() }
        let reply = try HTTPExchange.get("/healthz", port: server.boundPort, family: AF_INET6)
        #expect(reply.status == 200)
        #expect(reply.body == "ok sampling: 3 beds, last cycle 12 ms ago\n")
        #expect(HealthError.cannotListen(address: "::1", port: 9180, operation: "bind", errno: .addressInUse)
            .description.hasPrefix("cannot listen for health checks on [::1]:9180: "))
    }

    /// The limits travel to libmicrohttpd through a hand-built va_list; this shows they arrive.
    @Test func idleConnectionsAreClosedAfterTheTimeout() throws {
        let server = try HealthServer(address: "127.0.0.1", port: 0, limits: .init(connectionTimeoutSeconds: 1)) { _ in nil }
        defer { server.stop() }
        let idle = try HTTPExchange.connect(port: server.boundPort, receiveTimeoutSeconds: 10)
        defer { close(idle) }
        let start = Date()
        var byte: UInt8 = 0
        let received = recv(idle, &byte, 1, 0)
        let waited = Date().timeIntervalSince(start)
        #expect(received == 0, "the server should close the idle connection (recv gave \(received), errno \(errno))")
        #expect(waited > 0.5 && waited < 8, "closed after \(waited) s, configured 1 s")
    }

    @Test func theConnectionLimitHoldsBackExtraConnections() throws {
        let server = try HealthServer(address: "127.0.0.1", port: 0, limits: .init(maximumConnections: 1)) { _ in
            HealthResponse(status: 200, body: "ok\n")
        }
        defer { server.stop() }
        let holder = try HTTPExchange.connect(port: server.boundPort, receiveTimeoutSeconds: 10)
        // libmicrohttpd must have accepted the holder (it then has no room for another).
        try #require(waitUntil(timeout: 5) { LoopbackTCPTable.acceptedEverything(port: server.boundPort) },
                     "libmicrohttpd did not accept the first connection: \(LoopbackTCPTable.entries().filter { $0.localPort == server.boundPort })")
        let waiting = try HTTPExchange.connect(port: server.boundPort, receiveTimeoutSeconds: 1)
        defer { close(waiting) }
        try HTTPExchange.write("GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", to: waiting)
        var buffer = [UInt8](repeating: 0, count: 256)
        let early = recv(waiting, &buffer, buffer.count, 0)
        #expect(early < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "served beyond the limit of 1 (recv gave \(early))")
        close(holder)
        let reply = try HTTPExchange.readReply(from: waiting, receiveTimeoutSeconds: 10)
        #expect(reply.status == 200)
    }

    @Test func respondRunsOnOneThreadThatIsNotTheCaller() throws {
        let recorder = Recorder()
        let server = try Self.startServer(recorder: recorder)
        defer { server.stop() }
        for _ in 0..<5 { _ = try HTTPExchange.get("/healthz", port: server.boundPort) }
        #expect(recorder.seen.count == 5)
        #expect(recorder.threadCount == 1)
        #expect(!recorder.ranOn(pthread_self()))
    }
}

/// The /healthz and /readyz document on its own.
struct HealthReportTests {
    @Test func allPassingIs200AndOneFailingIs503() {
        var report = HealthReport([.pass("broker", "connected to 127.0.0.1:1883"), .pass("sampling", "3 beds")])
        #expect(report.allPassed && report.status == 200)
        report.add(.fail("clock", "not synchronised (adjtimex TIME_ERROR, estimated error 16000 us)"))
        #expect(!report.allPassed && report.status == 503)
        #expect(report.body == """
            ok broker: connected to 127.0.0.1:1883
            ok sampling: 3 beds
            fail clock: not synchronised (adjtimex TIME_ERROR, estimated error 16000 us)

            """)
        #expect(report.response == HealthResponse(status: 503, contentType: "text/plain; charset=utf-8", body: report.body))
    }

    @Test func eachCheckIsExactlyOneLine() {
        let report = HealthReport([.fail("disk\nqueue", "full:\r\n  512 MiB of 512 MiB"), .pass("bus", "ok")])
        let lines = report.body.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines == ["fail disk queue: full:    512 MiB of 512 MiB", "ok bus: ok", ""])
    }

    @Test func noChecksIsHealthyAndEmpty() {
        #expect(HealthReport().status == 200)
        #expect(HealthReport().body == "")
    }
}

/// A minimal HTTP/1.1 client over a blocking socket: one request, reply read to EOF.
/// The kernel's view of IPv4 TCP sockets (/proc/net/tcp), for knowing whether a server has
/// taken a connection off its listening socket's accept queue: nothing else on the client's
/// side tells an accepted connection from one the kernel holds for the server.
enum LoopbackTCPTable {
    struct Entry {
        var localPort: Int
        /// "0A" listening, "01" established.
        var state: String
        /// For a listening socket: connections completed but not yet accepted.
        var receiveQueue: Int
    }

    static func entries() -> [Entry] {
        // Read to the end: the kernel hands the table out a page per read, and a busy machine
        // (other suites' connections) has many pages.
        guard let file = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return [] }
        defer { try? file.close() }
        let text = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4, let portText = fields[1].split(separator: ":").last,
                  let port = Int(portText, radix: 16), let queueText = fields[4].split(separator: ":").last,
                  let queue = Int(queueText, radix: 16) else { return nil }
            return Entry(localPort: port, state: String(fields[3]), receiveQueue: queue)
        }
    }

    /// Whether a connection to `port` has been established and the listener's accept queue
    /// is empty again, i.e. the server has accepted it.
    static func acceptedEverything(port: Int) -> Bool {
        let mine = entries().filter { $0.localPort == port }
        let established = mine.contains { $0.state == "01" }
        let listenerIdle = mine.contains { $0.state == "0A" && $0.receiveQueue == 0 }
        return established && listenerIdle
    }
}

enum HTTPExchange {
    struct Reply {
        var status: Int
        /// Lower-cased names.
        var headers: [String: String]
        var body: String
    }

    enum Failure: Error, Equatable {
        case connect(Int32)
        case malformed(String)
    }

    static func get(_ path: String, port: Int, family: Int32 = AF_INET) throws -> Reply {
        try send("GET \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", port: port, family: family)
    }

    static func send(_ request: String, port: Int, family: Int32 = AF_INET) throws -> Reply {
        let fd = try connect(port: port, family: family, receiveTimeoutSeconds: 10)
        defer { close(fd) }
        try write(request, to: fd)
        return try readReply(from: fd, receiveTimeoutSeconds: 10)
    }

    static func connect(port: Int, family: Int32 = AF_INET, receiveTimeoutSeconds: Int) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.connect(errno) }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result: Int32
        if family == AF_INET6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            address.sin6_addr = in6addr_loopback
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        if result != 0 {
            let code = errno
            close(fd)
            throw Failure.connect(code)
        }
        return fd
    }

    static func write(_ text: String, to fd: Int32) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure.malformed("send failed: errno \(errno)") }
            offset += sent
        }
    }

    static func readReply(from fd: Int32, receiveTimeoutSeconds: Int) throws -> Reply {
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0 { throw Failure.malformed("recv failed: errno \(errno) after \(data.count) bytes") }
            if count == 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure.malformed(text) }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1", let status = Int(statusParts[1]) else { throw Failure.malformed(head[0]) }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw Failure.malformed(line) }
            let name = line[..<colon].lowercased()
            #expect(headers[name] == nil, "header \(name) sent twice")
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: status, headers: headers, body: String(text[split.upperBound...]))
    }
}
