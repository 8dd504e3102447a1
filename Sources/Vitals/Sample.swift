import RegisterMaps

/// How far a sample can be trusted; charting systems show anything but `ok` differently.
public enum Quality: String, Sendable {
    case ok
    case stale
    case outOfRange = "out-of-range"
    case commLoss = "comm-loss"
    case sensorOff = "sensor-off"
}

/// One decoded value of one point, as read from one device.
public struct Sample: Sendable {
    public var point: Point
    public var deviceID: String
    /// nil when the device did not answer.
    public var value: Double?
    public var quality: Quality
    public var wallClockMilliseconds: Int64
    public var monotonicNanoseconds: Int64

    public init(point: Point, deviceID: String, value: Double?, quality: Quality,
                wallClockMilliseconds: Int64, monotonicNanoseconds: Int64) {
        self.point = point
        self.deviceID = deviceID
        self.value = value
        self.quality = quality
        self.wallClockMilliseconds = wallClockMilliseconds
        self.monotonicNanoseconds = monotonicNanoseconds
    }
}
