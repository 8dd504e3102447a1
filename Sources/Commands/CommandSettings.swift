public struct CommandSettings: Sendable, Equatable {
    /// Who may send which command; without it every command is refused.
    public var tokensFile: String?

    public init(tokensFile: String? = nil) { self.tokensFile = tokensFile }
}
