public struct CommandSettings: Sendable, Equatable {
    public static let defaultMaximumAgeSeconds = 30
    /// `commands.max_age_s` accepts 1 to this many seconds.
    public static let largestMaximumAgeSeconds = 600

    /// Who may send which command; without it every command is refused.
    public var tokensFile: String?
    /// A command issued longer ago than this is refused as stale (`commands.max_age_s`).
    public var maximumAgeSeconds: Int

    public init(tokensFile: String? = nil, maximumAgeSeconds: Int = CommandSettings.defaultMaximumAgeSeconds) {
        self.tokensFile = tokensFile
        self.maximumAgeSeconds = maximumAgeSeconds
    }
}
