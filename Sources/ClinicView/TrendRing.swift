/// The last `capacity` buckets of one parameter: each bucket the mean of the values that fell
/// into it (by wall-clock time), so 30 minutes at 10 s are 180 slots however often the bed is
/// sampled. All storage is allocated at creation; adding a value never allocates.
public struct TrendRing: Sendable {
    public let bucketMilliseconds: Int64
    public let capacity: Int
    /// Per slot: the absolute bucket number (time / bucket width) it holds, or .min for none.
    private var slotBucket: [Int64]
    private var sums: [Double]
    private var counts: [Int32]
    /// The newest bucket a value went into.
    public private(set) var newestBucket: Int64?

    public init(bucketMilliseconds: Int64, capacity: Int) {
        self.bucketMilliseconds = max(1, bucketMilliseconds)
        self.capacity = max(1, capacity)
        slotBucket = [Int64](repeating: .min, count: self.capacity)
        sums = [Double](repeating: 0, count: self.capacity)
        counts = [Int32](repeating: 0, count: self.capacity)
    }

    /// Adds a value read at `milliseconds` (wall clock). A value older than the ring's span
    /// behind the newest is ignored; a value from before the newest bucket (the clock stepped
    /// back) goes into its own bucket if that is still in the span.
    public mutating func add(_ value: Double, atMilliseconds milliseconds: Int64) {
        guard value.isFinite else { return }
        let bucket = TrendRing.floorDivide(milliseconds, bucketMilliseconds)
        if let newest = newestBucket, bucket <= newest - Int64(capacity) { return }
        let slot = Int(TrendRing.floorModulo(bucket, Int64(capacity)))
        if slotBucket[slot] != bucket {
            slotBucket[slot] = bucket
            sums[slot] = 0
            counts[slot] = 0
        }
        sums[slot] += value
        counts[slot] += 1
        if newestBucket.map({ bucket > $0 }) ?? true { newestBucket = bucket }
    }

    /// The means of the `capacity` buckets ending with the one that holds `milliseconds`,
    /// oldest first; nil where no value fell.
    public func means(endingAtMilliseconds milliseconds: Int64) -> [Double?] {
        let last = TrendRing.floorDivide(milliseconds, bucketMilliseconds)
        var result: [Double?] = []
        result.reserveCapacity(capacity)
        for bucket in (last - Int64(capacity) + 1)...last {
            let slot = Int(TrendRing.floorModulo(bucket, Int64(capacity)))
            if slotBucket[slot] == bucket && counts[slot] > 0 {
                result.append(sums[slot] / Double(counts[slot]))
            } else {
                result.append(nil)
            }
        }
        return result
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    static func floorModulo(_ a: Int64, _ b: Int64) -> Int64 {
        let remainder = a % b
        return remainder < 0 ? remainder + b : remainder
    }
}
