import FuzzSupport
import Platform

// RFC 3339 UTC timestamps (`parseUTCTimestamp`, used for a command's issue time): any text is
// refused or read, never a trap; whatever is read formats back to a time that reads the same.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzTimestamp(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    guard let milliseconds = parseUTCTimestamp(text) else { return 0 }
    let formatted = formatUTCTimestamp(millisecondsSinceEpoch: milliseconds)
    let again = parseUTCTimestamp(formatted)
    fuzzRequire(again == milliseconds, "\(text) reads as \(milliseconds), formats as \(formatted), which reads as \(String(describing: again))")
    return 0
}

runFuzzTarget(fuzzTimestamp, seeds: {
    ["2026-12-03T13:16:13Z", "2026-12-03T13:16:13.250Z", "2024-02-29T23:59:60.123456789Z", "1970-01-01T00:00:00Z"].map { Array($0.utf8) }
})
