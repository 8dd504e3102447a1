import CShims
import Platform
import Profiles
import RegisterMaps
import YAMLReader

/// Files a configuration names: `device_profiles` and `board:`.
extension ConfigDecoder {
    // MARK: Profile files

    /// Reads every file listed under `device_profiles` (paths relative to this file's directory)
    /// and keeps the profiles that check out; their problems are reported against their own file.
    func decodeProfileFiles(_ field: Field?) {
        // An empty `device_profiles:` (every entry commented out) means none.
        guard let field, !field.node.isNull else { return }
        if case .sequence(let nodes) = field.node.content, nodes.isEmpty { return }
        guard let items = sequence(field, expected: "a list of device profile file paths", emptyMessage: "") else { return }
        var listed: [String: FirstUse] = [:]
        for item in items {
            guard let text = string(item, expected: "the path of a device profile file") else { continue }
            if text.isEmpty {
                report(item, "the path is empty (expected the path of a device profile file)")
                continue
            }
            let path = Self.resolve(text, relativeTo: file)
            if let first = listed[path] {
                report(item, "\(quote(text)) is already listed (\(first.path) at line \(first.line))")
                continue
            }
            listed[path] = FirstUse(path: item.path, line: item.node.line)
            loadProfileFile(path, listedAt: item)
        }
    }

    /// The YAML of a file this configuration names (`what`: "device profile file"), or nil
    /// after reporting at `item` why it cannot be read.
    func loadIncludedFile(_ path: String, what: String, listedAt item: Field) -> YAMLLoadResult? {
        let bytes: [UInt8]
        do throws(SystemError) {
            bytes = try readFile(path, limit: YAMLLoader.maximumSize)
        } catch {
            report(item, error.errno == .fileTooLarge
                ? "cannot read \(what) \(path): it is larger than the 1 MiB limit; a profile is a few KiB, so check that this is the right file"
                : "cannot read \(what): \(error.description)")
            return nil
        }
        includedFiles.append(path)
        return YAMLLoader.load(bytes, file: path)
    }

    func loadProfileFile(_ path: String, listedAt item: Field) {
        guard let loaded = loadIncludedFile(path, what: "device profile file", listedAt: item) else { return }
        record(loaded.errors)
        guard loaded.isComplete else { return }
        let decoder = YAMLFieldReader(file: path)
        let decoded = decoder.decodeProfile(loaded.root)
        record(decoder.errors)
        var usable = loaded.errors.isEmpty && decoder.errors.isEmpty
        if let name = decoded.name {
            if let first = profileNameUses[name.text] {
                report(line: name.line, column: name.column, path: "name",
                       file: path, "duplicate profile name \(quote(name.text)) (\(first.path) at line \(first.line) already uses it); "
                        + "profile names must be unique")
                usable = false
            } else {
                profileNameUses[name.text] = FirstUse(path: path, line: name.line)
            }
        }
        if usable, let profile = decoded.profile {
            profiles.append(profile)
        } else if let name = decoded.name {
            brokenProfileNames.append(name.text)
        }
    }

    // MARK: The board

    /// A configuration's `board: PATH` (relative to its directory, or absolute): the board's
    /// problems are reported against the board's file, like device profile files'.
    func decodeBoardFile(_ field: Field) {
        guard let path = pathSetting(field, what: "board profile (such as /usr/share/bedside-gateway/boards/raspberry-pi-4.yaml)"),
              let loaded = loadIncludedFile(path, what: "board profile", listedAt: field)
        else { return }
        record(loaded.errors)
        guard loaded.isComplete else { return }
        let decoder = YAMLFieldReader(file: path)
        let decoded = decoder.decodeBoard(loaded.root)
        record(decoder.errors)
        guard loaded.errors.isEmpty, let decoded else { return }
        board = decoded
        boardFile = path
    }
}
