/// A hardware watchdog device.
public struct WatchdogSettings: Sendable, Equatable {
    public var device: String
    /// Asked of the driver at start (WDIOC_SETTIMEOUT); nil keeps the driver's own timeout.
    public var timeoutSeconds: Int?

    public init(device: String = "/dev/watchdog", timeoutSeconds: Int? = nil) {
        self.device = device
        self.timeoutSeconds = timeoutSeconds
    }
}
