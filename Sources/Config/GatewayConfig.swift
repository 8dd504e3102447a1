import Acquisition
import Alarms
import Charting
import ClinicView
import Commands
import HL7
import Health
import MQTT
import Profiles
import RegisterMaps
import Sessions
import StoreAndForward

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
    /// How often each bed is charted, and whether as FHIR bundles.
    public var charting: ChartingSettings
    /// `alarms.forward.hl7`: every alarm event also goes as IHE PCD-04 to this MLLP receiver.
    public var alarmForward: HL7ForwardSettings?
    /// `charting.hl7`: every chart row also goes as IHE PCD-01 to this MLLP receiver.
    public var chartForward: HL7ForwardSettings?
    /// `view:`: the clinic view; nil when the section is absent (the view is off).
    public var view: ViewSettings?
    /// When infusion sessions end, and where and how long their records are kept.
    public var sessions: SessionSettings

    public init(site: String, box: String, mqtt: MQTTSettings, sampling: SamplingSettings, beds: [BedConfig],
                profiles: [DeviceProfile] = [], queue: QueueSettings = QueueSettings(),
                health: HealthSettings = HealthSettings(), commands: CommandSettings = CommandSettings(),
                alarms: AlarmSettings = AlarmSettings(), hardware: HardwareSettings = HardwareSettings(),
                board: BoardProfile? = nil, charting: ChartingSettings = ChartingSettings(),
                alarmForward: HL7ForwardSettings? = nil, chartForward: HL7ForwardSettings? = nil,
                sessions: SessionSettings = SessionSettings(), view: ViewSettings? = nil) {
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
        self.charting = charting
        self.alarmForward = alarmForward
        self.chartForward = chartForward
        self.view = view
        self.sessions = sessions
    }

    /// The profile a device's `profile` setting names: a built-in one or one loaded from a file.
    /// After a successful load every configured device's profile is found here.
    public func profile(named name: String) -> DeviceProfile? {
        if let builtin = BuiltinProfiles.named(name) { return builtin }
        for profile in profiles where profile.name == name { return profile }
        return nil
    }
}

/// A treatment chair. Its id is opaque: never a patient's name or record number.
public struct BedConfig: Sendable {
    public var id: String
    public var devices: [DeviceSettings]
    /// The box-wide alarm settings with this bed's own changes applied.
    public var alarms: BedAlarmSettings
    /// Where the bed is, for HL7's PV1-3 (point of care, room, bed, facility).
    public var location: BedLocation

    public init(id: String, devices: [DeviceSettings], alarms: BedAlarmSettings = BedAlarmSettings(), location: BedLocation? = nil) {
        self.id = id
        self.devices = devices
        self.alarms = alarms
        self.location = location ?? BedLocation(pointOfCare: "", room: "", bed: id, facility: "")
    }
}

