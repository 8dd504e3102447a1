import ClinicView
import Config
import Health
import Platform

/// The clinic view of a running agent: the hub the publisher feeds and the page server that
/// serves `/` and `/events` from it. A view that cannot start does not stop the agent.
final class ClinicViewService {
    let hub: ViewHub
    let settings: ViewSettings
    private(set) var server: PageServer?
    /// When the health summary last went to the open pages.
    private var lastHealth: MonotonicInstant?
    /// How often the open pages get the box's health.
    static let healthIntervalMilliseconds: Int64 = 2000

    init(settings: ViewSettings, layout: ViewLayout) {
        self.settings = settings
        hub = ViewHub(layout: layout)
    }

    /// Reads the certificate and key (if any) and starts listening; logs and returns on failure.
    func start(clock: AgentClock) {
        var certificate: String?
        var key: String?
        if let certificateFile = settings.certificateFile, let keyFile = settings.keyFile {
            do throws(SystemError) {
                certificate = String(decoding: try readFile(certificateFile, limit: 1 << 20), as: UTF8.self)
                key = String(decoding: try readFile(keyFile, limit: 1 << 20), as: UTF8.self)
            } catch {
                log(.error, "cannot read the clinic view's certificate or key: \(error.description); the view is not served")
                return
            }
        }
        let hub = self.hub
        let access = ViewAccess(users: settings.users)
        let authenticate: ((String, String) -> Bool)? = settings.requiresLogin
            ? { user, password in access.allows(user: user, password: password) { PasswordHash.matches(password: $0, hash: $1) } }
            : nil
        let page = Array(ViewPage.html.utf8)
        do throws(PageServerError) {
            let server = try PageServer(settings: PageServer.Settings(address: settings.listenAddress, port: settings.port,
                                                                      certificatePEM: certificate, keyPEM: key),
                                        authenticate: authenticate) { request in
                switch request.path {
                case "/", "/index.html":
                    return .fixed(status: 200, contentType: ViewPage.contentType, body: page)
                case "/events":
                    if request.method == .head { return .fixed(status: 200, contentType: ServerSentEvents.contentType, body: []) }
                    guard let subscription = hub.subscribe(wallClockMilliseconds: clock.wallMilliseconds(), user: request.user) else {
                        return .fixed(status: 503, contentType: HealthResponse.plainText,
                                      body: Array("the view cannot open another stream now (out of file descriptors)\n".utf8))
                    }
                    return .stream(contentType: ServerSentEvents.contentType,
                                   PageStream(read: { subscription.read(into: $0) }, finished: { subscription.cancel() }))
                default:
                    return nil
                }
            }
            self.server = server
            let scheme = server.usesTLS ? "https" : "http"
            let host = settings.listenAddress.contains(":") ? "[\(settings.listenAddress)]" : settings.listenAddress
            log(.info, "clinic view on \(scheme)://\(host):\(server.boundPort)/"
                + (settings.requiresLogin ? " (users of \(settings.usersFile ?? ""))" : " (no users file: this box only)"))
        } catch {
            log(.error, "\(error.description); the clinic view is not served until the agent restarts; sampling, alarms and publishing go on")
        }
    }

    /// Ends the open streams, then the server.
    func stop() {
        hub.close()
        server?.stop()
        server = nil
    }

    /// On the publisher thread: the box's health to the open pages every 2 s (none while no page is open).
    func feedHealth(now: MonotonicInstant, summary: () -> String) {
        guard hub.streams > 0 else { return }
        if let lastHealth, now.milliseconds(since: lastHealth) < ClinicViewService.healthIntervalMilliseconds { return }
        lastHealth = now
        hub.health(json: Array(summary().utf8))
    }
}
