import Foundation

/// A test CA (EC P-256, two days), a broker certificate for 127.0.0.1 and a client
/// certificate (a box, or a box's bridge), made by Debian's openssl.
public struct TestCertificates {
    public let caFile: String
    public let serverCertificate: String
    public let serverKey: String
    public let clientCertificate: String
    public let clientKey: String

    public init(directory: URL) throws {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        caFile = path("ca.crt")
        serverCertificate = path("server.crt")
        serverKey = path("server.key")
        clientCertificate = path("client.crt")
        clientKey = path("client.key")
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let steps: [[String]] = [
            ["openssl", "req", "-x509"] + key + ["-keyout", path("ca.key"), "-out", caFile, "-days", "2", "-subj", "/CN=test-central-ca"],
            ["openssl", "req"] + key + ["-keyout", serverKey, "-out", path("server.csr"), "-subj", "/CN=127.0.0.1"],
            ["openssl", "x509", "-req", "-in", path("server.csr"), "-CA", caFile, "-CAkey", path("ca.key"), "-CAcreateserial",
             "-out", serverCertificate, "-days", "2", "-extfile", path("server.ext")],
            ["openssl", "req"] + key + ["-keyout", clientKey, "-out", path("client.csr"), "-subj", "/CN=bedside-clinic-a-edge-01"],
            ["openssl", "x509", "-req", "-in", path("client.csr"), "-CA", caFile, "-CAkey", path("ca.key"), "-CAcreateserial",
             "-out", clientCertificate, "-days", "2"],
        ]
        for step in steps {
            let result = try runToCompletion(step, timeout: 60)
            guard result.status == 0 else { throw TestFailure("\(step.joined(separator: " ")): \(result.output)") }
        }
        // Test keys only: readable by the mosquitto user the broker drops to when started as root.
        for file in [serverKey, clientKey] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        }
    }
}
