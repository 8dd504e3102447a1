/// The agent's configuration as typed values, after every check has passed.
public struct GatewayConfig: Sendable {
    /// Opaque ids for the clinic site and this edge box; they form the MQTT topic prefix.
    public var site: String
    public var box: String
    public var mqtt: MQTTSettings
    public var sampling: SamplingSettings
    public var beds: [BedConfig]

    public init(site: String, box: String, mqtt: MQTTSettings, sampling: SamplingSettings, beds: [BedConfig]) {
        self.site = site
        self.box = box
        self.mqtt = mqtt
        self.sampling = sampling
        self.beds = beds
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

    public init(intervalMilliseconds: Int) { self.intervalMilliseconds = intervalMilliseconds }
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
    /// Name of a built-in device profile, e.g. "patient-monitor".
    public var profile: String
    public var endpoint: DeviceEndpoint
    public var unitID: Int
    public var responseTimeoutMilliseconds: Int

    public init(id: String, profile: String, endpoint: DeviceEndpoint, unitID: Int, responseTimeoutMilliseconds: Int) {
        self.id = id
        self.profile = profile
        self.endpoint = endpoint
        self.unitID = unitID
        self.responseTimeoutMilliseconds = responseTimeoutMilliseconds
    }
}
