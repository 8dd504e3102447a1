import CModbus
import Platform

/// Why a Modbus exchange failed, sorted into the kinds an operator acts on differently.
public enum ModbusFailureKind: Equatable, Sendable {
    /// The device answered with a Modbus exception (function code + 0x80); the code says why.
    case exception(code: Int)
    /// No reply within the response timeout.
    case timeout
    /// A reply came but was not a valid answer (CRC, length, wrong unit, wrong data).
    case malformedReply
    /// The connection could not be made or was lost.
    case connection
    /// Anything else libmodbus or the kernel reported.
    case other
}

public struct ModbusError: Error, CustomStringConvertible {
    public var operation: String
    public var device: String
    /// libmodbus's code: an errno, or one of its own above MODBUS_ENOBASE (modbus_strerror
    /// words both, so this stays one number rather than an Errno).
    public var code: Int32
    /// Set when a serial port could not be put into RS-485 mode with RTS (a pty, an adapter
    /// without kernel RS-485 support). The line was left open in RS-232 mode: the caller
    /// decides whether to go on without RS-485 or to `disconnect()`.
    public var isRS485Unavailable: Bool

    public init(_ operation: String, device: String, code: Int32 = Errno.current.rawValue, isRS485Unavailable: Bool = false) {
        self.operation = operation
        self.device = device
        self.code = code
        self.isRS485Unavailable = isRS485Unavailable
    }

    public var kind: ModbusFailureKind {
        let base = Int32(MODBUS_ENOBASE)
        let offset = Int(code - base)
        if code > base && offset >= 1 && offset <= 11 { return .exception(code: offset) }
        // EMBBADCRC ... EMBBADSLAVE follow the exceptions: CRC, data, exception code,
        // unknown exception, too much data, unexpected unit id.
        if code > base && offset >= 12 && offset <= 17 { return .malformedReply }
        switch Errno(code) {
        case .timedOut: return .timeout
        case .connectionRefused, .connectionReset, .brokenPipe, .socketNotConnected, .noRouteToHost, .networkUnreachable,
             .badFileDescriptor:
            return .connection
        default: return .other
        }
    }

    public var description: String {
        let reason = String(cString: modbus_strerror(code))
        if isRS485Unavailable {
            return "\(operation) on \(device) failed: \(reason); the port cannot do RS-485 with RTS "
                + "(not an RS-485 UART or adapter?), the line stays open in RS-232 mode"
        }
        switch kind {
        case let .exception(exceptionCode):
            return "\(operation) on \(device): device answered with Modbus exception \(exceptionCode) (\(reason))"
        default:
            return "\(operation) on \(device) failed: \(reason)"
        }
    }
}
