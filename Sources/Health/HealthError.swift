import Platform

/// Why the health endpoint could not be started. Each description names the address and
/// port and says what to change, for the person reading the journal at the clinic.
public enum HealthError: Error, Equatable, CustomStringConvertible {
    /// The configured address is not an IPv4 or IPv6 literal (host names are not resolved).
    case invalidAddress(String)
    case invalidPort(Int)
    /// A system call on the listening socket failed (socket, bind, listen, getsockname).
    case cannotListen(address: String, port: Int, operation: String, errno: Errno)
    /// libmicrohttpd refused to start (it logs its own reason just before).
    case cannotStart(address: String, port: Int)

    public var description: String {
        switch self {
        case .invalidAddress(let address):
            return "cannot listen for health checks on '\(address)': not an IPv4 or IPv6 address "
                + "(use a literal such as 127.0.0.1, 0.0.0.0, ::1 or ::; host names are not resolved)"
        case .invalidPort(let port):
            return "cannot listen for health checks on port \(port): a port must be 0...65535 (0 picks a free one)"
        case .cannotListen(let address, let port, let operation, let errno):
            let place = HealthError.endpoint(address, port)
            var text = "cannot listen for health checks on \(place): \(errno.description)"
            if operation != "bind" { text += " (\(operation))" }
            switch errno {
            case .addressInUse: text += "; another program, or a second copy of the agent, already listens there: stop it or choose another port"
            case .addressNotAvailable: text += "; this box has no such address: use 127.0.0.1, 0.0.0.0 or one of its own addresses"
            case .permissionDenied: text += "; ports below 1024 need privileges: choose a port above 1023"
            default: break
            }
            return text
        case .cannotStart(let address, let port):
            return "cannot start the health check server on \(HealthError.endpoint(address, port)): "
                + "libmicrohttpd refused to start (see its message above)"
        }
    }

    /// "127.0.0.1:9180" or "[::1]:9180", as a URL would write it.
    static func endpoint(_ address: String, _ port: Int) -> String {
        var isIPv6 = false
        for character in address.utf8 where character == UInt8(ascii: ":") { isIPv6 = true }
        return isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
