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
    /// The MHD_Daemon pointer as a bit pattern; 0 once stopped.
    private let daemon = Atomic<Int>(0)

    /// Starts listening on `address` (an IPv4 or IPv6 literal, no host names) and `port`
    /// (0 lets the kernel choose; read `boundPort`).
    public init(address: String, port: Int, limits: Limits = Limits(),
                respond: @escaping (HealthRequest) -> HealthResponse?) throws(HealthError) {
        guard (0...65_535).contains(port) else { throw HealthError.invalidPort(port) }
        self.address = address
        // The socket is ours, not libmicrohttpd's (MHD_OPTION_LISTEN_SOCKET rather than
        // MHD_OPTION_SOCK_ADDR): bind's errno reaches the error message, and getsockname gives
        // the bound port, since MHD_get_daemon_info is variadic and Swift cannot call it.
        let listening = try HealthServer.openListeningSocket(address: address, port: port,
                                                             backlog: Int32(max(1, limits.maximumConnections)))
        boundPort = listening.port
        handler = Handler(respond: respond, endpoint: HealthError.endpoint(address, listening.port))

        let context = Unmanaged.passUnretained(handler).toOpaque()
        // The va_list parameter is declared as a raw pointer: with MHD_LogCallback's own type
        // the Swift 6.3 compiler crashes for aarch64-none-none-elf. See `vaList(passedAs:)`.
        let logger: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
            context, format, arguments in
            guard let context, let format, let arguments else { return }
            Unmanaged<Handler>.fromOpaque(context).takeUnretainedValue().log(format: format, arguments: vaList(passedAs: arguments))
        }
        var options: [MHD_OptionItem] = [
            // First, so that everything libmicrohttpd says goes to our log, not to its stderr default.
            MHD_OptionItem(option: .EXTERNAL_LOGGER, value: unsafeBitCast(logger, to: Int.self), ptr_value: context),
            MHD_OptionItem(option: .LISTEN_SOCKET, value: Int(listening.fd), ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_LIMIT, value: max(1, limits.maximumConnections), ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_TIMEOUT, value: max(1, limits.connectionTimeoutSeconds), ptr_value: nil),
            MHD_OptionItem(option: .THREAD_STACK_SIZE, value: max(64 * 1024, limits.threadStackBytes), ptr_value: nil),
            MHD_OptionItem(option: .END, value: 0, ptr_value: nil),
        ]
        // poll(2) suits a handful of connections; ITC lets MHD_stop_daemon wake the thread at once.
        let flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_POLL.rawValue
            | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue
        let started: OpaquePointer? = options.withUnsafeMutableBufferPointer { optionArray in
            // MHD_start_daemon is variadic (not callable from Swift); its va_list twin gets
            // the equivalent of `MHD_OPTION_ARRAY, options, MHD_OPTION_END`.
            let words = [Int(MHD_OPTION.ARRAY.rawValue), Int(bitPattern: optionArray.baseAddress),
                         Int(MHD_OPTION.END.rawValue)]
            return withWordVaList(words) { arguments in
                MHD_start_daemon_va(flags, 0, nil, nil, { context, connection, url, method, _, _, uploadSize, requestState in
                    guard let context, let connection else { return .NO }
                    return Unmanaged<Handler>.fromOpaque(context).takeUnretainedValue()
                        .handle(connection, url: url, method: method, uploadSize: uploadSize, requestState: requestState)
                }, context, arguments)
            }
        }
        guard let started else {
            listening.closeIfStillOpen()
            throw HealthError.cannotStart(address: address, port: listening.port)
        }
        daemon.store(Int(bitPattern: UnsafeMutableRawPointer(started)), ordering: .releasing)
    }

    deinit { stop() }

    /// Closes the listening socket and every connection and joins libmicrohttpd's thread.
    /// Safe to call more than once; afterwards connections to the port are refused.
    public func stop() {
        let pointer = daemon.exchange(0, ordering: .acquiringAndReleasing)
        guard let raw = UnsafeMutableRawPointer(bitPattern: pointer) else { return }
        MHD_stop_daemon(OpaquePointer(raw))
    }

    // MARK: - Request handling (on libmicrohttpd's thread)

    /// What the C callbacks reach through their context pointer. HealthServer keeps it
    /// alive, and stops the daemon (joining its thread) before releasing it.
    private final class Handler {
        let respond: (HealthRequest) -> HealthResponse?
        let endpoint: String

        init(respond: @escaping (HealthRequest) -> HealthResponse?, endpoint: String) {
            self.respond = respond
            self.endpoint = endpoint
        }

        func handle(_ connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
                    uploadSize: UnsafeMutablePointer<Int>?, requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> MHD_Result {
            // A request with a body calls back again for each chunk once a response is queued:
            // discard the chunks, the answer is already on its way.
            if let requestState, requestState.pointee != nil {
                uploadSize?.pointee = 0
                return .YES
            }
            requestState?.pointee = UnsafeMutableRawPointer(bitPattern: 1)
            let methodName = method.map { String(cString: $0) } ?? ""
            let path = url.map { String(cString: $0) } ?? "/"
            let response: HealthResponse
            var allow = false
            if let known = HealthRequest.Method(rawValue: methodName) {
                response = respond(HealthRequest(method: known, path: path)) ?? HealthResponse.notFound(path: path)
            } else {
                response = HealthResponse(status: 405, body: "method \(methodName) is not allowed: use GET or HEAD\n")
                allow = true
            }
            return HealthServer.queue(response, allowHeader: allow, on: connection)
        }

        func log(format: UnsafePointer<CChar>, arguments: CVaListPointer) {
            var buffer = [CChar](repeating: 0, count: 512)
            let written = buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, arguments) }
            if written < 0 { return }
            var bytes: [UInt8] = []
            for character in buffer {
                if character == 0 { break }
                bytes.append(UInt8(bitPattern: character))
            }
            while let last = bytes.last, last == 10 || last == 13 || last == 32 { bytes.removeLast() }
            Platform.log(.warning, "health server on \(endpoint): libmicrohttpd: \(String(decoding: bytes, as: UTF8.self))")
        }
    }

    private static func queue(_ response: HealthResponse, allowHeader: Bool, on connection: OpaquePointer) -> MHD_Result {
        var body = Array(response.body.utf8)
        let created = body.withUnsafeMutableBytes { bytes in
            MHD_create_response_from_buffer(bytes.count, bytes.baseAddress, .RESPMEM_MUST_COPY)
        }
        guard let created else { return .NO }
        defer { MHD_destroy_response(created) }
        _ = MHD_add_response_header(created, "Content-Type", response.contentType)
        _ = MHD_add_response_header(created, "Cache-Control", "no-store")
        _ = MHD_add_response_header(created, "X-Content-Type-Options", "nosniff")
        if allowHeader { _ = MHD_add_response_header(created, "Allow", "GET, HEAD") }
        return MHD_queue_response(connection, UInt32(clamping: response.status), created)
    }

    // MARK: - Listening socket

    private struct ListeningSocket {
        var fd: Int32
        var port: Int
        var device: UInt64
        var inode: UInt64

        /// libmicrohttpd may or may not have closed the socket when it failed to start; close
        /// it only if the descriptor still refers to this very socket.
        func closeIfStillOpen() {
            var info = stat()
            if fstat(fd, &info) == 0 && UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode { releaseDescriptor(fd) }
        }
    }

    private static func openListeningSocket(address: String, port: Int, backlog: Int32) throws(HealthError) -> ListeningSocket {
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, address, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = UInt16(port).bigEndian
        } else if inet_pton(AF_INET6, address, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = UInt16(port).bigEndian
        } else {
            throw HealthError.invalidAddress(address)
        }
        func failure(_ operation: String) -> HealthError {
            HealthError.cannotListen(address: address, port: port, operation: operation, errno: .current)
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw failure("socket") }
        // Lets a restarted agent listen again while old connections sit in TIME_WAIT; on
        // Linux it does not let two programs listen on the same port. Without it a restart
        // may find the port taken for a minute, which bind then reports: not worth failing here.
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32
        if family == AF_INET {
            bound = withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            bound = withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        if bound != 0 {
            let error = failure("bind")
            releaseDescriptor(fd)
            throw error
        }
        if listen(fd, backlog) != 0 {
            let error = failure("listen")
            releaseDescriptor(fd)
            throw error
        }
        var boundAddress = sockaddr_in6() // large enough for either family; the port is at the same offset
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let named = withUnsafeMutablePointer(to: &boundAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        var info = stat()
        if named != 0 || fstat(fd, &info) != 0 {
            let error = failure("getsockname")
            releaseDescriptor(fd)
            throw error
        }
        return ListeningSocket(fd: fd, port: Int(UInt16(bigEndian: boundAddress.sin6_port)),
                               device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}

/// A `va_list` parameter of a C callback, received as the raw pointer the C ABI passes.
/// x86_64: va_list is an array, so the callee gets a pointer to its one element. AAPCS64:
/// va_list is a 32-byte struct, passed as a pointer to a copy, with the same layout as
/// Swift's CVaListPointer there.
private func vaList(passedAs pointer: UnsafeMutableRawPointer) -> CVaListPointer {
#if arch(x86_64)
    return CVaListPointer(_fromUnsafeMutablePointer: pointer)
#elseif arch(arm64)
    return pointer.load(as: CVaListPointer.self)
#else
#error("vaList(passedAs:): how does this architecture's C ABI pass a va_list?")
#endif
}

#if arch(x86_64)
/// The System V AMD64 va_list element (`__va_list_tag`).
private struct VaListTag {
    var gpOffset: UInt32
    var fpOffset: UInt32
    var overflowArgArea: UnsafeMutableRawPointer?
    var regSaveArea: UnsafeMutableRawPointer?
}
#endif

/// Calls `body` with a C `va_list` whose arguments are `words`, one 8-byte slot each (ints,
/// enums and pointers). Embedded Swift has no `withVaList`, so the list is laid out by hand
/// for the two ABIs the agent ships on; the host build uses the same code so tests cover it.
private func withWordVaList<Result>(_ words: [Int], _ body: (CVaListPointer) -> Result) -> Result {
    var slots = words
#if arch(x86_64)
    // gp_offset 48 and fp_offset 176 say the register save area is used up, so va_arg takes
    // every argument from overflow_arg_area, 8 bytes each.
    return slots.withUnsafeMutableBytes { slotBytes in
        var tag = VaListTag(gpOffset: 48, fpOffset: 176, overflowArgArea: slotBytes.baseAddress, regSaveArea: nil)
        return withUnsafeMutablePointer(to: &tag) { body(CVaListPointer(_fromUnsafeMutablePointer: UnsafeMutableRawPointer($0))) }
    }
#elseif arch(arm64)
    // AAPCS64 (Linux): non-negative __gr_offs/__vr_offs say the registers are used up, so
    // va_arg takes every argument from __stack, 8 bytes each.
    return slots.withUnsafeMutableBufferPointer { slotBuffer in
        body(CVaListPointer(__stack: slotBuffer.baseAddress, __gr_top: nil, __vr_top: nil, __gr_off: 0, __vr_off: 0))
    }
#else
#error("withWordVaList: lay out a va_list for this architecture's C ABI")
#endif
}
