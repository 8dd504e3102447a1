/// `view:`: the clinic view, a live read-only page of every chair served by the box.
public struct ViewSettings: Sendable, Equatable {
    public static let defaultPort = 8080

    /// 127.0.0.1 whenever there is no users file: an open page must not reach the LAN.
    public var listenAddress: String
    public var port: Int
    /// Where the users came from, for messages.
    public var usersFile: String?
    /// Who may open the page; empty with no users file (then only this box can open it).
    public var users: [ViewUser]
    /// PEM certificate (chain) and unencrypted key for HTTPS; both or neither.
    public var certificateFile: String?
    public var keyFile: String?

    public init(listenAddress: String = "127.0.0.1", port: Int = ViewSettings.defaultPort, usersFile: String? = nil,
                users: [ViewUser] = [], certificateFile: String? = nil, keyFile: String? = nil) {
        self.listenAddress = listenAddress
        self.port = port
        self.usersFile = usersFile
        self.users = users
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// Whether the view answers only to users of its users file.
    public var requiresLogin: Bool { usersFile != nil }
}
