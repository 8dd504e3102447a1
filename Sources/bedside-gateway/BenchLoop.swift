import Acquisition
import Config
import Metrics
import Modbus
import Platform
import RegisterMaps

extension BedsideGateway {
    /// The sampling loop alone against one device, printing its wake-up latency the way
    /// cyclictest reports its own, so Deploy/bench-loop.sh can put the two side by side.
    static func benchLoop(_ arguments: inout CommandLineArguments) -> Int32 {
        var host = "127.0.0.1"
        var port = 1502
        var periodMilliseconds = 1
        var cycles = 10_000
        var priority = SamplingSettings.defaultPriority
        var cpu: Int?
        while let option = arguments.next() {
            switch option {
            case "--host": host = arguments.value(for: option) ?? host
            case "--port": port = arguments.integer(for: option, in: 1...65_535) ?? port
            case "--period-ms": periodMilliseconds = arguments.integer(for: option, in: 1...1000) ?? periodMilliseconds
            case "--cycles": cycles = arguments.integer(for: option, in: 1...10_000_000) ?? cycles
            case "--priority": priority = arguments.integer(for: option, in: 0...99) ?? priority
            case "--cpu": cpu = arguments.integer(for: option, in: 0...1023)
            default: return arguments.fail("unknown option '\(option)' for bench-loop")
            }
        }
        if let problem = arguments.problem { return arguments.fail(problem) }

        let device = DeviceSettings(id: "bench-monitor", profile: BuiltinProfiles.patientMonitor.name,
                                  endpoint: .tcp(host: host, port: port), unitID: 1, responseTimeoutMilliseconds: 500)
        let bus = PlannedBus(name: "tcp://\(host):\(port)", endpoint: device.endpoint,
                             devices: [PlannedDevice(index: 0, bedIndex: 0, config: device, profile: BuiltinProfiles.patientMonitor)])
        if priority > 0 {
            do throws(SystemError) { try lockAllMemory() } catch { log(.warning, error.description) }
        }
        let loop: BusLoop
        do {
            loop = try BusLoop(bus: bus, periodMilliseconds: periodMilliseconds,
                               realtime: RealtimeSettings(priority: priority > 0 ? priority : nil, cpu: cpu))
        } catch {
            log(.error, error.description)
            return 1
        }
        loop.cycleLimit = UInt64(cycles)
        // The loop hands its device over to a consumer that waits as the alarm thread does,
        // so that cost is measured.
        let wakeUp: WakeUp
        do throws(SystemError) {
            wakeUp = try WakeUp(purpose: "the benchmark's ring consumer")
        } catch {
            log(.error, error.description)
            return 1
        }
        loop.consumerWakeUp = wakeUp
        do throws(SystemError) {
            try loop.start()
        } catch {
            log(.error, error.description)
            return 1
        }
        // Drain the ring as the publisher would, counting what arrived.
        var samples = 0
        var commLoss = 0
        func drain() {
            while let record = loop.ring.pop() {
                guard record.kind == .sample else { continue }
                samples += 1
                if record.quality == .commLoss { commLoss += 1 }
            }
        }
        while loop.statistics.cycles < UInt64(cycles) {
            wakeUp.drain()
            drain()
            wakeUp.waitForProducers(timeoutMilliseconds: 1000) { !loop.ring.isEmpty }
        }
        loop.join()
        drain()
        let wake = loop.statistics.wakeupLatency
        let duration = loop.statistics.cycleDuration
        let requests = loop.deviceStatistics(0)
        func micros(_ nanoseconds: UInt64) -> String { formatMicroseconds(nanoseconds) }
        printLine("bedside-gateway loop: period \(periodMilliseconds) ms, priority \(priority), \(wake.count) cycles, "
            + "\(samples) samples (\(commLoss) comm-loss), \(loop.statistics.overruns) overruns")
        printLine("wakeup_us p50=\(micros(wake.percentile(0.5))) p99=\(micros(wake.percentile(0.99))) "
            + "p99.9=\(micros(wake.percentile(0.999))) max=\(micros(wake.maximum))")
        printLine("cycle_us p50=\(micros(duration.percentile(0.5))) p99=\(micros(duration.percentile(0.99))) "
            + "max=\(micros(duration.maximum))")
        printLine("request_us p50=\(micros(requests.requestLatency.percentile(0.5))) "
            + "p99=\(micros(requests.requestLatency.percentile(0.99))) requests=\(requests.requests)")
        return commLoss == 0 ? 0 : 1
    }

    static func formatMicroseconds(_ nanoseconds: UInt64) -> String {
        let tenths = (nanoseconds + 50) / 100
        return "\(tenths / 10).\(tenths % 10)"
    }
}
