/// How far a sample can be trusted; charting systems show anything but `ok` differently.
public enum Quality: String, Sendable {
    case ok
    case stale
    case outOfRange = "out-of-range"
    case commLoss = "comm-loss"
    case sensorOff = "sensor-off"
}
