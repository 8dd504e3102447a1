import CShims
import Synchronization

/// A fixed-size log-linear histogram of durations in nanoseconds: 32 buckets per power of
/// two (at most ~3 % relative error), from 0 to about an hour. Storage is allocated once,
/// so recording is a handful of integer operations, safe in the real-time loop. The 5 KB of
/// buckets are zeroed pages that become resident only where samples land: every duration
/// under about a minute lands on the first page, so a histogram costs one page (a loop keeps
/// three, a box many loops). A bucket is 32 bits and stops at its maximum instead of wrapping:
/// 4.3 billion samples in one bucket is 13 years of a 100 ms loop.
/// The first sample to land on a page costs one minor page fault, once; after that the page
/// stays (locked, with the agent's mlockall), so the steady state has none.
/// One thread records; others (the health documents) read while it does, so every word is
/// an atomic: relaxed loads and stores, which compile to the same plain moves on x86_64 and
/// aarch64 but make the sharing defined. The recorder alone writes, so it never needs a
/// read-modify-write. A reader sees each word's old or new value, not a consistent whole:
/// `count` may run a sample ahead of or behind the buckets.
public final class LatencyHistogram {
    static let subBucketBits = 5
    static let subBuckets = 1 << subBucketBits
    /// 2^42 ns ≈ 73 minutes; anything longer lands in the last bucket.
    static let largestExponent = 42
    public static let bucketCount = (largestExponent - subBucketBits + 2) * subBuckets

    private let buckets: UnsafeMutablePointer<Atomic<UInt32>>
    /// Whether `buckets` came from mmap (else from malloc, when mmap failed).
    private let mapped: Bool
    private static let storageBytes = bucketCount * MemoryLayout<Atomic<UInt32>>.stride
    private let counted = Atomic<UInt64>(0)
    private let summed = Atomic<UInt64>(0)
    private let largest = Atomic<UInt64>(0)

    public var count: UInt64 { counted.load(ordering: .relaxed) }
    public var sum: UInt64 { summed.load(ordering: .relaxed) }
    public var maximum: UInt64 { largest.load(ordering: .relaxed) }

    public init() {
        if let pages = bedside_map_zeroed(LatencyHistogram.storageBytes) {
            // An atomic 32-bit word is laid out as the word itself: zeroed pages are zeroed counters.
            buckets = pages.bindMemory(to: Atomic<UInt32>.self, capacity: LatencyHistogram.bucketCount)
            mapped = true
        } else {
            buckets = UnsafeMutablePointer<Atomic<UInt32>>.allocate(capacity: LatencyHistogram.bucketCount)
            for index in 0..<LatencyHistogram.bucketCount { (buckets + index).initialize(to: Atomic(0)) }
            mapped = false
        }
    }

    deinit {
        if mapped {
            bedside_unmap(buckets, LatencyHistogram.storageBytes)
        } else {
            buckets.deallocate()
        }
    }

    public func record(nanoseconds value: Int64) {
        let sample = UInt64(max(0, value))
        let bucket = buckets + LatencyHistogram.bucketIndex(sample)
        let inBucket = bucket.pointee.load(ordering: .relaxed)
        if inBucket != UInt32.max { bucket.pointee.store(inBucket &+ 1, ordering: .relaxed) }
        counted.store(counted.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        summed.store(summed.load(ordering: .relaxed) &+ sample, ordering: .relaxed)
        if sample > largest.load(ordering: .relaxed) { largest.store(sample, ordering: .relaxed) }
    }

    /// By the recording thread only.
    public func reset() {
        // Only buckets in use are written: a page no sample reached stays untouched.
        for index in 0..<LatencyHistogram.bucketCount where buckets[index].load(ordering: .relaxed) != 0 {
            buckets[index].store(0, ordering: .relaxed)
        }
        counted.store(0, ordering: .relaxed)
        summed.store(0, ordering: .relaxed)
        largest.store(0, ordering: .relaxed)
    }

    /// The smallest recorded bound below which `fraction` (0...1) of the samples fall: the
    /// upper edge of the bucket holding that rank, never above the largest sample seen.
    public func percentile(_ fraction: Double) -> UInt64 {
        let count = self.count
        guard count > 0 else { return 0 }
        let rank = UInt64((Double(count) * min(max(fraction, 0), 1)).rounded(.up))
        var seen: UInt64 = 0
        for index in 0..<LatencyHistogram.bucketCount {
            seen &+= UInt64(buckets[index].load(ordering: .relaxed))
            if seen >= max(rank, 1) { return min(LatencyHistogram.upperBound(ofBucket: index), maximum) }
        }
        return maximum
    }

    public var mean: UInt64 {
        let count = self.count
        return count == 0 ? 0 : sum / count
    }

    static func bucketIndex(_ value: UInt64) -> Int {
        if value < UInt64(subBuckets) { return Int(value) }
        let exponent = min(63 - value.leadingZeroBitCount, largestExponent)
        if exponent == largestExponent && value >> UInt64(exponent) > 1 { return bucketCount - 1 }
        let subBucket = Int(value >> UInt64(exponent - subBucketBits)) & (subBuckets - 1)
        return (exponent - subBucketBits + 1) * subBuckets + subBucket
    }

    static func lowerBound(ofBucket index: Int) -> UInt64 {
        if index < subBuckets { return UInt64(index) }
        let exponent = index / subBuckets + subBucketBits - 1
        let subBucket = UInt64(index % subBuckets)
        return (UInt64(subBuckets) + subBucket) << UInt64(exponent - subBucketBits)
    }

    static func upperBound(ofBucket index: Int) -> UInt64 {
        index + 1 < bucketCount ? lowerBound(ofBucket: index + 1) - 1 : UInt64.max
    }
}
