import CShims
import Platform

/// A failed watchdog operation: what was attempted, on which device, the errno, and advice.
/// `description` says what failed and `advice` what to do about it, apart, so that a caller
/// that adds its own consequence ("running without the hardware watchdog") writes each once.
public struct WatchdogError: Error, Equatable, CustomStringConvertible {
    public var operation: String
    public var device: String
    public var errno: Int32

    public init(_ operation: String, device: String, errno: Int32) {
        self.operation = operation
        self.device = device
        self.errno = errno
    }

    public var advice: String {
        switch errno {
        case EACCES, EPERM: return "the service needs access to \(device) (udev rule or group)"
        case ENOENT, ENODEV, ENXIO:
            return "no watchdog at \(device): load the board's driver (e.g. i6300esb, softdog) or configure the right device"
        case EBUSY:
            return "\(device) is already open elsewhere (systemd RuntimeWatchdogSec= or a watchdog daemon); only one opener is allowed"
        case EINVAL: return "the driver rejected the request; check the board's timeout range"
        default: return "check the watchdog driver and \(device)"
        }
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return "watchdog \(operation) \(device) failed: \(reason) (errno \(errno))"
    }
}

/// The Linux watchdog device (`/dev/watchdog`, or a FIFO/regular-file stand-in in tests).
/// Opening it arms the timer. Only `closeCleanly()` writes the magic 'V' that disarms it;
/// if the process dies or the object is dropped without it, the box resets.
/// Not thread-safe: one owner (the supervisor thread) at a time.
public final class HardwareWatchdog {
    public let path: String
    /// The timeout the driver reports after our request; nil when the device takes no
    /// ioctls (a stand-in) or does not report one.
    public private(set) var timeoutSeconds: Int?
    /// False once WDIOC_KEEPALIVE answered ENOTTY (ENOSYS under qemu-user, which does not
    /// translate watchdog ioctls): keepalive falls back to write().
    public private(set) var usesKeepaliveIoctl = true
    private var fd: Int32

    /// Opens the device and asks for `timeoutSeconds` (nil keeps the driver's current one).
    /// A driver that rejects the value (EINVAL) keeps its own; read `timeoutSeconds` back.
    public init(path: String = "/dev/watchdog", timeoutSeconds requested: Int?) throws(WatchdogError) {
        self.path = path
        // O_NONBLOCK: the watchdog driver ignores it, and a FIFO stand-in nobody reads fails
        // with ENXIO instead of hanging the agent's start.
        let opened = bedside_open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK, 0)
        if opened < 0 { throw WatchdogError("open", device: path, errno: bedside_errno()) }
        fd = opened
        if let requested {
            var seconds = Int32(clamping: requested)
            let result = bedside_watchdog_set_timeout(fd, &seconds)
            switch result {
            case 0: timeoutSeconds = Int(seconds)
            case ENOTTY, ENOSYS, EOPNOTSUPP, EINVAL: break // stand-in, or fixed/out-of-range timeout: read back below
            default:
                // Nothing was supervised yet: disarm with the magic character rather than
                // leave a timer running that no one kicks.
                magicClose()
                throw WatchdogError("WDIOC_SETTIMEOUT \(requested) s on", device: path, errno: result)
            }
        }
        var current: Int32 = 0
        if bedside_watchdog_get_timeout(fd, &current) == 0, current > 0 { timeoutSeconds = Int(current) }
    }

    deinit {
        // Not a clean shutdown: close without the magic character, so the timer keeps running.
        if fd >= 0 { close(fd) }
    }

    public var isOpen: Bool { fd >= 0 }

    /// One keepalive: WDIOC_KEEPALIVE, or one written byte where the ioctl is not supported
    /// (the kernel's watchdog accepts writes as keepalive too; the byte is never 'V').
    public func keepalive() throws(WatchdogError) {
        guard fd >= 0 else { throw WatchdogError("keepalive", device: path, errno: EBADF) }
        if usesKeepaliveIoctl {
            let result = bedside_watchdog_keepalive(fd)
            if result == 0 { return }
            if result != ENOTTY && result != ENOSYS && result != EINVAL && result != EOPNOTSUPP {
                throw WatchdogError("WDIOC_KEEPALIVE", device: path, errno: result)
            }
            usesKeepaliveIoctl = false
        }
        try writeByte(UInt8(ascii: "k"), operation: "keepalive write")
    }

    /// Clean shutdown only: writes the magic 'V' and closes, which disarms the timer on drivers
    /// without nowayout. Safe to call twice.
    public func closeCleanly() throws(WatchdogError) {
        guard fd >= 0 else { return }
        var failure: WatchdogError?
        do throws(WatchdogError) {
            try writeByte(UInt8(ascii: "V"), operation: "magic close")
        } catch {
            failure = error
        }
        close(fd)
        fd = -1
        if let failure { throw failure }
    }

    private func magicClose() {
        var byte = UInt8(ascii: "V")
        _ = write(fd, &byte, 1)
        close(fd)
        fd = -1
    }

    private func writeByte(_ value: UInt8, operation: String) throws(WatchdogError) {
        var byte = value
        while true {
            let written = write(fd, &byte, 1)
            if written == 1 { return }
            let error = bedside_errno()
            if written < 0 && error == EINTR { continue }
            throw WatchdogError(operation, device: path, errno: written < 0 ? error : EIO)
        }
    }
}
