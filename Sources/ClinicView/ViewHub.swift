import JSON
import Platform
import Synchronization
import Vitals

/// What the view shows and how the beds are laid out, fixed for a run.
public struct ViewLayout: Sendable {
    public var site: String
    public var box: String
    public var bedIDs: [String]
    /// Per bed, the names of its description's entries, in entry order.
    public var entryNames: [[String]]
    public var deviceCount: Int
    /// The sampling period: the page calls a bed stale after a few of these without news.
    public var cycleMilliseconds: Int

    public init(site: String, box: String, bedIDs: [String], entryNames: [[String]], deviceCount: Int, cycleMilliseconds: Int) {
        self.site = site
        self.box = box
        self.bedIDs = bedIDs
        self.entryNames = entryNames
        self.deviceCount = deviceCount
        self.cycleMilliseconds = cycleMilliseconds
    }
}

/// Between the publisher and the open pages. The publisher hands each document over without
/// waiting for any page: it is kept as the bed's latest, added to each parameter's trend, and
/// written once into a bounded log of events that every page's stream reads at its own pace.
/// A page that falls a whole log behind (a slow or vanished browser) loses its stream, which is
/// counted; its browser reconnects and starts again from the latest documents. Nothing polls:
/// a stream that has read everything blocks on its own wake-up, which the publisher signals.
///
/// The documents are the topic contract's (Deploy/mqtt/asyncapi.yaml): vitals, description,
/// alarm state, device state and the health summary, as they go to the broker. Two events are
/// the view's own: `hello` (the layout) and `trend` (a bed's 30 minutes).
public final class ViewHub {
    public static let trendBucketMilliseconds: Int64 = 10_000
    /// 30 minutes of 10 s buckets.
    public static let trendBuckets = 180
    /// Events kept for the streams: about a minute at 32 beds.
    public static let logCapacity = 2048
    /// How long a stream waits for an event before it writes a comment line instead.
    public static let keepAliveMilliseconds = 15_000

    public let layout: ViewLayout

    private struct BedState {
        var description: [UInt8] = []
        var vitals: [UInt8] = []
        var alarmState: [UInt8] = []
        var trends: [TrendRing]
    }

    private struct Shared {
        var beds: [BedState]
        var devices: [[UInt8]]
        var health: [UInt8] = []
        /// Event `sequence` sits at `sequence % logCapacity` while it is one of the newest logCapacity.
        var log: [[UInt8]]
        var nextSequence: Int64 = 0
        var subscriptions: [ViewSubscription] = []
        var closed = false
    }

    private let shared: Locked<Shared>
    private let openStreams = Atomic<Int>(0)
    private let streamsDropped = Atomic<Int>(0)
    private let eventsDropped = Atomic<Int>(0)

    public init(layout: ViewLayout) {
        self.layout = layout
        let beds = layout.entryNames.map { names in
            BedState(trends: [TrendRing](repeating: TrendRing(bucketMilliseconds: ViewHub.trendBucketMilliseconds,
                                                                capacity: ViewHub.trendBuckets), count: names.count))
        }
        shared = Locked(Shared(beds: beds, devices: [[UInt8]](repeating: [], count: layout.deviceCount),
                               log: [[UInt8]](repeating: [], count: ViewHub.logCapacity)))
    }

    /// Streams open now.
    public var streams: Int { openStreams.load(ordering: .relaxed) }
    /// Streams ended because their page fell a whole log behind.
    public var droppedStreams: Int { streamsDropped.load(ordering: .relaxed) }
    /// Events those streams did not get.
    public var droppedEvents: Int { eventsDropped.load(ordering: .relaxed) }

    // MARK: Publisher side: never waits for a page

    public func description(bed: Int, json: [UInt8]) {
        shared.withLock { state in
            guard bed < state.beds.count else { return }
            state.beds[bed].description = json
            append(event: "description", json: json, to: &state)
        }
    }

    /// A bed's vitals message, and its values for the trends (only values of quality ok count).
    public func vitals(bed: Int, json: [UInt8], values: [VitalValue]) {
        shared.withLock { state in
            guard bed < state.beds.count else { return }
            state.beds[bed].vitals.removeAll(keepingCapacity: true)
            state.beds[bed].vitals.append(contentsOf: json)
            for value in values where value.quality == .ok && value.entry < state.beds[bed].trends.count {
                if let number = value.value { state.beds[bed].trends[value.entry].add(number, atMilliseconds: value.wallClockMilliseconds) }
            }
            append(event: "vitals", json: json, to: &state)
        }
    }

    public func alarmState(bed: Int, json: [UInt8]) {
        shared.withLock { state in
            // While the broker is away the alarm thread offers every state again on each round: only news goes on.
            guard bed < state.beds.count, state.beds[bed].alarmState != json else { return }
            state.beds[bed].alarmState = json
            append(event: "alarm-state", json: json, to: &state)
        }
    }

    public func deviceState(device: Int, json: [UInt8]) {
        shared.withLock { state in
            guard device < state.devices.count else { return }
            state.devices[device] = json
            append(event: "device-state", json: json, to: &state)
        }
    }

    public func health(json: [UInt8]) {
        shared.withLock { state in
            state.health = json
            append(event: "health", json: json, to: &state)
        }
    }

    /// Under the lock: into the log (only while a stream is open: no page, no copy), and a
    /// wake-up for each stream that waits. A signal is one write(2) to an eventfd, which never blocks.
    private func append(event: String, json: [UInt8], to state: inout Shared) {
        guard !state.subscriptions.isEmpty else { return }
        var frame: [UInt8] = []
        frame.reserveCapacity(json.count + 24)
        ServerSentEvents.append(event: event, data: json, to: &frame)
        state.log[Int(state.nextSequence % Int64(ViewHub.logCapacity))] = frame
        state.nextSequence += 1
        for subscription in state.subscriptions where subscription.waiting {
            subscription.waiting = false
            subscription.wakeUp.signal()
        }
    }

    // MARK: Stream side: one thread per open page

    /// A new stream, starting with the layout, every bed's latest documents and trends, and
    /// the box's health; then every event as it comes. nil when no wake-up could be made
    /// (the process is out of descriptors).
    public func subscribe(wallClockMilliseconds now: Int64, user: String?) -> ViewSubscription? {
        guard let wakeUp = try? WakeUp(purpose: "the wake-up of a clinic view stream") else { return nil }
        let subscription = ViewSubscription(hub: self, wakeUp: wakeUp)
        let (beds, devices, health) = shared.withLock { state in
            state.subscriptions.append(subscription)
            subscription.position = state.nextSequence
            return (state.beds, state.devices, state.health)
        }
        openStreams.add(1, ordering: .relaxed)
        var bytes = ServerSentEvents.retry(milliseconds: 2000)
        ServerSentEvents.append(event: "hello", data: helloJSON(user: user), to: &bytes)
        for (index, bed) in beds.enumerated() {
            if !bed.description.isEmpty { ServerSentEvents.append(event: "description", data: bed.description, to: &bytes) }
            ServerSentEvents.append(event: "trend", data: trendJSON(bed: index, trends: bed.trends, now: now), to: &bytes)
            if !bed.vitals.isEmpty { ServerSentEvents.append(event: "vitals", data: bed.vitals, to: &bytes) }
            if !bed.alarmState.isEmpty { ServerSentEvents.append(event: "alarm-state", data: bed.alarmState, to: &bytes) }
        }
        for device in devices where !device.isEmpty { ServerSentEvents.append(event: "device-state", data: device, to: &bytes) }
        if !health.isEmpty { ServerSentEvents.append(event: "health", data: health, to: &bytes) }
        subscription.pending = bytes
        return subscription
    }

    /// Ends every stream (their reads return nil) and refuses new ones: before the server stops.
    public func close() {
        shared.withLock { state in
            state.closed = true
            for subscription in state.subscriptions { subscription.wakeUp.signal() }
        }
    }

    fileprivate enum Next {
        case events([UInt8])
        case nothing
        case end
    }

    fileprivate func next(for subscription: ViewSubscription) -> Next {
        shared.withLock { state in
            if state.closed || subscription.cancelled { return .end }
            let oldest = state.nextSequence - Int64(ViewHub.logCapacity)
            if subscription.position < oldest {
                eventsDropped.add(Int(oldest - subscription.position), ordering: .relaxed)
                streamsDropped.add(1, ordering: .relaxed)
                return .end
            }
            guard subscription.position < state.nextSequence else {
                subscription.waiting = true
                return .nothing
            }
            var bytes: [UInt8] = []
            while subscription.position < state.nextSequence && bytes.count < 64 * 1024 {
                bytes.append(contentsOf: state.log[Int(subscription.position % Int64(ViewHub.logCapacity))])
                subscription.position += 1
            }
            return .events(bytes)
        }
    }

    fileprivate func remove(_ subscription: ViewSubscription) {
        let removed = shared.withLock { state in
            guard let index = state.subscriptions.firstIndex(where: { $0 === subscription }) else { return false }
            state.subscriptions.remove(at: index)
            return true
        }
        if removed { openStreams.subtract(1, ordering: .relaxed) }
    }

    private func helloJSON(user: String?) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.member("site", layout.site)
        json.member("box", layout.box)
        json.key("beds")
        json.beginArray()
        for bed in layout.bedIDs { json.string(bed) }
        json.endArray()
        json.member("cycle_ms", layout.cycleMilliseconds)
        json.member("trend_bucket_s", Int(ViewHub.trendBucketMilliseconds / 1000))
        json.member("trend_buckets", ViewHub.trendBuckets)
        json.key("user")
        if let user { json.string(user) } else { json.null() }
        json.endObject()
        return Array(json.text.utf8)
    }

    private func trendJSON(bed: Int, trends: [TrendRing], now: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        JSONBytes.append("{\"bed\":", to: &bytes)
        JSONBytes.appendString(layout.bedIDs[bed], to: &bytes)
        JSONBytes.append(",\"end\":", to: &bytes)
        JSONBytes.appendString(formatUTCTimestamp(millisecondsSinceEpoch: now), to: &bytes)
        JSONBytes.append(",\"bucket_s\":", to: &bytes)
        JSONBytes.appendInteger(ViewHub.trendBucketMilliseconds / 1000, to: &bytes)
        JSONBytes.append(",\"series\":{", to: &bytes)
        for (entry, trend) in trends.enumerated() where entry < layout.entryNames[bed].count {
            if entry > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONBytes.appendString(layout.entryNames[bed][entry], to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(UInt8(ascii: "["))
            for (index, mean) in trend.means(endingAtMilliseconds: now).enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                if let mean { JSONBytes.appendDecimal(mean, decimals: 1, to: &bytes) } else { JSONBytes.append("null", to: &bytes) }
            }
            bytes.append(UInt8(ascii: "]"))
        }
        JSONBytes.append("}}", to: &bytes)
        return bytes
    }
}

/// One open page's stream. `read` and `cancel` are called on that page's connection thread;
/// `waiting` and `position` are touched only under the hub's lock.
public final class ViewSubscription {
    private let hub: ViewHub
    fileprivate let wakeUp: WakeUp
    fileprivate var position: Int64 = 0
    fileprivate var waiting = false
    fileprivate var cancelled = false
    fileprivate var pending: [UInt8] = []
    private var pendingOffset = 0

    fileprivate init(hub: ViewHub, wakeUp: WakeUp) {
        self.hub = hub
        self.wakeUp = wakeUp
    }

    /// Copies the next bytes of the stream into `buffer`, blocking until there are some (a
    /// keep-alive comment after `ViewHub.keepAliveMilliseconds`). nil ends the stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        while pendingOffset >= pending.count {
            wakeUp.drain()
            switch hub.next(for: self) {
            case .end:
                return nil
            case .events(let bytes):
                pending = bytes
                pendingOffset = 0
            case .nothing:
                if !wakeUp.wait(timeoutMilliseconds: ViewHub.keepAliveMilliseconds) {
                    pending = ServerSentEvents.keepAlive
                    pendingOffset = 0
                }
            }
        }
        let count = min(buffer.count, pending.count - pendingOffset)
        pending.withUnsafeBytes { source in
            buffer.baseAddress?.copyMemory(from: source.baseAddress! + pendingOffset, byteCount: count)
        }
        pendingOffset += count
        return count
    }

    /// The page is gone: the hub forgets the stream.
    public func cancel() {
        hub.remove(self)
    }
}
