/// How long a sampling loop may go without completing a cycle before it counts as stalled:
/// /healthz fails and the supervisor stops feeding the watchdogs at the same moment.
public enum LoopLiveness {
    /// Three periods, never under 3 s (scheduling hiccups of a loaded box are not a stall),
    /// plus twice every device's response timeout: a cycle in which every device on the bus
    /// stops answering runs that much longer (up to two requests a device) and is still alive.
    public static func allowedSilenceMilliseconds(periodMilliseconds: Int, responseTimeoutsMilliseconds: [Int]) -> Int {
        var timeouts = 0
        for timeout in responseTimeoutsMilliseconds { timeouts += 2 * timeout }
        return max(3 * periodMilliseconds, 3000) + timeouts
    }
}
