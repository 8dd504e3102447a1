import CShims

/// Who may open the view: the users of its users file, each with the password its hash was
/// made from. The hash check is injected, so the decision is tested without libcrypt.
public struct ViewAccess: Sendable {
    public let users: [ViewUser]
    /// A hash of the same kind as the users', checked for an unknown name so that a reply
    /// takes as long whether the name exists or not.
    private let decoy: String

    public init(users: [ViewUser]) {
        self.users = users
        decoy = users.first?.hash ?? "$6$decoy$"
    }

    /// Whether `password` is the password of `user`. Every request checks, each with one hash
    /// computation, whether the name is known or not.
    public func allows(user: String, password: String, verify: (_ password: String, _ hash: String) -> Bool) -> Bool {
        guard let known = users.first(where: { $0.name == user }) else {
            _ = verify(password, decoy)
            return false
        }
        return verify(password, known.hash)
    }
}

/// libc's crypt (libxcrypt): hashes `password` with the scheme and salt of `hash` and compares.
public enum PasswordHash {
    public static func matches(password: String, hash: String) -> Bool {
        let size = MemoryLayout<crypt_data>.size
        let data = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        // crypt_rn wants the area zeroed before its first use; it holds the password afterwards.
        memset(data, 0, size)
        defer {
            memset(data, 0, size)
            data.deallocate()
        }
        guard let result = crypt_rn(password, hash, data, Int32(size)) else { return false }
        // A failed crypt returns a string starting with '*'; it never equals a valid hash.
        let computed = String(cString: result)
        return constantTimeEqual(Array(computed.utf8), Array(hash.utf8))
    }

    /// Equal bytes, in a time that does not depend on where they first differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
