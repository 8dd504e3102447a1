import FuzzSupport
import Profiles

// A board profile (Boards/<id>.yaml). Its `board:` id must match the file's name, so the
// name given to the parser is the id the text claims (the mismatch is fuzzed too: a text
// without one gets another name).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzBoardProfile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    var name = "fuzz"
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) where line.hasPrefix("board:") {
        name = line.dropFirst(6).trimmingPrefix(" ").split(separator: " ").first.map(String.init) ?? name
        break
    }
    guard let board = try? ProfileLoader.parseBoard(text: text, file: "Boards/\(name).yaml") else { return 0 }
    fuzzRequire(board.id == name, "board \(board.id) accepted from a file named \(name).yaml")
    return 0
}

runFuzzTarget(fuzzBoardProfile)
