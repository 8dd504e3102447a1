#if canImport(Glibc)
import Glibc
#endif

/// The function libFuzzer calls with each input: bytes and their count; returns 0.
public typealias FuzzEntry = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

// libFuzzer's own entry when `main` is the program's (SwiftPM links an executable with
// `--defsym main=<Module>_main`, so libFuzzer's `main` never runs and the target calls this).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                 _ entry: FuzzEntry) -> Int32

/// The input libFuzzer handed over, copied into an array (the agent's parsers take arrays).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Starts a fuzz target. `--write-seeds DIR` writes the target's built-in seeds (inputs its
/// encoders produce, which a file in the repository cannot give) into DIR and exits; any
/// other arguments go to libFuzzer.
public func runFuzzTarget(_ entry: FuzzEntry, seeds: () -> [[UInt8]] = { [] }) -> Never {
    let arguments = CommandLine.arguments
    if arguments.count == 3 && arguments[1] == "--write-seeds" {
        let directory = arguments[2]
        for (index, seed) in seeds().enumerated() {
            let name = index < 10 ? "builtin-00\(index)" : index < 100 ? "builtin-0\(index)" : "builtin-\(index)"
            if !writeFile(directory + "/" + name, seed) {
                _ = "cannot write \(directory)/\(name)\n".withCString { fputs($0, stderr) }
                exit(2)
            }
        }
        exit(0)
    }
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, entry))
}

/// A property of the code under test: when it does not hold, the input is a finding
/// (libFuzzer records the crash and writes the input as its reproducer).
public func fuzzRequire(_ condition: Bool, _ message: @autoclosure () -> String,
                        file: StaticString = #fileID, line: UInt = #line) {
    if condition { return }
    let text = "property violated at \(file):\(line): \(message())\n"
    _ = text.withCString { fputs($0, stderr) }
    abort()
}

/// Writes `bytes` to `path`, replacing it; false when it cannot be written.
@discardableResult
public func writeFile(_ path: String, _ bytes: [UInt8]) -> Bool {
    guard let file = fopen(path, "wb") else { return false }
    var written = true
    if !bytes.isEmpty { written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) } == bytes.count }
    return fclose(file) == 0 && written
}

/// Takes an input apart field by field, for targets whose input is more than one thing
/// (a directory of files, a sequence of operations). Past the end it yields zeros and empty
/// slices, so every input is a valid program.
public struct FuzzBytes {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { offset >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func uint16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }

    public mutating func uint64() -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
        return value
    }

    /// The next `count` bytes, or fewer at the end.
    public mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, offset + max(0, count))
        defer { offset = end }
        return offset < end ? Array(bytes[offset..<end]) : []
    }

    /// A length-prefixed part (one length byte, or two when the first is 0xFF).
    public mutating func part() -> [UInt8] {
        var length = Int(byte())
        if length == 0xFF { length = Int(uint16()) }
        return take(length)
    }

    public mutating func rest() -> [UInt8] { take(bytes.count - offset) }
}
