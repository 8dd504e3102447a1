import Commands
import YAMLReader

/// `commands:`: who may send which command, and how old a command may be.
extension ConfigDecoder {
    func decodeCommands(_ field: Field?) -> CommandSettings? {
        guard let field, !field.node.isNull else { return CommandSettings() }
        guard let commands = mapping(field, expected: "a mapping with the command settings",
                                     allowedKeys: ["tokens_file", "max_age_s"])
        else { return nil }
        var path: String?
        var pathIsValid = true
        if let tokensField = commands.optional("tokens_file") {
            path = readableFile(tokensField, what: "command tokens file")
            pathIsValid = path != nil
        }
        let maximumAge = optionalInteger(commands, "max_age_s", in: 1...CommandSettings.largestMaximumAgeSeconds,
                                         default: CommandSettings.defaultMaximumAgeSeconds)
        guard pathIsValid, let maximumAge else { return nil }
        return CommandSettings(tokensFile: path, maximumAgeSeconds: maximumAge)
    }

    /// A path, relative to this configuration file's directory or absolute, that this process can read.
}
