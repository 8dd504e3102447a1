/// One RS-232/RS-485 serial line as libmodbus opens it.
public struct SerialLineSettings: Sendable, Equatable {
    /// e.g. "/dev/ttyAMA0", "/dev/ttyUSB0".
    public var device: String
    public var baud: Int
    public var parity: SerialParity
    public var dataBits: Int
    public var stopBits: Int
    /// Drive the RS-485 transceiver's direction with RTS (boards without automatic direction control).
    public var rs485RTS: Bool
    /// Delay between raising RTS and sending, in microseconds (libmodbus's RTS delay).
    public var rtsDelayMicroseconds: Int

    /// Baud rates a serial line may be set to.
    public static let standardBaudRates = [1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200,
                                            230_400, 460_800, 921_600]

    public init(device: String, baud: Int = 19_200, parity: SerialParity = .even, dataBits: Int = 8,
                stopBits: Int = 1, rs485RTS: Bool = false, rtsDelayMicroseconds: Int = 0) {
        self.device = device
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
        self.rs485RTS = rs485RTS
        self.rtsDelayMicroseconds = rtsDelayMicroseconds
    }
}
