import CShims
import Platform

/// Many Modbus servers (TCP ports and RTU lines) served from one thread with one `poll(2)`
/// over all their sockets and serial lines: how the simulator runs dozens of devices
/// without a thread each. Servers are only touched between `serve` calls, so registers
/// changed there are never half-written in a reply.
public final class ModbusServerPool {
    public private(set) var tcpServers: [ModbusTCPServer] = []
    public private(set) var rtuServers: [ModbusRTUServer] = []
    private var pollSet: [pollfd] = []
    /// For each entry of `pollSet`: the index of its server, TCP first, then RTU.
    private var owners: [Int] = []

    public init() {}

    public func add(_ server: ModbusTCPServer) { tcpServers.append(server) }
    public func add(_ server: ModbusRTUServer) { rtuServers.append(server) }

    /// Requests answered by every server together since each started.
    public var requestsAnswered: Int {
        var total = 0
        for server in tcpServers { total += server.requestsAnswered }
        for server in rtuServers { total += server.requestsAnswered }
        return total
    }

    /// Waits up to `timeoutMilliseconds` for activity on any server, then accepts
    /// connections and answers the requests that arrived. Returns the requests answered.
    @discardableResult
    public func serve(timeoutMilliseconds: Int32) -> Int {
        pollSet.removeAll(keepingCapacity: true)
        owners.removeAll(keepingCapacity: true)
        for (index, server) in tcpServers.enumerated() {
            server.appendPollDescriptors(to: &pollSet)
            while owners.count < pollSet.count { owners.append(index) }
        }
        for (index, server) in rtuServers.enumerated() {
            server.appendPollDescriptors(to: &pollSet)
            while owners.count < pollSet.count { owners.append(tcpServers.count + index) }
        }
        if pollSet.isEmpty {
            sleep(milliseconds: Int(max(0, timeoutMilliseconds)))
            return 0
        }
        let ready = pollSet.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
        var answered = 0
        if ready > 0 {
            for slot in pollSet.indices where pollSet[slot].revents != 0 {
                let owner = owners[slot]
                if owner < tcpServers.count {
                    answered += tcpServers[owner].handle(pollSet[slot])
                } else {
                    answered += rtuServers[owner - tcpServers.count].handle(pollSet[slot])
                }
            }
        }
        for server in tcpServers { server.finishRound() }
        for server in rtuServers { server.finishRound() }
        return answered
    }
}
