import CShims
import Platform

/// A failed watchdog operation: what was attempted, on which device, the errno, and advice.
/// `description` says what failed and `advice` what to do about it, apart, so that a caller
/// that adds its own consequence ("running without the hardware watchdog") writes each once.
public struct WatchdogError: Error, Equatable, CustomStringConvertible {
    public var operation: String
    public var device: String
    public var errno: Errno

    public init(_ operation: String, device: String, errno: Errno) {
        self.operation = operation
        self.device = device
        self.errno = errno
    }

    public var advice: String {
        switch errno {
        case .permissionDenied, .notPermitted: return "the service needs access to \(device) (udev rule or group)"
        case .noSuchFileOrDirectory, .noSuchDevice, .noSuchAddressOrDevice:
            return "no watchdog at \(device): load the board's driver (e.g. i6300esb, softdog) or configure the right device"
        case .resourceBusy:
            return "\(device) is already open elsewhere (systemd RuntimeWatchdogSec= or a watchdog daemon); only one opener is allowed"
        case .invalidArgument: return "the driver rejected the request; check the board's timeout range"
        default: return "check the watchdog driver and \(device)"
        }
    }

    public var description: String {
        return "watchdog \(operation) \(device) failed: \(errno.descriptionWithNumber)"
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
        if opened < 0 { throw WatchdogError("open", device: path, errno: .current) }
        fd = opened
        if let requested {
            var seconds = Int32(clamping: requested)
            let result = Errno(bedside_watchdog_set_timeout(fd, &seconds))
            switch result {
            case Errno(0): timeoutSeconds = Int(seconds)
            case .inappropriateIOCTLForDevice, .noFunction, .notSupported, .invalidArgument:
                break // stand-in, or fixed/out-of-range timeout: read back below
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
        if fd >= 0 { _ = close(fd) }
    }

    public var isOpen: Bool { fd >= 0 }

    /// One keepalive: WDIOC_KEEPALIVE, or one written byte where the ioctl is not supported
    /// (the kernel's watchdog accepts writes as keepalive too; the byte is never 'V').
    public func keepalive() throws(WatchdogError) {
        guard fd >= 0 else { throw WatchdogError("keepalive", device: path, errno: .badFileDescriptor) }
        if usesKeepaliveIoctl {
            switch Errno(bedside_watchdog_keepalive(fd)) {
            case Errno(0): return
            case .inappropriateIOCTLForDevice, .noFunction, .notSupported, .invalidArgument: break
            case let failure: throw WatchdogError("WDIOC_KEEPALIVE", device: path, errno: failure)
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
        // The magic byte is what disarms; a watchdog driver has nothing buffered that close could lose.
        _ = close(fd)
        fd = -1
        if let failure { throw failure }
    }

    /// Disarms after a failed start, on the way to reporting that failure: a failure here
    /// would only hide the first one, and the box resets if the timer stays armed anyway.
    private func magicClose() {
        var byte = UInt8(ascii: "V")
        _ = write(fd, &byte, 1)
        _ = close(fd)
        fd = -1
    }

    private func writeByte(_ value: UInt8, operation: String) throws(WatchdogError) {
        var byte = value
        let written: Int
        do throws(Errno) {
            written = try retryOnInterrupt { write(fd, &byte, 1) }
        } catch {
            throw WatchdogError(operation, device: path, errno: error)
        }
        // A watchdog takes its one byte or fails; taking none is a fault of the device.
        if written != 1 { throw WatchdogError(operation, device: path, errno: .ioError) }
    }
}
