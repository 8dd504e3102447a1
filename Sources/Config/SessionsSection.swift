import Sessions
import YAMLReader

/// `sessions:`: when an infusion session ends, and how long finished records stay on the box.
extension ConfigDecoder {
    /// Without `directory`, records live next to the disk queue's directory (the box's state
    /// directory: /var/lib/bedside-gateway/sessions with the default queue).
    func decodeSessions(_ field: Field?, queueDirectory: String?) -> SessionSettings? {
        var defaults = SessionSettings()
        if let queueDirectory { defaults.directory = Self.siblingPath(of: queueDirectory, named: "sessions") }
        guard let field, !field.node.isNull else { return defaults }
        guard let sessions = mapping(field, expected: "a mapping with the session settings (end_after_stopped_s, keep_days, directory)",
                                     allowedKeys: ["end_after_stopped_s", "keep_days", "directory"])
        else { return nil }
        let endAfter = optionalInteger(sessions, "end_after_stopped_s", in: SessionSettings.endAfterStoppedRange,
                                       default: defaults.endAfterStoppedSeconds)
        let keepDays = optionalInteger(sessions, "keep_days", in: SessionSettings.keepDaysRange, default: defaults.keepDays)
        var directory: String? = defaults.directory
        if let directoryField = sessions.optional("directory") { directory = pathSetting(directoryField, what: "session directory") }
        guard let endAfter, let keepDays, let directory else { return nil }
        return SessionSettings(endAfterStoppedSeconds: endAfter, keepDays: keepDays, directory: directory)
    }
}
