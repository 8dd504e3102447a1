import JSON
import Modbus
import Platform
import RegisterMaps

public struct SimulatorOptions {
    public var host = "127.0.0.1"
    public var firstPort = 1502
    public var deviceCount = 1
    public var seed: UInt64 = 1
    public var updateIntervalMilliseconds = 1000
    public var nibpIntervalSeconds = 180
    /// If set, every register update is appended here as one JSON line, so a test can
    /// compare what the agent published with what was served at that moment.
    public var servedLogPath: String?

    public init() {}
}

/// Serves simulated patient monitors over Modbus TCP, one per port from `firstPort`,
/// until SIGINT or SIGTERM.
public final class DeviceSimulator {
    private struct Device {
        var server: ModbusTCPServer
        var patient: PatientModel
    }

    private let options: SimulatorOptions
    private let profile = BuiltinProfiles.patientMonitor
    private var devices: [Device] = []

    public init(options: SimulatorOptions) throws(ModbusError) {
        self.options = options
        for index in 0..<options.deviceCount {
            let server = try ModbusTCPServer(host: options.host, port: options.firstPort + index)
            let patient = PatientModel(seed: options.seed &+ UInt64(index), nibpIntervalSeconds: options.nibpIntervalSeconds)
            devices.append(Device(server: server, patient: patient))
        }
    }

    public func run() {
        StopSignal.install()
        publishRegisters()
        log(.info, "simulating \(devices.count) patient monitor(s) on \(options.host):\(options.firstPort)"
            + (devices.count > 1 ? "...\(options.firstPort + devices.count - 1)" : ""))
        var nextUpdate = MonotonicInstant.now().adding(milliseconds: options.updateIntervalMilliseconds)
        while !StopSignal.requested {
            // Serve requests until the next update is due, then change the registers.
            var now = MonotonicInstant.now()
            while now < nextUpdate && !StopSignal.requested {
                let wait = Int32(max(1, min(50, nextUpdate.milliseconds(since: now))))
                for device in devices { device.server.serve(timeoutMilliseconds: devices.count == 1 ? wait : 0) }
                if devices.count > 1 { sleep(milliseconds: 1) }
                now = MonotonicInstant.now()
            }
            for index in devices.indices { devices[index].patient.advance() }
            publishRegisters()
            nextUpdate = nextUpdate.adding(milliseconds: options.updateIntervalMilliseconds)
        }
        log(.info, "simulator stopped")
    }

    private func publishRegisters() {
        let now = wallClockMilliseconds()
        var logLines = ""
        for (index, device) in devices.enumerated() {
            var json = JSONWriter()
            json.beginObject()
            json.member("t_ms", now)
            json.member("port", options.firstPort + index)
            json.key("values")
            json.beginObject()
            for point in profile.points {
                guard let value = device.patient.value(of: point.name) else { continue }
                let raw = point.encode(value)
                device.server.setInputRegister(point.address, raw)
                json.key(point.name)
                json.rawNumber(formatDecimal(point.decode(raw: raw), decimals: point.decimals))
            }
            json.endObject()
            json.endObject()
            logLines += json.text + "\n"
        }
        if let path = options.servedLogPath {
            do {
                try appendToFile(path, logLines)
            } catch {
                log(.warning, "cannot write served log: \(error.description)")
            }
        }
    }
}
