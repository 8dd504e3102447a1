import Modbus
import RegisterMaps

/// One configured device, flattened: the index is what sample records carry.
public struct PlannedDevice {
    public var index: Int
    public var bedIndex: Int
    public var config: DeviceSettings
    public var profile: DeviceProfile

    public init(index: Int, bedIndex: Int, config: DeviceSettings, profile: DeviceProfile) {
        self.index = index
        self.bedIndex = bedIndex
        self.config = config
        self.profile = profile
    }
}

/// Devices that share one transport: a TCP endpoint (a device, or a gateway in front of
/// several) or a serial line. Each bus gets its own thread, so a silent device delays only
/// the devices on its own wire.
public struct PlannedBus {
    public var name: String
    public var endpoint: DeviceEndpoint
    public var devices: [PlannedDevice]

    public init(name: String, endpoint: DeviceEndpoint, devices: [PlannedDevice]) {
        self.name = name
        self.endpoint = endpoint
        self.devices = devices
    }
}

public struct AcquisitionPlan {
    public var devices: [PlannedDevice]
    public var buses: [PlannedBus]

    /// `beds`: each bed's devices, in bed order (the bed index is what records carry);
    /// `profileNamed` finds a device's profile; a device without one is left out.
    public init(beds: [[DeviceSettings]], profileNamed: (String) -> DeviceProfile?) {
        devices = []
        buses = []
        for (bedIndex, bedDevices) in beds.enumerated() {
            for device in bedDevices {
                guard let profile = profileNamed(device.profile) else { continue }
                let planned = PlannedDevice(index: devices.count, bedIndex: bedIndex, config: device, profile: profile)
                devices.append(planned)
                let key = AcquisitionPlan.busName(device.endpoint)
                if let existing = buses.firstIndex(where: { $0.name == key }) {
                    buses[existing].devices.append(planned)
                } else {
                    buses.append(PlannedBus(name: key, endpoint: device.endpoint, devices: [planned]))
                }
            }
        }
    }

    static func busName(_ endpoint: DeviceEndpoint) -> String {
        switch endpoint {
        case let .tcp(host, port): return "tcp://\(host):\(port)"
        case let .rtu(line): return "rtu://\(line.device)"
        }
    }
}
