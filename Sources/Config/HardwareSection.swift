import Profiles
import YAMLReader

/// `hardware:`: the section itself is decoded by Profiles (board profiles carry the same one);
/// a configuration starts it from its board's.
extension ConfigDecoder {
    /// The base of a configuration's `hardware:`: the board's, when `board:` names one.
    func hardwareBase() -> HardwareBase {
        guard let board, let boardFile else { return HardwareBase() }
        return HardwareBase(settings: board.hardware, origin: "board \(quote(board.id)) (\(boardFile))", chips: board.gpioChips,
                            watchdogTimeouts: board.watchdogTimeouts)
    }
}
