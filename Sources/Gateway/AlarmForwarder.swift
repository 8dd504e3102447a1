import Acquisition
import Alarms
import Config
import HL7
import MLLP
import Platform
import RegisterMaps

/// Every alarm event as IHE PCD-04 to the alert manager of `alarms.forward.hl7`, through the
/// MLLP link's own disk queue. The buzzer stays the primary alarm: the forwarder only adds a
/// copy, and a link that does not deliver raises a low technical alarm on every bed
/// (`agent-alarm-forward-down`) once it has failed for a whole ACK timeout, never silencing anything.
final class AlarmForwarder {
    let link: MLLPLink
    private let encoder: PCD04Encoder
    /// Per bed: the value a point-related condition concerns, by point name.
    private let points: [String: [String: AlarmSource]]
    private let limitPoints: [String: [String: String]]
    private var delivery = LinkDeliveryWatch()

    init(config: GatewayConfig, settings: HL7ForwardSettings) throws(AgentError) {
        link = try MLLPLink.forwarding(settings, name: "alarms", purpose: "alarm forwarding")
        var locations: [String: BedLocation] = [:]
        var points: [String: [String: AlarmSource]] = [:]
        var limitPoints: [String: [String: String]] = [:]
        for bed in config.beds {
            locations[bed.id] = settings.location(of: bed)
            var sources: [String: AlarmSource] = [:]
            for device in bed.devices {
                guard let profile = config.profile(named: device.profile) else { continue }
                for point in profile.points where sources[point.name] == nil {
                    sources[point.name] = AlarmSource(device: device.id, point: point.name, term: MDCTerm(point.mdcCode, point.mdcName),
                                                      equipment: EUI64(site: config.site, box: config.box, device: device.id))
                }
            }
            points[bed.id] = sources
            var rules: [String: String] = [:]
            for rule in bed.alarms.limits { rules[rule.condition] = rule.point }
            limitPoints[bed.id] = rules
        }
        encoder = PCD04Encoder(sender: settings.sender(config: config), locations: locations)
        self.points = points
        self.limitPoints = limitPoints
    }

    func start() throws(AgentError) { try link.startForwarding(purpose: "alarm forwarding") }

    func stop() { link.stop() }

    /// Encodes and hands over; the link thread stores and sends it.
    func forward(_ event: AlarmEvent) {
        let message = encoder.encode(event, source: source(of: event))
        link.send(Array(message.utf8))
    }

    /// The point an event's condition concerns: a limit rule's point, or the point named in a
    /// technical condition ("sensor-off-<point>", "out-of-range-<point>"); nil for device and agent faults.
    func source(of event: AlarmEvent) -> AlarmSource? {
        var point = limitPoints[event.bed]?[event.condition]
        for prefix in ["sensor-off-", "out-of-range-"] where point == nil && event.condition.hasPrefix(prefix) {
            point = String(event.condition.dropFirst(prefix.count))
        }
        guard let point else { return nil }
        return points[event.bed]?[point]
    }

    /// Whether the forwarding fault should now be raised (true) or ended (false); nil when nothing changes.
    func faultChange(nowMilliseconds now: Int64) -> Bool? { delivery.change(link: link, nowMilliseconds: now) }

    var faultRaised: Bool { delivery.failing }
}

/// Whether an MLLP link has stopped delivering for at least one ACK timeout: messages wait and
/// the link reports a problem (no connection, no ACK, AE), or the link cannot reach its receiver
/// even with nothing to send (so a vanished alert manager shows before the next alarm). Shorter
/// hiccups are no fault, and neither is a refused (AR) message once nothing waits.
struct LinkDeliveryWatch {
    private var failingSinceMilliseconds: Int64? = nil
    private(set) var failing = false

    /// true when the link has just become failing, false when it has just recovered, nil otherwise.
    mutating func change(link: MLLPLink, nowMilliseconds now: Int64) -> Bool? {
        let figures = link.currentFigures
        if !figures.problem.isEmpty && (figures.pending > 0 || !figures.connected) {
            if failingSinceMilliseconds == nil { failingSinceMilliseconds = now }
        } else {
            failingSinceMilliseconds = nil
        }
        let nowFailing = failingSinceMilliseconds.map { now - $0 >= Int64(link.settings.ackTimeoutMilliseconds) } ?? false
        guard nowFailing != failing else { return nil }
        failing = nowFailing
        return nowFailing
    }
}

extension HL7ForwardSettings {
    /// MSH-3 to MSH-6 of every message on this link.
    func sender(config: GatewayConfig) -> HL7Sender {
        HL7Sender(facility: facility, box: EUI64(site: config.site, box: config.box, device: ""),
                  receivingApplication: receivingApplication, receivingFacility: receivingFacility)
    }

    /// PV1-3 of the bed's messages: its configured location, with this link's facility where it names none.
    func location(of bed: BedConfig) -> BedLocation {
        var location = bed.location
        if location.facility.isEmpty { location.facility = facility }
        return location
    }
}

extension MLLPLink {
    /// A forwarder's link; `purpose` ("alarm forwarding") names it in errors.
    static func forwarding(_ settings: HL7ForwardSettings, name: String, purpose: String) throws(AgentError) -> MLLPLink {
        do throws(SystemError) { return try MLLPLink(settings: settings.link, name: name) } catch {
            throw AgentError(description: "\(purpose) to \(settings.link.address): \(error.description)")
        }
    }

    func startForwarding(purpose: String) throws(AgentError) {
        do throws(SystemError) { try start() } catch {
            throw AgentError(description: "cannot start the \(purpose) thread: \(error.description)")
        }
    }
}
