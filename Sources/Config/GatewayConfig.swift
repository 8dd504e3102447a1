import RegisterMaps

/// The agent's configuration as typed values, after every check has passed.
public struct GatewayConfig: Sendable {
    /// Opaque ids for the clinic site and this edge box; they form the MQTT topic prefix.
    public var site: String
    public var box: String
    public var mqtt: MQTTSettings
    public var sampling: SamplingSettings
    public var beds: [BedConfig]
    /// Device profiles loaded from the files listed under `device_profiles`, in file order.
    /// Their names never collide with a built-in profile's or with each other.
    public var profiles: [DeviceProfile]

    public init(site: String, box: String, mqtt: MQTTSettings, sampling: SamplingSettings, beds: [BedConfig],
                profiles: [DeviceProfile] = []) {
        self.site = site
        self.box = box
        self.mqtt = mqtt
        self.sampling = sampling
        self.beds = beds
        self.profiles = profiles
    }

    /// The profile a device's `profile` setting names: a built-in one or one loaded from a file.
    /// After a successful load every configured device's profile is found here.
    public func profile(named name: String) -> DeviceProfile? {
        if let builtin = BuiltinProfiles.named(name) { return builtin }
        for profile in profiles where profile.name == name { return profile }
        return nil
    }
}

public struct MQTTSettings: Sendable {
    public var host: String
    public var port: Int
    public var clientID: String
    public var keepaliveSeconds: Int
    /// Topics are "<topicPrefix>/beds/<bed>/vitals"; defaults to "bedside/<site>/<box>".
    public var topicPrefix: String

    public init(host: String, port: Int, clientID: String, keepaliveSeconds: Int, topicPrefix: String) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.keepaliveSeconds = keepaliveSeconds
        self.topicPrefix = topicPrefix
    }
}

public struct SamplingSettings: Sendable {
    public var intervalMilliseconds: Int
    /// SCHED_FIFO priority of the sampling threads, 1...99; 0 keeps normal scheduling.
    public var realtimePriority: Int
    /// CPU the sampling threads are pinned to; nil lets the kernel choose.
    public var cpu: Int?

    public init(intervalMilliseconds: Int, realtimePriority: Int = SamplingSettings.defaultPriority, cpu: Int? = nil) {
        self.intervalMilliseconds = intervalMilliseconds
        self.realtimePriority = realtimePriority
        self.cpu = cpu
    }

    /// Above most kernel threads' default of 50, below the watchdog and migration threads at 99.
    public static let defaultPriority = 80
}

/// A treatment chair. Its id is opaque: never a patient's name or record number.
public struct BedConfig: Sendable {
    public var id: String
    public var devices: [DeviceConfig]

    public init(id: String, devices: [DeviceConfig]) {
        self.id = id
        self.devices = devices
    }
}

public enum DeviceEndpoint: Sendable, Equatable {
    case tcp(host: String, port: Int)
    /// Modbus RTU on a serial line; devices with the same `device` path share one bus.
    case rtu(SerialLineSettings)
}

public enum SerialParity: String, Sendable, Equatable { case none, even, odd }

/// One RS-232/RS-485 serial line as libmodbus opens it.
public struct SerialLineSettings: Sendable, Equatable {
    /// e.g. "/dev/ttyAMA0", "/dev/ttyUSB0".
    public var device: String
    public var baud: Int
    public var parity: SerialParity
    public var dataBits: Int
    public var stopBits: Int
    /// Drive the RS-485 transceiver's direction with RTS (boards without automatic direction control).
    public var rs485RTS: Bool
    /// Delay between raising RTS and sending, in microseconds (libmodbus's RTS delay).
    public var rtsDelayMicroseconds: Int

    /// Baud rates a serial line may be set to.
    public static let standardBaudRates = [1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200,
                                            230_400, 460_800, 921_600]

    public init(device: String, baud: Int = 19_200, parity: SerialParity = .even, dataBits: Int = 8,
                stopBits: Int = 1, rs485RTS: Bool = false, rtsDelayMicroseconds: Int = 0) {
        self.device = device
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
        self.rs485RTS = rs485RTS
        self.rtsDelayMicroseconds = rtsDelayMicroseconds
    }
}

public struct DeviceConfig: Sendable {
    public var id: String
    /// Name of a device profile, built in (e.g. "patient-monitor") or from a profile file:
    /// look it up with `GatewayConfig.profile(named:)`.
    public var profile: String
    public var endpoint: DeviceEndpoint
    /// Modbus unit id: 0...247 over TCP, 1...247 on a serial line (distinct per line).
    public var unitID: Int
    public var responseTimeoutMilliseconds: Int
    /// Longest silence allowed between two bytes of one reply (libmodbus's byte timeout).
    public var byteTimeoutMilliseconds: Int

    public init(id: String, profile: String, endpoint: DeviceEndpoint, unitID: Int, responseTimeoutMilliseconds: Int,
                byteTimeoutMilliseconds: Int = 100) {
        self.id = id
        self.profile = profile
        self.endpoint = endpoint
        self.unitID = unitID
        self.responseTimeoutMilliseconds = responseTimeoutMilliseconds
        self.byteTimeoutMilliseconds = byteTimeoutMilliseconds
    }
}
