import Alarms
import MQTT
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
    public var queue: QueueSettings
    public var health: HealthSettings
    public var commands: CommandSettings
    public var alarms: AlarmSettings
    /// The configuration's own `hardware:` over the board's parts.
    public var hardware: HardwareSettings
    /// The profile `board:` names; its values are already merged into `hardware`, `sampling`
    /// and the serial lines' RS-485 settings.
    public var board: BoardProfile?

    public init(site: String, box: String, mqtt: MQTTSettings, sampling: SamplingSettings, beds: [BedConfig],
                profiles: [DeviceProfile] = [], queue: QueueSettings = QueueSettings(),
                health: HealthSettings = HealthSettings(), commands: CommandSettings = CommandSettings(),
                alarms: AlarmSettings = AlarmSettings(), hardware: HardwareSettings = HardwareSettings(),
                board: BoardProfile? = nil) {
        self.site = site
        self.box = box
        self.mqtt = mqtt
        self.sampling = sampling
        self.beds = beds
        self.profiles = profiles
        self.queue = queue
        self.health = health
        self.commands = commands
        self.alarms = alarms
        self.hardware = hardware
        self.board = board
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
    /// How long the broker keeps this client's session (subscriptions, queued commands) after
    /// the connection drops; MQTT 5 only (3.1.1 brokers keep it by their own rules).
    public var sessionExpirySeconds: Int
    /// Read from `credentials_file`, never written in the configuration itself.
    public var credentials: MQTTCredentials?
    public var tls: MQTTTLSOptions?

    public init(host: String, port: Int, clientID: String, keepaliveSeconds: Int, topicPrefix: String,
                sessionExpirySeconds: Int = 3600, credentials: MQTTCredentials? = nil, tls: MQTTTLSOptions? = nil) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.keepaliveSeconds = keepaliveSeconds
        self.topicPrefix = topicPrefix
        self.sessionExpirySeconds = sessionExpirySeconds
        self.credentials = credentials
        self.tls = tls
    }
}

public struct MQTTCredentials: Sendable, Equatable {
    public var username: String
    public var password: String
    /// Where they came from, for messages (never the password itself).
    public var file: String

    public init(username: String, password: String, file: String) {
        self.username = username
        self.password = password
        self.file = file
    }
}

public enum QueueFsync: Sendable, Equatable {
    /// After every message: nothing is lost even on power loss, at the cost of flash wear.
    case always
    /// At most this long after a message was written: power loss costs at most that much.
    case interval(milliseconds: Int)
    /// Left to the kernel: a crash of the agent loses nothing, power loss up to ~30 s.
    case never
}

/// The store-and-forward queue on disk.
public struct QueueSettings: Sendable, Equatable {
    public var directory: String
    public var maximumBytes: Int
    public var segmentBytes: Int
    public var fsync: QueueFsync

    public static let defaultDirectory = "/var/lib/bedside-gateway/queue"

    public init(directory: String = QueueSettings.defaultDirectory, maximumBytes: Int = 64 << 20,
                segmentBytes: Int = 1 << 20, fsync: QueueFsync = .interval(milliseconds: 1000)) {
        self.directory = directory
        self.maximumBytes = maximumBytes
        self.segmentBytes = segmentBytes
        self.fsync = fsync
    }
}

/// The HTTP health endpoint and the health summary on MQTT.
public struct HealthSettings: Sendable, Equatable {
    /// IPv4 or IPv6 literal to listen on; loopback unless the clinic's monitoring needs more.
    public var listenAddress: String
    /// 0 turns the HTTP endpoint off.
    public var port: Int
    /// 0 turns the MQTT health summary off.
    public var publishIntervalSeconds: Int
    /// Whether /readyz fails while the kernel says the clock is not synchronised.
    public var requireClockSync: Bool

    public init(listenAddress: String = "127.0.0.1", port: Int = 9180, publishIntervalSeconds: Int = 10,
                requireClockSync: Bool = true) {
        self.listenAddress = listenAddress
        self.port = port
        self.publishIntervalSeconds = publishIntervalSeconds
        self.requireClockSync = requireClockSync
    }
}

public struct CommandSettings: Sendable, Equatable {
    /// Who may send which command; without it every command is refused.
    public var tokensFile: String?

    public init(tokensFile: String? = nil) { self.tokensFile = tokensFile }
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
    /// `sampling.priority` and a board's `realtime.priority`; 0 keeps normal scheduling.
    public static let priorityRange = 0...99
    /// `sampling.cpu` and a board's `realtime.cpu`.
    public static let cpuRange = 0...1023
}

/// A treatment chair. Its id is opaque: never a patient's name or record number.
public struct BedConfig: Sendable {
    public var id: String
    public var devices: [DeviceConfig]
    /// The box-wide alarm settings with this bed's own changes applied.
    public var alarms: BedAlarmSettings

    public init(id: String, devices: [DeviceConfig], alarms: BedAlarmSettings = BedAlarmSettings()) {
        self.id = id
        self.devices = devices
        self.alarms = alarms
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
