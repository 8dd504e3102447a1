import CMicroHTTPD
import CShims
import Platform
import Synchronization

/// One GET or HEAD request that reached the respond closure.
public struct HealthRequest: Equatable, Sendable {
    public enum Method: String, Sendable { case get = "GET", head = "HEAD" }
    public var method: Method
    /// The path without the query string, percent-decoded by libmicrohttpd, e.g. "/readyz".
    public var path: String

    public init(method: Method, path: String) {
        self.method = method
        self.path = path
    }
}

/// What the respond closure sends back. Every response also carries
/// `Cache-Control: no-store` so no proxy serves an old health state.
public struct HealthResponse: Equatable, Sendable {
    public static let plainText = "text/plain; charset=utf-8"

    /// An HTTP status code (100...599); anything else makes libmicrohttpd drop the connection.
    public var status: Int
    public var contentType: String
    public var body: String

    public init(status: Int, contentType: String = HealthResponse.plainText, body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// 404 for a path the agent does not serve. Control characters in the echoed path are
    /// replaced so the body stays one line.
    public static func notFound(path: String) -> HealthResponse {
        var shown: [UInt8] = []
        for byte in path.utf8.prefix(200) { shown.append(byte < 0x20 || byte == 0x7F ? UInt8(ascii: "?") : byte) }
        return HealthResponse(status: 404, body: "not found: \(String(decoding: shown, as: UTF8.self))\n")
    }
}

/// The HTTP server for remote health checks, over libmicrohttpd.
///
/// libmicrohttpd runs its own polling thread (one, started here, with a small stack); the
/// `respond` closure is called on that thread, one request at a time. It must therefore only
/// read state that is safe to read from another thread (atomics, or copies published under a
/// lock), must block only briefly and with a bound (other requests wait meanwhile), and must
/// never call `stop()` (that would join the thread it runs on).
///
/// Only GET and HEAD reach `respond`: other methods get 405 with `Allow: GET, HEAD`. A nil
/// answer from `respond` becomes 404. HEAD responses carry the GET headers without a body.
public final class HealthServer {
    public struct Limits: Sendable {
        /// Connections served at once; more are accepted and closed at once by libmicrohttpd.
        public var maximumConnections: Int
        /// An idle or slow connection is closed after this long.
        public var connectionTimeoutSeconds: Int
        /// Stack of libmicrohttpd's thread; the respond closure runs on it.
        public var threadStackBytes: Int

        public init(maximumConnections: Int = 16, connectionTimeoutSeconds: Int = 5, threadStackBytes: Int = 256 * 1024) {
            self.maximumConnections = maximumConnections
            self.connectionTimeoutSeconds = connectionTimeoutSeconds
            self.threadStackBytes = threadStackBytes
        }
    }

    public let address: String
    /// The port actually listened on: the requested one, or the one the kernel chose for port 0.
    public let boundPort: Int
    private let handler: Handler
    private let running = MicroHTTPD.Running()

    /// Starts listening on `address` (an IPv4 or IPv6 literal, no host names) and `port`
    /// (0 lets the kernel choose; read `boundPort`).
    public init(address: String, port: Int, limits: Limits = Limits(),
                respond: @escaping (HealthRequest) -> HealthResponse?) throws(HealthError) {
        guard (0...65_535).contains(port) else { throw HealthError.invalidPort(port) }
        self.address = address
        let listening: MicroHTTPD.ListeningSocket
        do throws(MicroHTTPD.ListenFailure) {
            listening = try MicroHTTPD.openListeningSocket(address: address, port: port,
                                                           backlog: Int32(max(1, limits.maximumConnections)))
        } catch {
            switch error {
            case .invalidAddress: throw HealthError.invalidAddress(address)
            case .system(let operation, let errno):
                throw HealthError.cannotListen(address: address, port: port, operation: operation, errno: errno)
            }
        }
        boundPort = listening.port
        handler = Handler(respond: respond, name: "health server on \(HealthError.endpoint(address, listening.port))")
        // poll(2) suits a handful of connections; ITC lets MHD_stop_daemon wake the thread at once.
        let flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_POLL.rawValue
            | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue
        let started = MicroHTTPD.start(flags: flags, listening: listening, context: handler,
                                       maximumConnections: limits.maximumConnections,
                                       connectionTimeoutSeconds: limits.connectionTimeoutSeconds,
                                       threadStackBytes: limits.threadStackBytes) {
            context, connection, url, method, _, _, uploadSize, requestState in
            guard let context, let connection else { return .NO }
            return Unmanaged<Handler>.fromOpaque(context).takeUnretainedValue()
                .handle(connection, url: url, method: method, uploadSize: uploadSize, requestState: requestState)
        }
        guard let started else { throw HealthError.cannotStart(address: address, port: listening.port) }
        running.hold(started)
    }

    deinit { stop() }

    /// Closes the listening socket and every connection and joins libmicrohttpd's thread.
    /// Safe to call more than once; afterwards connections to the port are refused.
    public func stop() {
        running.stop()
    }

    // MARK: - Request handling (on libmicrohttpd's thread)

    private final class Handler: MicroHTTPD.Context {
        let respond: (HealthRequest) -> HealthResponse?

        init(respond: @escaping (HealthRequest) -> HealthResponse?, name: String) {
            self.respond = respond
            super.init(name: name)
        }

        func handle(_ connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
                    uploadSize: UnsafeMutablePointer<Int>?, requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> MHD_Result {
            guard let (methodName, path) = MicroHTTPD.firstCall(url: url, method: method, uploadSize: uploadSize,
                                                                requestState: requestState) else { return .YES }
            let response: HealthResponse
            var allow = false
            if let known = HealthRequest.Method(rawValue: methodName) {
                response = respond(HealthRequest(method: known, path: path)) ?? HealthResponse.notFound(path: path)
            } else {
                response = HealthResponse(status: 405, body: "method \(methodName) is not allowed: use GET or HEAD\n")
                allow = true
            }
            return MicroHTTPD.queue(status: response.status, contentType: response.contentType, body: Array(response.body.utf8),
                                    extraHeaders: allow ? [("Allow", "GET, HEAD")] : [], on: connection)
        }
    }
}
