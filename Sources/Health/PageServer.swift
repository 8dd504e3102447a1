import CMicroHTTPD
import CShims
import Platform

/// One GET or HEAD request to the page server, after authentication.
public struct PageRequest: Sendable {
    public var method: HealthRequest.Method
    /// The path without the query string, percent-decoded by libmicrohttpd, e.g. "/events".
    public var path: String
    /// The authenticated user, or nil when the server asks for none.
    public var user: String?
}

/// An endless body written as it comes: `read` is called on the connection's own thread and
/// may block until there is something to send; it returns the bytes it put in the buffer, or
/// nil to end the response. `finished` is called once when the connection is gone (the
/// browser closed it, or the server stops), on that same thread or libmicrohttpd's.
public final class PageStream {
    let read: (UnsafeMutableRawBufferPointer) -> Int?
    let finished: () -> Void

    public init(read: @escaping (UnsafeMutableRawBufferPointer) -> Int?, finished: @escaping () -> Void) {
        self.read = read
        self.finished = finished
    }
}

/// What the page server answers.
public enum PageAnswer {
    case fixed(status: Int, contentType: String, body: [UInt8])
    case stream(contentType: String, PageStream)
}

/// Why the page server could not be started, worded for the journal at the clinic.
public enum PageServerError: Error, Equatable, CustomStringConvertible {
    case invalidAddress(String)
    case invalidPort(Int)
    case cannotListen(address: String, port: Int, operation: String, errno: Errno)
    /// libmicrohttpd refused to start (it logs its own reason just before); with TLS, most
    /// often a certificate or key it could not use.
    case cannotStart(address: String, port: Int, tls: Bool)

    public var description: String {
        switch self {
        case .invalidAddress(let address):
            return "cannot serve the clinic view on '\(address)': not an IPv4 or IPv6 address (use a literal such as 0.0.0.0 or ::)"
        case .invalidPort(let port):
            return "cannot serve the clinic view on port \(port): a port must be 0...65535"
        case .cannotListen(let address, let port, let operation, let errno):
            var text = "cannot serve the clinic view on \(HealthError.endpoint(address, port)): \(errno.description)"
            if operation != "bind" { text += " (\(operation))" }
            if errno == .addressInUse { text += "; another program already listens there: stop it or change view.port" }
            if errno == .permissionDenied { text += "; ports below 1024 need privileges: choose a port above 1023" }
            return text
        case .cannotStart(let address, let port, let tls):
            return "cannot start the clinic view on \(HealthError.endpoint(address, port)): libmicrohttpd refused to start"
                + (tls ? " (see its message above; check view.cert_file and view.key_file: PEM, the key unencrypted, matching the certificate)"
                   : " (see its message above)")
        }
    }
}

/// An HTTP server for a live page, over libmicrohttpd: fixed bodies and endless streams
/// (Server-Sent Events), Basic authentication, optional TLS.
///
/// One thread per connection (libmicrohttpd's), so that a stream may block in its `read`
/// until there is something to send, without polling and without holding up any other
/// connection; the connection limit bounds the threads. `respond` and `authenticate` run on
/// those threads, several at once: they must be safe to call concurrently.
public final class PageServer {
    public struct Settings: Sendable {
        public var address: String
        public var port: Int
        /// PEM text of the certificate (chain) and its unencrypted key; both or neither.
        public var certificatePEM: String?
        public var keyPEM: String?
        /// Shown by the browser's password prompt.
        public var realm: String
        public var maximumConnections: Int
        /// An idle connection is closed after this long; a stream must write more often (a comment line will do).
        public var connectionTimeoutSeconds: Int

        public init(address: String, port: Int, certificatePEM: String? = nil, keyPEM: String? = nil, realm: String = "clinic view",
                    maximumConnections: Int = 16, connectionTimeoutSeconds: Int = 60) {
            self.address = address
            self.port = port
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
            self.realm = realm
            self.maximumConnections = maximumConnections
            self.connectionTimeoutSeconds = connectionTimeoutSeconds
        }
    }

    public let boundPort: Int
    public let usesTLS: Bool
    private let handler: Handler
    private let running = MicroHTTPD.Running()
    /// The PEM texts as C strings, alive as long as the daemon.
    private var pemStrings: [UnsafeMutablePointer<CChar>] = []

    /// `authenticate(user, password)`: nil serves everyone; otherwise a request without
    /// credentials, or with ones it refuses, gets 401 with `WWW-Authenticate: Basic`.
    public init(settings: Settings, authenticate: ((String, String) -> Bool)?,
                respond: @escaping (PageRequest) -> PageAnswer?) throws(PageServerError) {
        guard (0...65_535).contains(settings.port) else { throw PageServerError.invalidPort(settings.port) }
        let listening: MicroHTTPD.ListeningSocket
        do throws(MicroHTTPD.ListenFailure) {
            listening = try MicroHTTPD.openListeningSocket(address: settings.address, port: settings.port,
                                                           backlog: Int32(max(1, settings.maximumConnections)))
        } catch {
            switch error {
            case .invalidAddress: throw PageServerError.invalidAddress(settings.address)
            case .system(let operation, let errno):
                throw PageServerError.cannotListen(address: settings.address, port: settings.port, operation: operation, errno: errno)
            }
        }
        boundPort = listening.port
        handler = Handler(respond: respond, authenticate: authenticate, realm: settings.realm,
                          name: "clinic view on \(HealthError.endpoint(settings.address, listening.port))")
        var flags = MHD_USE_THREAD_PER_CONNECTION.rawValue | MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_POLL.rawValue
            | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue
        var options: [MHD_OptionItem] = []
        if let certificate = settings.certificatePEM, let key = settings.keyPEM {
            flags |= MHD_USE_TLS.rawValue
            let keyText = PageServer.cString(key)
            let certificateText = PageServer.cString(certificate)
            pemStrings = [keyText, certificateText]
            options.append(MHD_OptionItem(option: .HTTPS_MEM_KEY, value: 0, ptr_value: UnsafeMutableRawPointer(keyText)))
            options.append(MHD_OptionItem(option: .HTTPS_MEM_CERT, value: 0, ptr_value: UnsafeMutableRawPointer(certificateText)))
        }
        usesTLS = !pemStrings.isEmpty
        let started = MicroHTTPD.start(flags: flags, listening: listening, context: handler,
                                       maximumConnections: settings.maximumConnections,
                                       connectionTimeoutSeconds: settings.connectionTimeoutSeconds,
                                       threadStackBytes: 256 * 1024, extraOptions: options) {
            context, connection, url, method, _, _, uploadSize, requestState in
            guard let context, let connection else { return .NO }
            return Unmanaged<Handler>.fromOpaque(context).takeUnretainedValue()
                .handle(connection, url: url, method: method, uploadSize: uploadSize, requestState: requestState)
        }
        guard let started else {
            PageServer.release(pemStrings)
            pemStrings = []
            throw PageServerError.cannotStart(address: settings.address, port: listening.port, tls: usesTLS)
        }
        running.hold(started)
    }

    deinit {
        stop()
        PageServer.release(pemStrings)
    }

    /// Closes every connection and joins libmicrohttpd's threads. Streams must have been
    /// ended first (their `read` returning nil), or this waits for them.
    public func stop() {
        running.stop()
    }

    private static func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
        let bytes = Array(text.utf8)
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (index, byte) in bytes.enumerated() { pointer[index] = CChar(bitPattern: byte) }
        pointer[bytes.count] = 0
        return pointer
    }

    private static func release(_ strings: [UnsafeMutablePointer<CChar>]) {
        for string in strings { string.deallocate() }
    }

    // MARK: - Request handling (on the connections' threads)

    private final class Handler: MicroHTTPD.Context {
        let respond: (PageRequest) -> PageAnswer?
        let authenticate: ((String, String) -> Bool)?
        let realm: String

        init(respond: @escaping (PageRequest) -> PageAnswer?, authenticate: ((String, String) -> Bool)?, realm: String, name: String) {
            self.respond = respond
            self.authenticate = authenticate
            self.realm = realm
            super.init(name: name)
        }

        func handle(_ connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
                    uploadSize: UnsafeMutablePointer<Int>?, requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> MHD_Result {
            guard let (methodName, path) = MicroHTTPD.firstCall(url: url, method: method, uploadSize: uploadSize,
                                                                requestState: requestState) else { return .YES }
            var user: String?
            if let authenticate {
                var password: UnsafeMutablePointer<CChar>?
                let name = MHD_basic_auth_get_username_password(connection, &password)
                defer {
                    if let name { MHD_free(name) }
                    if let password {
                        // The password leaves no copy behind in freed memory.
                        var index = 0
                        while password[index] != 0 { password[index] = 0; index += 1 }
                        MHD_free(password)
                    }
                }
                if let name, let password, authenticate(String(cString: name), String(cString: password)) {
                    user = String(cString: name)
                } else {
                    return refuse(connection)
                }
            }
            guard let known = HealthRequest.Method(rawValue: methodName) else {
                return MicroHTTPD.queue(status: 405, contentType: HealthResponse.plainText,
                                        body: Array("method \(methodName) is not allowed: the view is read-only (GET or HEAD)\n".utf8),
                                        extraHeaders: [("Allow", "GET, HEAD")], on: connection)
            }
            switch respond(PageRequest(method: known, path: path, user: user)) {
            case nil:
                let notFound = HealthResponse.notFound(path: path)
                return MicroHTTPD.queue(status: 404, contentType: notFound.contentType, body: Array(notFound.body.utf8), on: connection)
            case .fixed(let status, let contentType, let body)?:
                return MicroHTTPD.queue(status: status, contentType: contentType, body: body, on: connection)
            case .stream(let contentType, let stream)?:
                return queueStream(stream, contentType: contentType, on: connection)
            }
        }

        private func refuse(_ connection: OpaquePointer) -> MHD_Result {
            var body = Array("authentication required: a user of the view's users file\n".utf8)
            let created = body.withUnsafeMutableBytes { MHD_create_response_from_buffer($0.count, $0.baseAddress, .RESPMEM_MUST_COPY) }
            guard let created else { return .NO }
            defer { MHD_destroy_response(created) }
            MicroHTTPD.addCommonHeaders(created, contentType: HealthResponse.plainText)
            return MHD_queue_basic_auth_fail_response(connection, realm, created)
        }

        private func queueStream(_ stream: PageStream, contentType: String, on connection: OpaquePointer) -> MHD_Result {
            let context = Unmanaged.passRetained(stream).toOpaque()
            let created = MHD_create_response_from_callback(UInt64.max, 16 * 1024, { context, _, buffer, maximum in
                guard let context, let buffer else { return -2 }
                let stream = Unmanaged<PageStream>.fromOpaque(context).takeUnretainedValue()
                guard let written = stream.read(UnsafeMutableRawBufferPointer(start: buffer, count: maximum)) else { return -1 }
                return written
            }, context, { context in
                guard let context else { return }
                let stream = Unmanaged<PageStream>.fromOpaque(context).takeRetainedValue()
                stream.finished()
            })
            guard let created else {
                let stream = Unmanaged<PageStream>.fromOpaque(context).takeRetainedValue()
                stream.finished()
                return .NO
            }
            defer { MHD_destroy_response(created) }
            MicroHTTPD.addCommonHeaders(created, contentType: contentType)
            return MHD_queue_response(connection, 200, created)
        }
    }
}
