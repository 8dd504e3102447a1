import Acquisition
import Alarms
import Commands
import CShims
import Charting
import ClinicView
import Health
import Modbus
import Platform
import MQTT
import Profiles
import RegisterMaps
import Sessions
import StoreAndForward
import YAMLReader

/// Checks a YAML tree against the agent's configuration schema, one section per file
/// (MQTTSection.swift, SamplingSection.swift, ...). Problems in files the configuration names
/// (board and device profiles) are reported against those files.
final class ConfigDecoder: YAMLFieldReader {
    /// Profiles loaded from `device_profiles` files so far, in file order.
    var profiles: [DeviceProfile] = []
    /// Every file read besides this one (resolved paths: the board profile, then the device
    /// profile files in listing order): errors sort by file in this order.
    var includedFiles: [String] = []
    /// The profile `board:` names, once it checked out: the defaults of the hardware parts, the
    /// real-time settings and the serial lines' RS-485 settings.
    var board: BoardProfile?
    /// Where `board` was read from, for messages about values taken from it.
    var boardFile: String?
    /// Profile names declared in files that had errors: devices naming them are not reported
    /// a second time as using an unknown profile.
    var brokenProfileNames: [String] = []
    /// Where each file profile's name was written, for collisions between files.
    var profileNameUses: [String: FirstUse] = [:]

    /// A serial line as first configured, with the unit ids already on it.
    struct SerialLineUse {
        var settings: SerialLineSettings
        var owner: String
        var line: Int
        var unitIDs: [Int: FirstUse]
    }

    var serialLines: [String: SerialLineUse] = [:]

    var bedIDs: [String: FirstUse] = [:]
    /// `alarms.forward.hl7`, read with the rest of `alarms:`; nil when not configured.
    var alarmForward: HL7ForwardSettings?
    /// `charting.hl7`, read with the rest of `charting:`; nil when not configured.
    var chartForward: HL7ForwardSettings?
    var deviceIDs: [String: FirstUse] = [:]

    // MARK: The schema

    func decodeRoot(_ root: YAMLNode?) -> GatewayConfig? {
        guard let root, !root.isNull else {
            report(line: 1, column: 1, path: "", "the file is empty")
            return nil
        }
        let rootField = Field(node: root, path: "", line: root.line, column: root.column)
        guard let settings = mapping(rootField, expected: "a mapping of settings (site, box, mqtt, sampling, device_profiles, beds)",
                                     allowedKeys: ["site", "box", "board", "mqtt", "sampling", "queue", "health", "commands",
                                                   "alarms", "hardware", "charting", "sessions", "device_profiles", "beds", "view"])
        else { return nil }

        // The board first: it gives the defaults of sampling, hardware and the serial lines.
        if let boardField = settings.optional("board") { decodeBoardFile(boardField) }

        let site = required(settings, "site").flatMap { id($0) }
        let box = required(settings, "box").flatMap { id($0) }
        let mqtt = required(settings, "mqtt").flatMap { decodeMQTT($0, site: site ?? "", box: box ?? "") }
        let sampling = decodeSampling(settings.optional("sampling"))
        let queue = decodeQueue(settings.optional("queue"))
        let health = decodeHealth(settings.optional("health"))
        let view = decodeView(settings.optional("view"))
        let commands = decodeCommands(settings.optional("commands"))
        // Box-wide alarm settings first: each bed's own start from them.
        let alarms = decodeAlarms(settings.optional("alarms"), queueDirectory: queue?.directory)
        // After the alarms: the charting link's queue must not share the alarm link's directory.
        let charting = decodeCharting(settings.optional("charting"), queueDirectory: queue?.directory)
        let sessions = decodeSessions(settings.optional("sessions"), queueDirectory: queue?.directory)
        let hardware = decodeHardware(settings.optional("hardware"), base: hardwareBase())
        // Profiles first: devices may name them.
        decodeProfileFiles(settings.optional("device_profiles"))
        let beds = required(settings, "beds").flatMap { decodeBeds($0, alarmDefaults: alarms?.defaults) }

        guard let site, let box, let mqtt, let sampling, let beds, let queue, let health, let commands, let alarms,
              let hardware, let charting, let sessions, let view, errors.isEmpty
        else { return nil }
        return GatewayConfig(site: site, box: box, mqtt: mqtt, sampling: sampling, beds: beds, profiles: profiles,
                             queue: queue, health: health, commands: commands, alarms: alarms, hardware: hardware,
                             board: board, charting: charting, alarmForward: alarmForward,
                             chartForward: chartForward, sessions: sessions, view: view)
    }



    func host(_ field: Field) -> String? {
        guard let text = string(field, expected: "a host name or IP address") else { return nil }
        if text.isEmpty {
            report(field, "the host is empty (expected a host name or IP address)")
            return nil
        }
        if let bad = Self.firstSpaceOrControl(text) {
            report(field, "invalid host \(quote(text)) (contains \(Self.describeCharacter(bad))): expected a host name or IP address")
            return nil
        }
        return text
    }


    func readableFile(_ field: Field, what: String) -> String? {
        guard let text = string(field, expected: "the path of the \(what)") else { return nil }
        if text.isEmpty {
            report(field, "the path is empty (expected the path of the \(what))")
            return nil
        }
        let path = Self.resolve(text, relativeTo: file)
        if access(path, R_OK) != 0 {
            report(field, "cannot read the \(what) \(quote(path)): \(Errno.current.description)")
            return nil
        }
        return path
    }
}
