/// How the agent reaches its broker: what the MQTT client runs with.
public struct MQTTSettings: Sendable {
    public var host: String
    public var port: Int
    public var clientID: String
    public var keepaliveSeconds: Int
    /// Topics are "<topicPrefix>/beds/<bed>/vitals"; defaults to "bedside/<site>/<box>".
    public var topicPrefix: String
    /// How long the broker keeps this client's session (subscriptions, queued commands) after
    /// the connection drops; MQTT 5 only (3.1.1 brokers keep it by their own rules).
    public var sessionExpirySeconds: Int
    /// Read from a credentials file, never written in the configuration itself.
    public var credentials: MQTTCredentials?
    public var tls: MQTTTLSOptions?

    public init(host: String, port: Int, clientID: String, keepaliveSeconds: Int, topicPrefix: String,
                sessionExpirySeconds: Int = 3600, credentials: MQTTCredentials? = nil, tls: MQTTTLSOptions? = nil) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.keepaliveSeconds = keepaliveSeconds
        self.topicPrefix = topicPrefix
        self.sessionExpirySeconds = sessionExpirySeconds
        self.credentials = credentials
        self.tls = tls
    }
}

public struct MQTTCredentials: Sendable, Equatable {
    public var username: String
    public var password: String
    /// Where they came from, for messages (never the password itself).
    public var file: String

    public init(username: String, password: String, file: String) {
        self.username = username
        self.password = password
        self.file = file
    }
}
