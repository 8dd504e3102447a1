import CShims

/// The terminal a program's output goes to, for the few programs that draw on it.
public enum Terminal {
    /// Whether `descriptor` is a terminal (not a pipe or a file).
    public static func isTerminal(_ descriptor: Int32) -> Bool { isatty(descriptor) == 1 }

    /// The terminal's rows and columns, nil when `descriptor` is not a terminal or it says 0.
    public static func size(_ descriptor: Int32) -> (rows: Int, columns: Int)? {
        var rows: Int32 = 0
        var columns: Int32 = 0
        guard bedside_terminal_size(descriptor, &rows, &columns) == 0, rows > 0, columns > 0 else { return nil }
        return (Int(rows), Int(columns))
    }

    /// SIGWINCH signals `wakeUp` (nil restores the default, before the counter goes away).
    public static func wakeOnResize(_ wakeUp: WakeUp?) { bedside_install_resize_handler(wakeUp?.descriptor ?? -1) }

    /// Whether the window changed size since the last call.
    public static func takeResize() -> Bool { bedside_take_resize() != 0 }

    /// Writes `text` whole to `descriptor`; a terminal that went away cannot be told.
    public static func write(_ text: String, to descriptor: Int32 = 1) {
        _ = try? writeAll(Array(text.utf8), to: descriptor, "the terminal")
    }
}
