import StoreAndForward

/// One MLLP receiver (an interface engine, an alert manager) and how the link treats it.
public struct MLLPSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// How long a sent message waits for its ACK before the connection is dropped and the
    /// message sent again on a new one.
    public var ackTimeoutMilliseconds: Int
    public var connectTimeoutMilliseconds: Int
    /// Backoff between connection attempts: doubles from the first to the longest.
    public var reconnectFirstMilliseconds: Int
    public var reconnectLongestMilliseconds: Int
    /// An AE/CE (the receiver could not process it this time) is sent again after this long,
    /// up to `errorAttempts` times in all; then it is set aside as an AR would be, so that one
    /// message the receiver keeps failing on does not hold back every message after it.
    public var errorRetryMilliseconds: Int
    public var errorAttempts: Int
    /// The link's own disk queue (a directory of its own, never the MQTT queue's).
    public var queue: QueueSettings

    public init(host: String, port: Int, ackTimeoutMilliseconds: Int = 10_000, connectTimeoutMilliseconds: Int = 5_000,
                reconnectFirstMilliseconds: Int = 1_000, reconnectLongestMilliseconds: Int = 30_000,
                errorRetryMilliseconds: Int = 10_000, errorAttempts: Int = 3, queue: QueueSettings) {
        self.host = host
        self.port = port
        self.ackTimeoutMilliseconds = ackTimeoutMilliseconds
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.reconnectFirstMilliseconds = reconnectFirstMilliseconds
        self.reconnectLongestMilliseconds = reconnectLongestMilliseconds
        self.errorRetryMilliseconds = errorRetryMilliseconds
        self.errorAttempts = errorAttempts
        self.queue = queue
    }

    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// What the link has done since the start, for /metrics and /readyz.
public struct MLLPFigures: Sendable, Equatable {
    public var connected = false
    /// Messages handed over and stored, waiting for their ACK.
    public var pending = 0
    public var handedOver: UInt64 = 0
    public var sent: UInt64 = 0
    public var accepted: UInt64 = 0
    /// AE / CE replies, each counted (a message may get several).
    public var errors: UInt64 = 0
    /// AR / CR replies, and messages given up after `errorAttempts` AE/CE.
    public var rejected: UInt64 = 0
    public var ackTimeouts: UInt64 = 0
    /// ACKs naming another message's control id, and frames that are no ACK at all.
    public var foreignAcks: UInt64 = 0
    public var unreadableFrames: UInt64 = 0
    public var discardedBytes: UInt64 = 0
    public var connects: UInt64 = 0
    /// Idle connections the receiver closed (no problem: the link reconnects).
    public var idleCloses: UInt64 = 0
    public var connectFailures: UInt64 = 0
    /// Messages the queue could not keep (full disk, size bound) or lost as unreadable.
    public var dropped: UInt64 = 0
    /// When the last message was accepted (monotonic ms); nil before the first.
    public var lastAcceptedMonotonicMilliseconds: Int64? = nil
    /// Why the link is not delivering, empty while it is.
    public var problem = ""
    /// Why the link's queue could not be opened: messages are then kept in memory only.
    public var queueUnavailable: String? = nil

    public init() {}
}
