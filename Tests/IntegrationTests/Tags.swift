import Testing

extension Tag {
    /// A suite that takes a minute or more: real brokers, simulators and agents, outages and
    /// reconnect backoff waited out, or whole alarm bursts played. Skipped for quick local runs
    /// (README, "Tests"); CI runs them all.
    @Tag static var slow: Self
}
