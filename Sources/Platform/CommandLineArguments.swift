/// A cursor over the arguments with the checks every subcommand needs. The first problem
/// is kept so the caller reports it once.
public struct CommandLineArguments {
    private var remaining: [String]
    public private(set) var problem: String?
    /// The program's name in messages, e.g. "bedside-gateway".
    public let program: String

    public init(program: String, _ arguments: ArraySlice<String>) {
        self.program = program
        remaining = Array(arguments)
    }

    public mutating func next() -> String? {
        remaining.isEmpty ? nil : remaining.removeFirst()
    }

    public mutating func value(for option: String) -> String? {
        guard let value = next() else {
            if problem == nil { problem = "\(option) needs a value" }
            return nil
        }
        return value
    }

    public mutating func integer(for option: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = value(for: option) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            if problem == nil { problem = "\(option) must be a whole number in \(range.lowerBound)...\(range.upperBound), not '\(text)'" }
            return nil
        }
        return number
    }

    public func fail(_ message: String) -> Int32 {
        printError("\(program): \(message) (see '\(program) --help')")
        return 2
    }
}
