import Foundation
import Platform
import Supervision
import Testing

/// A datagram socket bound where $NOTIFY_SOCKET would point: a path, or "@name" (abstract).
final class NotifyListener {
    let fd: Int32
    let name: String

    init(name: String) throws {
        self.name = name
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard result == 0 else {
            let error = SystemError("bind", name)
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Every datagram that arrives within `milliseconds`.
    func receive(milliseconds: Int) -> [String] {
        var messages: [String] = []
        let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let remaining = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, remaining) <= 0 { return messages }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { messages.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
        }
    }

    /// The first datagram within `milliseconds`, if any.
    func receiveOne(milliseconds: Int) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(milliseconds)) > 0 else { return nil }
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }
}

@Suite(.serialized) struct SystemdNotifyTests {
    /// READY=1 at start, WATCHDOG=1 while healthy, none while a participant is stalled (but one
    /// STATUS= naming it), WATCHDOG=1 again after recovery, STOPPING=1 at stop.
    @Test func notificationsFollowParticipantHealth() throws {
        let directory = try supervisionTemporaryDirectory("notify")
        defer { try? FileManager.default.removeItem(at: directory) }
        let listener = try NotifyListener(name: directory.appendingPathComponent("notify").path)

        let notifier = SystemdNotifier(socket: listener.name, watchdogMicroseconds: 200_000)
        let supervisor = Supervisor(watchdog: nil, notifier: notifier)
        #expect(supervisor.kickIntervalMilliseconds == 100) // half of WATCHDOG_USEC
        let bus = try SupervisionTestBeater(supervisor.register("bus0", expectedIntervalMilliseconds: 10, allowedStalenessMilliseconds: 200))
        let publisher = try SupervisionTestBeater(supervisor.register("publisher", expectedIntervalMilliseconds: 10,
                                                           allowedStalenessMilliseconds: 200))
        defer { bus.finish(); publisher.finish() }
        try supervisor.start(readyStatus: "sampling 1 bus")

        #expect(listener.receiveOne(milliseconds: 2000) == "READY=1\nSTATUS=sampling 1 bus")
        let healthy = listener.receive(milliseconds: 600)
        #expect(healthy.filter { $0 == "WATCHDOG=1" }.count >= 3, "\(healthy)")
        #expect(healthy.allSatisfy { $0 == "WATCHDOG=1" })

        publisher.pause()
        // Within one watchdog interval (generous: 1 s) the kicks stop and one STATUS= names it.
        let transition = listener.receive(milliseconds: 1000)
        let statusIndex = transition.firstIndex { $0.contains("STATUS=") }
        #expect(statusIndex != nil, "\(transition)")
        if let statusIndex {
            #expect(transition[statusIndex].hasPrefix("STATUS=stalled: publisher (no heartbeat for"))
            #expect(!transition[statusIndex].contains("WATCHDOG=1"))
            #expect(transition[(statusIndex + 1)...].isEmpty, "after the stall: \(transition)")
        }
        let stalled = listener.receive(milliseconds: 600)
        #expect(stalled.isEmpty, "while stalled: \(stalled)")

        publisher.resume()
        let recovered = listener.receive(milliseconds: 600)
        #expect(recovered.first == "WATCHDOG=1\nSTATUS=all participants healthy", "\(recovered)")
        #expect(recovered.dropFirst().filter { $0 == "WATCHDOG=1" }.count >= 2, "\(recovered)")

        supervisor.stop()
        let end = listener.receive(milliseconds: 300)
        #expect(end.last == "STOPPING=1", "\(end)")
    }

    /// '@name' is the abstract namespace: the name with a leading NUL, no file.
    @Test func abstractSocketReceivesMessages() throws {
        let name = "@bedside-notify-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let listener = try NotifyListener(name: name)
        let notifier = SystemdNotifier(socket: name)
        #expect(notifier.address?.isAbstract == true)
        try notifier.ready()
        try notifier.watchdog()
        try notifier.status("line one\nline two")
        try notifier.stopping()
        #expect(listener.receive(milliseconds: 300) == ["READY=1", "WATCHDOG=1", "STATUS=line one line two", "STOPPING=1"])
    }

    /// The environment route: the same notifier, built from variables as systemd sets them.
    @Test func environmentSocketIsUsed() throws {
        let directory = try supervisionTemporaryDirectory("notify-env")
        defer { try? FileManager.default.removeItem(at: directory) }
        let listener = try NotifyListener(name: directory.appendingPathComponent("n").path)
        let environment = ["NOTIFY_SOCKET": listener.name, "WATCHDOG_USEC": "3000000"]
        let notifier = SystemdNotifier.fromEnvironment { environment[$0] }
        #expect(notifier.watchdogMicroseconds == 3_000_000)
        try notifier.ready(status: "up")
        #expect(listener.receiveOne(milliseconds: 1000) == "READY=1\nSTATUS=up")
    }

    /// Nobody listening (systemd gone): the error names the socket; the supervisor carries on.
    @Test func missingListenerIsAnErrorNamingTheSocket() throws {
        let directory = try supervisionTemporaryDirectory("notify-none")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("nobody").path
        let notifier = SystemdNotifier(socket: path)
        #expect(notifier.isEnabled)
        do throws(SystemError) {
            try notifier.watchdog()
            Issue.record("sendto a missing socket succeeded")
        } catch {
            #expect(error.subject == path)
            #expect(error.errno == .noSuchFileOrDirectory || error.errno == .connectionRefused)
        }
        let supervisor = Supervisor(watchdog: nil, notifier: notifier, kickIntervalMilliseconds: 10)
        _ = supervisor.register("bus0", expectedIntervalMilliseconds: 10, allowedStalenessMilliseconds: 1000)
        #expect(supervisor.runOnce(nowMilliseconds: 0).kick)
        #expect(supervisor.runOnce(nowMilliseconds: 10).kick)
    }
}
