import Foundation

/// Checks `condition` every `interval` until it holds or `timeout` passes, and says whether it
/// held. Tests wait on the thing they need (a reply, a listener, a thread at work) this way
/// instead of sleeping for a guessed time: fast when the machine is fast, patient when two
/// cores are shared by four builds.
@discardableResult
public func waitUntil(timeout: TimeInterval, checkingEvery interval: TimeInterval = 0.02,
                      _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}
