import CShims
import Health
import YAMLReader

/// `health:`: the HTTP health endpoint and the health summary on MQTT.
extension ConfigDecoder {
    func decodeHealth(_ field: Field?) -> HealthSettings? {
        let defaults = HealthSettings()
        guard let field, !field.node.isNull else { return defaults }
        guard let health = mapping(field, expected: "a mapping with the health endpoint settings",
                                   allowedKeys: ["listen", "port", "publish_interval_s", "require_clock_sync"])
        else { return nil }
        var address: String? = defaults.listenAddress
        if let listenField = health.optional("listen") {
            address = string(listenField, expected: "an IP address").flatMap { text in
                if Self.isIPAddressLiteral(text) { return text }
                report(listenField, "invalid address \(quote(text)): expected an IPv4 or IPv6 address such as 127.0.0.1 "
                    + "(loopback), ::1 or the address of the box's monitoring network")
                return nil
            }
        }
        let port = optionalInteger(health, "port", in: 0...65535, default: defaults.port)
        let interval = optionalInteger(health, "publish_interval_s", in: 0...3600, default: defaults.publishIntervalSeconds)
        var requireClock: Bool? = defaults.requireClockSync
        if let clockField = health.optional("require_clock_sync") { requireClock = boolean(clockField, defaultHint: "true") }
        guard let address, let port, let interval, let requireClock else { return nil }
        return HealthSettings(listenAddress: address, port: port, publishIntervalSeconds: interval,
                              requireClockSync: requireClock)
    }


    static func isIPAddressLiteral(_ text: String) -> Bool {
        var storage = in6_addr()
        return inet_pton(AF_INET, text, &storage) == 1 || inet_pton(AF_INET6, text, &storage) == 1
    }
}
