import Synchronization

/// A bounded single-producer/single-consumer queue over preallocated storage. The producer
/// (a sampling loop) never blocks, never allocates and takes no lock: when the ring is full
/// the element is refused and counted, so a stalled consumer cannot stall sampling.
/// Elements are bitwise-copyable so that a push never retains or releases anything.
public final class SPSCRing<Element: BitwiseCopyable> {
    public let capacity: Int
    private let storage: UnsafeMutablePointer<Element>
    /// Next slot the producer writes; only the producer stores it.
    private let tail = Atomic<Int>(0)
    /// Next slot the consumer reads; only the consumer stores it.
    private let head = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)

    /// Exactly `capacity` slots (at least 2), not rounded up to a power of two: every slot is
    /// touched as the ring wraps, so rounding would make up to half the ring resident for nothing.
    public init(capacity: Int, filler: Element) {
        self.capacity = max(2, capacity)
        storage = UnsafeMutablePointer<Element>.allocate(capacity: self.capacity)
        storage.initialize(repeating: filler, count: self.capacity)
    }

    deinit {
        storage.deallocate()
    }

    /// Producer side. Returns false (and counts it) when the ring is full.
    @discardableResult
    public func push(_ element: Element) -> Bool {
        let position = tail.load(ordering: .relaxed)
        if position - head.load(ordering: .acquiring) >= capacity {
            refused.add(1, ordering: .relaxed)
            return false
        }
        storage[position % capacity] = element
        tail.store(position + 1, ordering: .releasing)
        return true
    }

    /// Consumer side. Returns nil when empty.
    public func pop() -> Element? {
        let position = head.load(ordering: .relaxed)
        if position == tail.load(ordering: .acquiring) { return nil }
        let element = storage[position % capacity]
        head.store(position + 1, ordering: .releasing)
        return element
    }

    /// Whether nothing waits; for the consumer's last look before it blocks.
    public var isEmpty: Bool { head.load(ordering: .relaxed) == tail.load(ordering: .acquiring) }

    /// Elements waiting; exact for either side, an estimate for anyone else.
    public var count: Int { tail.load(ordering: .acquiring) - head.load(ordering: .acquiring) }

    /// Elements refused because the ring was full, since start.
    public var refusedCount: Int { refused.load(ordering: .relaxed) }
}
