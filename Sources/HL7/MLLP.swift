/// MLLP (the HL7 minimal lower layer protocol): a message travels as
/// 0x0B, the message's bytes, 0x1C 0x0D.
public enum MLLP {
    public static let startBlock: UInt8 = 0x0B
    public static let endBlock: UInt8 = 0x1C
    public static let carriageReturn: UInt8 = 0x0D

    /// `message` framed for the wire. The message must not contain 0x0B or 0x1C, which
    /// `hl7Escaped` guarantees for every text the agent puts into a field.
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(message.count + 3)
        bytes.append(startBlock)
        bytes.append(contentsOf: message)
        bytes.append(endBlock)
        bytes.append(carriageReturn)
        return bytes
    }
}

/// Takes a byte stream as it arrives (in pieces of any size) and gives back each complete
/// frame's content. What is not a frame is skipped and counted, never a reason to stop:
/// bytes before a start block, a frame cut short by a new start block, a frame longer than
/// `maximumFrameBytes`, an end block not followed by a carriage return.
public struct MLLPFrameDecoder: Sendable {
    public let maximumFrameBytes: Int
    /// Bytes skipped outside a frame, or thrown away with a frame that was never completed.
    public private(set) var discardedBytes = 0
    /// Frames given up: cut short, too long, or badly ended.
    public private(set) var discardedFrames = 0

    private enum State: Sendable { case outside, inside, afterEndBlock }
    private var state = State.outside
    private var frame: [UInt8] = []
    private var oversized = false

    public init(maximumFrameBytes: Int = 1 << 20) {
        self.maximumFrameBytes = maximumFrameBytes
    }

    /// True while a frame has started and not ended (a half frame waits for the rest).
    public var isInsideFrame: Bool { state != .outside }

    /// Feeds `bytes`; returns the frames they completed, in order.
    public mutating func push(_ bytes: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for byte in bytes {
            if let complete = push(byte) { frames.append(complete) }
        }
        return frames
    }

    /// Feeds one byte; returns a frame when this byte completed one.
    public mutating func push(_ byte: UInt8) -> [UInt8]? {
        switch state {
        case .outside:
            if byte == MLLP.startBlock { begin() } else { discardedBytes += 1 }
            return nil
        case .inside:
            if byte == MLLP.endBlock {
                state = .afterEndBlock
            } else if byte == MLLP.startBlock {
                abandon()
                begin()
            } else if frame.count >= maximumFrameBytes {
                oversized = true
                discardedBytes += 1
            } else {
                frame.append(byte)
            }
            return nil
        case .afterEndBlock:
            if byte == MLLP.carriageReturn {
                state = .outside
                if oversized {
                    abandon()
                    state = .outside
                    return nil
                }
                let complete = frame
                frame = []
                return complete
            }
            abandon()
            if byte == MLLP.startBlock { begin() } else { discardedBytes += 1 }
            return nil
        }
    }

    private mutating func begin() {
        state = .inside
        frame.removeAll(keepingCapacity: true)
        oversized = false
    }

    private mutating func abandon() {
        discardedBytes += frame.count
        discardedFrames += 1
        frame.removeAll(keepingCapacity: true)
        oversized = false
        state = .outside
    }
}
