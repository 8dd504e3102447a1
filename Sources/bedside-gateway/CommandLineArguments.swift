import Platform

/// A cursor over the arguments with the checks every subcommand needs. The first problem
/// is kept so the caller reports it once.
struct CommandLineArguments {
    private var remaining: [String]
    private(set) var problem: String?

    init(_ arguments: ArraySlice<String>) { remaining = Array(arguments) }

    mutating func next() -> String? {
        remaining.isEmpty ? nil : remaining.removeFirst()
    }

    mutating func value(for option: String) -> String? {
        guard let value = next() else {
            if problem == nil { problem = "\(option) needs a value" }
            return nil
        }
        return value
    }

    mutating func integer(for option: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = value(for: option) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            if problem == nil { problem = "\(option) must be a whole number in \(range.lowerBound)...\(range.upperBound), not '\(text)'" }
            return nil
        }
        return number
    }

    func fail(_ message: String) -> Int32 {
        printError("bedside-gateway: \(message) (see 'bedside-gateway help')")
        return 2
    }
}
