import FuzzSupport
import HL7

// What an MLLP receiver sends back: a byte stream cut into frames, each frame read as an ACK.
// Properties: the frames do not depend on how the stream is split into reads; no frame holds
// a start or end block or is over the bound; every frame the stream held intact comes out
// when framed again; an ACK that parses, and a message's MSH-10 read back, has a non-empty control id.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzMLLPAck(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzInput(data, size)
    var whole = MLLPFrameDecoder(maximumFrameBytes: 256)
    let frames = whole.push(input)
    var pieces = MLLPFrameDecoder(maximumFrameBytes: 256)
    let cut = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
    let split = pieces.push(Array(input[..<cut])) + pieces.push(Array(input[cut...]))
    fuzzRequire(frames == split, "frames depend on where the stream was cut (\(cut))")
    fuzzRequire(whole.discardedBytes == pieces.discardedBytes, "discarded bytes depend on the cut")
    for frame in frames {
        fuzzRequire(frame.count <= 256, "a frame of \(frame.count) bytes passed the 256-byte bound")
        fuzzRequire(!frame.contains(MLLP.startBlock) && !frame.contains(MLLP.endBlock), "a frame holds a block byte")
        var again = MLLPFrameDecoder(maximumFrameBytes: 256)
        fuzzRequire(again.push(MLLP.frame(frame)) == [frame], "a decoded frame does not survive framing again")
        if let ack = try? parseHL7Acknowledgement(frame) {
            fuzzRequire(!ack.controlID.isEmpty, "an ACK with an empty control id was accepted")
            fuzzRequire(HL7AckCode(code: ack.code.code) == ack.code, "ACK code \(ack.code.code) does not read back")
        }
    }
    _ = try? parseHL7Acknowledgement(input)
    if let controlID = hl7ControlID(input) { fuzzRequire(!controlID.isEmpty, "an empty MSH-10 was read as a control id") }
    return 0
}

runFuzzTarget(fuzzMLLPAck) {
    [
        MLLP.frame(Array("MSH|^~\\&|R||||20261124||ACK^R01^ACK|1|P|2.6\rMSA|AA|chair-1-A42\r".utf8)),
        MLLP.frame(Array("MSH|^~\\&|R\rMSA|AE|chair-1-A43|disk \\F\\ full\rERR|||207^internal^HL70357|E||||why\r".utf8)),
        Array("garbage".utf8) + [0x0B] + Array("MSH|^~\\&|R\rMSA|AR|x".utf8) + MLLP.frame(Array("MSH#*~\\&\rMSA#CA#7\r".utf8)),
    ]
}
