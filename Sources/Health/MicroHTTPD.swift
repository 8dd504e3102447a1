import CMicroHTTPD
import CShims
import Platform
import Synchronization

/// What the health server and the page server share in driving libmicrohttpd: a listening
/// socket of our own, the daemon started with an options array, its log sent to ours, the
/// pointer kept for a stop from any thread, and fixed responses with the headers every answer
/// carries.
enum MicroHTTPD {
    /// Why a listening socket could not be had; each server words it for its own purpose.
    enum ListenFailure: Error {
        case invalidAddress
        case system(operation: String, errno: Errno)
    }

    struct ListeningSocket {
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

    /// The socket is ours, not libmicrohttpd's (MHD_OPTION_LISTEN_SOCKET rather than
    /// MHD_OPTION_SOCK_ADDR): bind's errno reaches the error message, and getsockname gives
    /// the bound port, since MHD_get_daemon_info is variadic and Swift cannot call it.
    static func openListeningSocket(address: String, port: Int, backlog: Int32) throws(ListenFailure) -> ListeningSocket {
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
            throw .invalidAddress
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw .system(operation: "socket", errno: .current) }
        func failure(_ operation: String) -> ListenFailure {
            let failure = ListenFailure.system(operation: operation, errno: .current)
            releaseDescriptor(fd)
            return failure
        }
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
        if bound != 0 { throw failure("bind") }
        if listen(fd, backlog) != 0 { throw failure("listen") }
        var boundAddress = sockaddr_in6() // large enough for either family; the port is at the same offset
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let named = withUnsafeMutablePointer(to: &boundAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        var info = stat()
        if named != 0 || fstat(fd, &info) != 0 { throw failure("getsockname") }
        return ListeningSocket(fd: fd, port: Int(UInt16(bigEndian: boundAddress.sin6_port)),
                               device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// What the C callbacks reach through their context pointer: at least somewhere to log.
    /// Each server's handler is a subclass; the server keeps it alive and stops the daemon
    /// (joining its threads) before releasing it.
    class Context {
        /// "health server on 127.0.0.1:9180", as log lines name it.
        let name: String

        init(name: String) { self.name = name }

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
            Platform.log(.warning, "\(name): libmicrohttpd: \(String(decoding: bytes, as: UTF8.self))")
        }
    }

    /// Starts a daemon on `listening` with `flags` and `extraOptions` besides the logger, the
    /// socket, the connection limit, timeout and thread stack. nil when libmicrohttpd refused
    /// (it logged why); the socket is closed then.
    static func start(flags: UInt32, listening: ListeningSocket, context: Context, maximumConnections: Int,
                      connectionTimeoutSeconds: Int, threadStackBytes: Int, extraOptions: [MHD_OptionItem] = [],
                      handler: MHD_AccessHandlerCallback) -> OpaquePointer? {
        let contextPointer = Unmanaged.passUnretained(context).toOpaque()
        // The va_list parameter is declared as a raw pointer: with MHD_LogCallback's own type
        // the Swift 6.3 compiler crashes for aarch64-none-none-elf. See `vaList(passedAs:)`.
        let logger: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
            context, format, arguments in
            guard let context, let format, let arguments else { return }
            Unmanaged<Context>.fromOpaque(context).takeUnretainedValue().log(format: format, arguments: vaList(passedAs: arguments))
        }
        var options: [MHD_OptionItem] = [
            // First, so that everything libmicrohttpd says goes to our log, not to its stderr default.
            MHD_OptionItem(option: .EXTERNAL_LOGGER, value: unsafeBitCast(logger, to: Int.self), ptr_value: contextPointer),
            MHD_OptionItem(option: .LISTEN_SOCKET, value: Int(listening.fd), ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_LIMIT, value: max(1, maximumConnections), ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_TIMEOUT, value: max(1, connectionTimeoutSeconds), ptr_value: nil),
            MHD_OptionItem(option: .THREAD_STACK_SIZE, value: max(64 * 1024, threadStackBytes), ptr_value: nil),
        ]
        options += extraOptions
        options.append(MHD_OptionItem(option: .END, value: 0, ptr_value: nil))
        let started: OpaquePointer? = options.withUnsafeMutableBufferPointer { optionArray in
            // MHD_start_daemon is variadic (not callable from Swift); its va_list twin gets
            // the equivalent of `MHD_OPTION_ARRAY, options, MHD_OPTION_END`.
            let words = [Int(MHD_OPTION.ARRAY.rawValue), Int(bitPattern: optionArray.baseAddress),
                         Int(MHD_OPTION.END.rawValue)]
            return withWordVaList(words) { arguments in
                MHD_start_daemon_va(flags, 0, nil, nil, handler, contextPointer, arguments)
            }
        }
        if started == nil { listening.closeIfStillOpen() }
        return started
    }

    /// A daemon pointer that any thread may stop once.
    final class Running {
        /// The MHD_Daemon pointer as a bit pattern; 0 once stopped.
        private let daemon = Atomic<Int>(0)

        func hold(_ started: OpaquePointer) {
            daemon.store(Int(bitPattern: UnsafeMutableRawPointer(started)), ordering: .releasing)
        }

        /// Closes the listening socket and every connection and joins libmicrohttpd's threads.
        func stop() {
            let pointer = daemon.exchange(0, ordering: .acquiringAndReleasing)
            guard let raw = UnsafeMutableRawPointer(bitPattern: pointer) else { return }
            MHD_stop_daemon(OpaquePointer(raw))
        }
    }

    /// The method and path of a request on its first call to the access handler; nil on the
    /// calls that follow. A request with a body calls back again for each chunk once a
    /// response is queued: the chunks are discarded, the answer is already on its way.
    static func firstCall(url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?, uploadSize: UnsafeMutablePointer<Int>?,
                          requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> (method: String, path: String)? {
        if let requestState, requestState.pointee != nil {
            uploadSize?.pointee = 0
            return nil
        }
        requestState?.pointee = UnsafeMutableRawPointer(bitPattern: 1)
        return (method.map { String(cString: $0) } ?? "", url.map { String(cString: $0) } ?? "/")
    }

    /// A fixed body with the headers every answer carries: no caching (a proxy must not serve
    /// an old state) and no content sniffing.
    static func queue(status: Int, contentType: String, body: [UInt8], extraHeaders: [(String, String)] = [],
                      on connection: OpaquePointer) -> MHD_Result {
        var body = body
        let created = body.withUnsafeMutableBytes { bytes in
            MHD_create_response_from_buffer(bytes.count, bytes.baseAddress, .RESPMEM_MUST_COPY)
        }
        guard let created else { return .NO }
        defer { MHD_destroy_response(created) }
        addCommonHeaders(created, contentType: contentType)
        for (name, value) in extraHeaders { _ = MHD_add_response_header(created, name, value) }
        return MHD_queue_response(connection, UInt32(clamping: status), created)
    }

    static func addCommonHeaders(_ response: OpaquePointer, contentType: String) {
        _ = MHD_add_response_header(response, "Content-Type", contentType)
        _ = MHD_add_response_header(response, "Cache-Control", "no-store")
        _ = MHD_add_response_header(response, "X-Content-Type-Options", "nosniff")
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
