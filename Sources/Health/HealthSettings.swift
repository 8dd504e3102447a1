/// The HTTP health endpoint and the health summary on MQTT.
public struct HealthSettings: Sendable, Equatable {
    /// IPv4 or IPv6 literal to listen on; loopback unless the clinic's monitoring needs more.
    public var listenAddress: String
    /// 0 turns the HTTP endpoint off.
    public var port: Int
    /// 0 turns the MQTT health summary off.
    public var publishIntervalSeconds: Int
    /// Whether /readyz fails while the kernel says the clock is not synchronised.
    public var requireClockSync: Bool

    public init(listenAddress: String = "127.0.0.1", port: Int = 9180, publishIntervalSeconds: Int = 10,
                requireClockSync: Bool = true) {
        self.listenAddress = listenAddress
        self.port = port
        self.publishIntervalSeconds = publishIntervalSeconds
        self.requireClockSync = requireClockSync
    }
}
