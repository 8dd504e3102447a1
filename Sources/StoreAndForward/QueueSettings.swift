/// When appended records are forced to the storage device. A killed process loses nothing
/// either way (the data is in the kernel); only a power loss can take unsynced records.
public enum QueueFsync: Sendable, Equatable {
    /// fdatasync after every append: nothing accepted is lost, at one flash write per message.
    case always
    /// fdatasync from `maintenance(now:)` once this long has passed with unsynced data: power
    /// loss costs at most that much.
    case interval(milliseconds: Int)
    /// Left to the kernel's writeback (about 30 s on Linux).
    case never
}

/// The store-and-forward queue on disk.
public struct QueueSettings: Sendable, Equatable {
    public var directory: String
    /// Bound on all segment files together; beyond it the oldest segment is dropped whole.
    public var maximumBytes: Int
    /// A new segment file starts when an append would make the newest one larger.
    public var segmentBytes: Int
    public var fsync: QueueFsync
    /// How often the delivery checkpoint is written: after a crash, at most this much is delivered twice.
    public var checkpointIntervalMilliseconds: Int

    public static let defaultDirectory = "/var/lib/bedside-gateway/queue"

    public init(directory: String = QueueSettings.defaultDirectory, maximumBytes: Int = 64 << 20,
                segmentBytes: Int = 1 << 20, fsync: QueueFsync = .interval(milliseconds: 1000),
                checkpointIntervalMilliseconds: Int = 1000) {
        self.directory = directory
        self.maximumBytes = maximumBytes
        self.segmentBytes = segmentBytes
        self.fsync = fsync
        self.checkpointIntervalMilliseconds = checkpointIntervalMilliseconds
    }
}
