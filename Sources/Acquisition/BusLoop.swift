import RegisterMaps
import Modbus
import Platform
import Synchronization

public struct RealtimeSettings {
    /// SCHED_FIFO priority 1...99; nil runs at normal priority.
    public var priority: Int?
    public var cpu: Int?

    public init(priority: Int? = nil, cpu: Int? = nil) {
        self.priority = priority
        self.cpu = cpu
    }
}

/// One bus's sampling loop on its own thread: wakes at absolute CLOCK_MONOTONIC deadlines,
/// polls every device on the bus, and pushes records into its ring. In the steady state a
/// cycle allocates nothing, takes no lock, logs nothing and does no I/O but the Modbus
/// exchange; whatever needs any of those happens on the consumer's side of the ring.
public final class BusLoop {
    public let bus: PlannedBus
    public let ring: SPSCRing<SampleRecord>
    public let statistics = LoopStatistics()
    public let periodMilliseconds: Int
    private let realtime: RealtimeSettings
    private let client: ModbusClient
    private let pollers: [DevicePoller]
    /// The same pollers for the cycle: a class-typed buffer read by index (see FixedArray).
    private let pollerTable: UnsafeMutablePointer<DevicePoller>
    private let stopRequested = Atomic<Bool>(false)
    private var thread: OSThread?
    /// Called on the bus thread after every cycle with the cycle number: the agent beats the
    /// loop's watchdog heartbeat here; tests and benchmarks observe the loop from inside.
    /// It must not allocate, lock or do I/O either.
    public var cycleObserver: ((UInt64) -> Void)?
    /// Told after each device's records are in the ring (`signalIfWaiting()`), so the ring's
    /// consumer blocks until there is data instead of polling, and a device's samples need
    /// not wait for the rest of the bus: the first device behind a gateway of 32 is handed
    /// over as soon as it is read. Only a consumer that announced its wait is written to, so
    /// a consumer still busy with the device before costs the loop no system call. Set before
    /// `start()`.
    public var consumerWakeUp: WakeUp?
    /// Stop after this many cycles (benchmarks, tests); nil runs until `stop()`.
    public var cycleLimit: UInt64?

    public init(bus: PlannedBus, periodMilliseconds: Int, realtime: RealtimeSettings,
                ringCapacity: Int = 0) throws(ModbusError) {
        self.bus = bus
        self.periodMilliseconds = periodMilliseconds
        self.realtime = realtime
        var pointsPerCycle = 0
        var pollers: [DevicePoller] = []
        for device in bus.devices {
            pollers.append(DevicePoller(device: device, cycleMilliseconds: periodMilliseconds))
            pointsPerCycle += device.profile.points.count + 3
        }
        self.pollers = pollers
        pollerTable = UnsafeMutablePointer<DevicePoller>.allocate(capacity: pollers.count)
        pollerTable.initialize(from: pollers, count: pollers.count)
        // Room for two seconds of records: the publisher drains every few milliseconds and never
        // blocks on the network, so this only covers a publisher that is briefly descheduled.
        let cycles = max(1, 2_000 / max(1, periodMilliseconds))
        ring = SPSCRing(capacity: max(ringCapacity, pointsPerCycle * cycles), filler: SampleRecord.empty)
        let first = bus.devices[0].config
        switch bus.endpoint {
        case let .tcp(host, port):
            client = try ModbusClient(tcpHost: host, port: port, unitID: first.unitID,
                                      responseTimeoutMilliseconds: first.responseTimeoutMilliseconds,
                                      byteTimeoutMilliseconds: first.byteTimeoutMilliseconds)
        case let .rtu(line):
            client = try ModbusClient(serialDevice: line.device, baud: line.baud, parity: line.parity,
                                      dataBits: line.dataBits, stopBits: line.stopBits,
                                      rs485: line.rs485RTS ? RS485Settings(rtsDelayMicroseconds: line.rtsDelayMicroseconds) : nil,
                                      unitID: first.unitID, responseTimeoutMilliseconds: first.responseTimeoutMilliseconds,
                                      byteTimeoutMilliseconds: first.byteTimeoutMilliseconds)
        }
    }

    deinit {
        pollerTable.deinitialize(count: pollers.count)
        pollerTable.deallocate()
    }

    /// Read requests per cycle when every point is due: the coalesced reads of all devices.
    public var requestsPerFullCycle: Int {
        var total = 0
        for poller in pollers { total += poller.requestsPerFullCycle }
        return total
    }

    public var devices: [PlannedDevice] { bus.devices }

    public func deviceStatistics(_ position: Int) -> DeviceStatistics { pollers[position].statistics }

    public func start() throws(SystemError) {
        thread = try OSThread(name: "bus \(bus.name)") { [self] in run() }
    }

    /// Stops the loop and waits for its thread. Several loops stop faster with `stop(_:)`.
    public func stop() { BusLoop.stop([self]) }

    /// Stops every loop in `loops` at once: all are told first, then all are waited for, so a
    /// stop takes as long as the slowest loop, not the sum of them. A sleeping loop wakes at
    /// once (its sleep is interrupted); one in a Modbus exchange finishes that exchange (at
    /// most the device's response timeout, plus byte timeouts while a reply trickles in) and
    /// polls no further device.
    public static func stop(_ loops: [BusLoop]) {
        for loop in loops { loop.requestStop() }
        for loop in loops { loop.waitUntilStopped() }
    }

    private func requestStop() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        thread?.interrupt()
    }

    /// The interrupt is lost when it lands between the loop's last look at its flag and its
    /// sleep; repeating it until the thread is gone covers that window. The repetition only
    /// runs while stopping; a loop never wakes for it otherwise.
    private func waitUntilStopped() {
        guard let thread else { return }
        while !thread.join(timeoutMilliseconds: BusLoop.interruptRepeatMilliseconds) { thread.interrupt() }
        self.thread = nil
    }

    static let interruptRepeatMilliseconds = 20

    /// Waits for a loop started with a `cycleLimit` to finish.
    public func join() {
        thread?.join()
        thread = nil
    }

    /// One warning for the whole agent, not one per bus, when SCHED_FIFO is refused.
    private static let warnedAboutPriority = Atomic<Bool>(false)
    private var reconnectAtNanoseconds: Int64 = 0
    private var reconnectBackoffMilliseconds = 0
    private var warnedAboutRS485 = false

    /// Opens the bus's connection when it is closed, at most once per backoff step (1 s
    /// doubling to 30 s), so an unreachable gateway costs one connect timeout per step, not
    /// one per device per cycle. Returns whether the bus can be polled this cycle.
    /// Connection attempts that failed, so that each counts once as a device error.
    private var failedConnectAttempts: UInt64 = 0

    private func connectIfDue(now: Int64) -> Bool {
        if client.isConnected { return true }
        if now < reconnectAtNanoseconds { return false }
        do throws(ModbusError) {
            try client.connect()
        } catch {
            if error.isRS485Unavailable && client.isConnected {
                if !warnedAboutRS485 {
                    log(.warning, "bus \(bus.name): \(error.description); using the line without RS-485 direction control")
                    warnedAboutRS485 = true
                }
            } else {
                failedConnectAttempts &+= 1
                reconnectBackoffMilliseconds = min(max(reconnectBackoffMilliseconds * 2, 1000), 30_000)
                reconnectAtNanoseconds = now + Int64(reconnectBackoffMilliseconds) * 1_000_000
                return false
            }
        }
        reconnectBackoffMilliseconds = 0
        return true
    }

    private func run() {
        OSThread.acceptInterrupts()
        if let priority = realtime.priority {
            let outcome = makeCurrentThreadRealtime(priority: priority, cpu: realtime.cpu)
            if let problem = outcome.scheduling, !BusLoop.warnedAboutPriority.exchange(true, ordering: .relaxed) {
                log(.warning, "\(problem.description): every bus samples at normal priority "
                    + "(grant CAP_SYS_NICE or LimitRTPRIO= for real-time sampling)")
            }
            if let problem = outcome.affinity { log(.warning, "bus \(bus.name): \(problem.description)") }
        } else if let cpu = realtime.cpu {
            if let problem = makeCurrentThreadRealtime(priority: 0, cpu: cpu).affinity {
                log(.warning, "bus \(bus.name): \(problem.description)")
            }
        }
        let period = Int64(periodMilliseconds) * 1_000_000
        var deadline = MonotonicInstant.now().nanoseconds
        var cycle: UInt64 = 0
        while !stopRequested.load(ordering: .relaxed) {
            let woke = MonotonicInstant.now().nanoseconds
            let wakeupLatency = woke - deadline
            cycle &+= 1
            let attemptsBefore = failedConnectAttempts
            let reachable = connectIfDue(now: woke)
            let attemptFailed = failedConnectAttempts != attemptsBefore
            var exchangeFailed = attemptFailed
            var index = 0
            while index < pollers.count {
                // A stop does not wait for the rest of the bus: one silent device after another
                // would each cost a response timeout.
                if stopRequested.load(ordering: .relaxed) { break }
                if reachable {
                    if pollerTable[index].poll(cycle: cycle, client: client, ring: ring).leftDeviceSilent {
                        exchangeFailed = true
                    }
                } else {
                    pollerTable[index].busUnreachable(cycle: cycle, ring: ring, attemptFailed: attemptFailed)
                }
                consumerWakeUp?.signalIfWaiting()
                index += 1
            }
            let finished = MonotonicInstant.now().nanoseconds
            deadline += period
            let overran = deadline <= finished
            if overran {
                // Skip the deadlines already gone rather than bursting to catch up.
                deadline += ((finished - deadline) / period + 1) * period
            }
            statistics.recordCycle(wakeupLatency: wakeupLatency, duration: finished - woke, overran: overran,
                                   exchangeFailed: exchangeFailed)
            cycleObserver?(cycle)
            if let cycleLimit, cycle >= cycleLimit { break }
            // Only a stop ends the sleep early; any other signal resumes it toward the same
            // absolute deadline, so the schedule does not move.
            while sleep(until: MonotonicInstant(nanoseconds: deadline)) == .interrupted,
                  !stopRequested.load(ordering: .relaxed) {}
        }
        client.disconnect()
    }
}
