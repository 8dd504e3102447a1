import Charting
import Config
import HL7
import MLLP
import Platform

/// Every chart row as IHE PCD-01 to the charting system of `charting.hl7`, through the MLLP
/// link's own disk queue. Charting is no alarm path: a link that does not deliver shows in
/// /readyz (`chart-forward`) and /metrics for IT, and raises no technical alarm at the bedside.
final class ChartForwarder {
    let link: MLLPLink
    /// Per bed, in the configuration's order (the publisher's bed index).
    private let encoders: [PCD01Encoder]
    private var delivery = LinkDeliveryWatch()

    init(config: GatewayConfig, settings: HL7ForwardSettings) throws(AgentError) {
        link = try MLLPLink.forwarding(settings, name: "charting", purpose: "chart forwarding")
        let sender = settings.sender(config: config)
        encoders = config.beds.map { bed in
            PCD01Encoder(sender: sender, location: settings.location(of: bed), site: config.site, box: config.box,
                         reportsMinimumAndMaximum: settings.reportsMinimumAndMaximum)
        }
    }

    func start() throws(AgentError) { try link.startForwarding(purpose: "chart forwarding") }

    func stop() { link.stop() }

    /// Encodes and hands over; the link thread stores and sends it.
    func forward(_ row: ChartRow, bed: Int) {
        link.send(Array(encoders[bed].encode(row).utf8))
    }

    /// Brings `failing` up to date at `now`.
    func watchDelivery(nowMilliseconds now: Int64) { _ = delivery.change(link: link, nowMilliseconds: now) }

    /// Whether the link has failed for a whole ACK timeout.
    var failing: Bool { delivery.failing }
}
