import CShims
import Config
import Modbus
import Platform
import RegisterMaps
import Vitals

/// Reads one configured device each cycle and turns its registers into samples. A device
/// that does not answer yields comm-loss samples and is retried with capped backoff, so one
/// silent monitor costs at most one response timeout per retry, never a crash.
final class DevicePoller {
    enum Health: Equatable { case unknown, answering, silent }

    let config: DeviceConfig
    let profile: DeviceProfile
    private let client: ModbusClient
    private let blocks: [ReadBlock]
    private var registers: [UInt16]
    private(set) var health: Health = .unknown
    private var nextAttempt = MonotonicInstant(nanoseconds: 0)
    private var backoffMilliseconds = 0
    static let maximumBackoffMilliseconds = 30_000

    init(config: DeviceConfig, profile: DeviceProfile) throws(ModbusError) {
        self.config = config
        self.profile = profile
        switch config.endpoint {
        case let .tcp(host, port):
            client = try ModbusClient(tcpHost: host, port: port, unitID: config.unitID,
                                      responseTimeoutMilliseconds: config.responseTimeoutMilliseconds)
        case let .rtu(line):
            throw ModbusError("open serial line \(line.device)", device: config.id, code: ENOTSUP)
        }
        blocks = planReads(profile.points)
        var largest = 0
        for block in blocks { largest = max(largest, block.count) }
        registers = [UInt16](repeating: 0, count: largest)
    }

    /// Appends one sample per point of the profile.
    func poll(into samples: inout [Sample]) {
        let now = MonotonicInstant.now()
        if health == .silent && now < nextAttempt {
            appendCommLoss(into: &samples, monotonic: now)
            return
        }
        let firstNew = samples.count
        do throws(ModbusError) {
            try client.connect()
            for block in blocks {
                try client.read(block, into: &registers)
                let wall = wallClockMilliseconds()
                let monotonic = MonotonicInstant.now().nanoseconds
                for point in profile.points where block.contains(point) {
                    samples.append(Sample.decoded(point: point, raw: registers[point.address - block.start],
                                                  deviceID: config.id, wallClockMilliseconds: wall,
                                                  monotonicNanoseconds: monotonic))
                }
            }
            if health != .answering { log(.info, "device \(config.id) (\(client.name)) is answering") }
            health = .answering
            backoffMilliseconds = 0
        } catch {
            samples.removeSubrange(firstNew...)
            if health != .silent {
                log(.warning, "device \(config.id) lost: \(error.description); retrying with backoff")
            }
            health = .silent
            backoffMilliseconds = min(max(backoffMilliseconds * 2, 1000), DevicePoller.maximumBackoffMilliseconds)
            nextAttempt = MonotonicInstant.now().adding(milliseconds: backoffMilliseconds)
            appendCommLoss(into: &samples, monotonic: MonotonicInstant.now())
        }
    }

    private func appendCommLoss(into samples: inout [Sample], monotonic: MonotonicInstant) {
        let wall = wallClockMilliseconds()
        for point in profile.points {
            samples.append(Sample(point: point, deviceID: config.id, value: nil, quality: .commLoss,
                                  wallClockMilliseconds: wall, monotonicNanoseconds: monotonic.nanoseconds))
        }
    }
}
