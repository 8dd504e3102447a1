import Commands
import YAMLReader

/// `commands:`: who may send which command.
extension ConfigDecoder {
    func decodeCommands(_ field: Field?) -> CommandSettings? {
        guard let field, !field.node.isNull else { return CommandSettings() }
        guard let commands = mapping(field, expected: "a mapping with the command settings", allowedKeys: ["tokens_file"])
        else { return nil }
        guard let tokensField = commands.optional("tokens_file") else { return CommandSettings() }
        guard let path = readableFile(tokensField, what: "command tokens file") else { return nil }
        return CommandSettings(tokensFile: path)
    }

    /// A path, relative to this configuration file's directory or absolute, that this process can read.
}
