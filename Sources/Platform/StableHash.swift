/// FNV-1a, 64 bits: fixed by its definition, so what is derived from it (description
/// revisions, resource ids, EUI-64s) is the same on every start, toolchain and box, which
/// Swift's own hashing (seeded per process) is not.
public enum StableHash {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    public static func fnv1a64(_ text: String, basis: UInt64 = offsetBasis) -> UInt64 {
        var hash = basis
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The sixteen hexadecimal digits of `value`, most significant first.
    public static func hexadecimal(_ value: UInt64, uppercase: Bool = false) -> String {
        let letters = uppercase ? UInt8(ascii: "A") : UInt8(ascii: "a")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var shift = 60
        while shift >= 0 {
            let digit = UInt8((value >> UInt64(shift)) & 0xF)
            bytes.append(digit < 10 ? UInt8(ascii: "0") + digit : letters + digit - 10)
            shift -= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
