@testable import Commands
import FuzzSupport

// The command tokens file. Property: every sender a file yields is found by its own token,
// and only by it (tokens are unique).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzCommandTokens(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let tokens = try? CommandTokens.parse(fuzzInput(data, size), file: "fuzz-tokens") else { return 0 }
    for sender in tokens.senders {
        fuzzRequire(tokens.sender(presenting: sender.token) == sender, "sender \(sender.name) is not found by its token")
    }
    _ = tokens.sender(presenting: Array("not-a-token-of-anyone-here".utf8))
    return 0
}

runFuzzTarget(fuzzCommandTokens)
