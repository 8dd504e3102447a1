import MQTT
import YAMLReader

/// `mqtt:`: the broker, the client id and the topic prefix; TLS and credentials in TLSAndCredentials.swift.
extension ConfigDecoder {
    func decodeMQTT(_ field: Field, site: String, box: String) -> MQTTSettings? {
        guard let mqtt = mapping(field, expected: "a mapping with the MQTT broker settings",
                                 allowedKeys: ["host", "port", "client_id", "keepalive_s", "topic_prefix",
                                               "session_expiry_s", "credentials_file", "tls"])
        else { return nil }
        let host = required(mqtt, "host").flatMap { self.host($0) }
        let port = optionalInteger(mqtt, "port", in: 1...65535, default: 1883)
        let clientID = optionalString(mqtt, "client_id", default: "bedside-gateway-\(site)-\(box)") { Self.clientIDProblem($0) }
        let keepalive = optionalInteger(mqtt, "keepalive_s", in: 5...3600, default: 30)
        let topicPrefix = optionalString(mqtt, "topic_prefix", default: "bedside/\(site)/\(box)") { Self.topicPrefixProblem($0) }
        // A week: long enough for a box to ride out a weekend's network work.
        let sessionExpiry = optionalInteger(mqtt, "session_expiry_s", in: 0...604_800, default: 3600)
        var credentials: MQTTCredentials?? = .some(nil)
        if let field = mqtt.optional("credentials_file") { credentials = decodeCredentialsFile(field).map { $0 } }
        var tls: MQTTTLSOptions?? = .some(nil)
        if let field = mqtt.optional("tls") { tls = decodeTLS(field).map { $0 } }
        guard let host, let port, let clientID, let keepalive, let topicPrefix, let sessionExpiry,
              let credentials, let tls else { return nil }
        return MQTTSettings(host: host, port: port, clientID: clientID, keepaliveSeconds: keepalive, topicPrefix: topicPrefix,
                            sessionExpirySeconds: sessionExpiry, credentials: credentials, tls: tls)
    }

    /// A board's `realtime:` gives the defaults of `priority` and `cpu`.


    static func clientIDProblem(_ text: String) -> String? {
        let length = text.unicodeScalars.count
        if length < 1 || length > 128 {
            return "invalid client id \(quote(text)) (it is \(length) characters long): use 1 to 128 characters without spaces"
        }
        if let bad = firstSpaceOrControl(text) {
            return "invalid client id \(quote(text)) (contains \(describeCharacter(bad))): use 1 to 128 characters without spaces"
        }
        return nil
    }

    static func topicPrefixProblem(_ text: String) -> String? {
        let reason: String
        if text.isEmpty {
            reason = "it is empty"
        } else if text.utf8.contains(UInt8(ascii: "+")) || text.utf8.contains(UInt8(ascii: "#")) {
            reason = "it contains the MQTT wildcard '+' or '#'"
        } else if text.utf8.first == UInt8(ascii: "/") || text.utf8.last == UInt8(ascii: "/") {
            reason = "it starts or ends with '/'"
        } else if containsEmptyLevel(text) {
            reason = "it has an empty level ('//')"
        } else if let bad = firstControl(text) {
            reason = "it contains \(describeCharacter(bad))"
        } else {
            return nil
        }
        return "invalid topic prefix \(quote(text)) (\(reason)): use levels separated by single '/', like \"bedside/clinic-a/edge-01\""
    }

    static func containsEmptyLevel(_ text: String) -> Bool {
        var previousWasSlash = false
        for byte in text.utf8 {
            let isSlash = byte == UInt8(ascii: "/")
            if isSlash && previousWasSlash { return true }
            previousWasSlash = isSlash
        }
        return false
    }
}
