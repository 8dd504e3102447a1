import StoreAndForward
import YAMLReader

/// `queue:`: the store-and-forward queue on disk.
extension ConfigDecoder {
    func decodeQueue(_ field: Field?) -> QueueSettings? {
        let defaults = QueueSettings()
        guard let field, !field.node.isNull else { return defaults }
        guard let queue = mapping(field, expected: "a mapping with the disk queue settings",
                                  allowedKeys: ["directory", "max_mb", "segment_kb", "fsync", "fsync_interval_ms"])
        else { return nil }
        var directory: String? = defaults.directory
        if let directoryField = queue.optional("directory") {
            directory = string(directoryField, expected: "a directory path").flatMap { text in
                if text.isEmpty || Self.firstSpaceOrControl(text) != nil {
                    report(directoryField, "invalid directory \(quote(text)): expected a path without spaces")
                    return nil
                }
                return Self.resolve(text, relativeTo: file)
            }
        }
        let megabytes = optionalInteger(queue, "max_mb", in: 1...1_000_000, default: defaults.maximumBytes >> 20)
        let kilobytes = optionalInteger(queue, "segment_kb", in: 16...65536, default: defaults.segmentBytes >> 10)
        var policy: String? = "interval"
        if let policyField = queue.optional("fsync") {
            policy = choice(policyField, ["always", "interval", "never"], what: "fsync policy", defaultHint: "interval")
        }
        let interval = optionalInteger(queue, "fsync_interval_ms", in: 10...60000, default: 1000)
        if let intervalField = queue.optional("fsync_interval_ms"), let policy, policy != "interval" {
            report(intervalField, "fsync_interval_ms applies only with 'fsync: interval' (fsync is \(quote(policy)))")
            return nil
        }
        guard let directory, let megabytes, let kilobytes, let policy, let interval else { return nil }
        if kilobytes > megabytes * 1024 / 2, let sizeField = queue.optional("segment_kb") ?? queue.optional("max_mb") {
            report(sizeField, "segment_kb (\(kilobytes)) must be at most half of max_mb (\(megabytes) MiB), "
                + "so that dropping the oldest segment frees room without emptying the queue")
            return nil
        }
        let fsync: QueueFsync = policy == "always" ? .always : policy == "never" ? .never : .interval(milliseconds: interval)
        return QueueSettings(directory: directory, maximumBytes: megabytes << 20, segmentBytes: kilobytes << 10, fsync: fsync)
    }

}
