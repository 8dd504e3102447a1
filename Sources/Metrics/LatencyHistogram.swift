import CShims

/// A fixed-size log-linear histogram of durations in nanoseconds: 32 buckets per power of
/// two (at most ~3 % relative error), from 0 to about an hour. Storage is allocated once,
/// so recording is a handful of integer operations, safe in the real-time loop. The 5 KB of
/// buckets are zeroed pages that become resident only where samples land: every duration
/// under about a minute lands on the first page, so a histogram costs one page (a loop keeps
/// three, a box many loops). A bucket is 32 bits and stops at its maximum instead of wrapping:
/// 4.3 billion samples in one bucket is 13 years of a 100 ms loop.
/// The first sample to land on a page costs one minor page fault, once; after that the page
/// stays (locked, with the agent's mlockall), so the steady state has none.
/// One thread records; others may read a snapshot (reads of aligned 32- and 64-bit words are not
/// torn on the supported CPUs, so a reader sees each bucket's old or new count).
public final class LatencyHistogram {
    static let subBucketBits = 5
    static let subBuckets = 1 << subBucketBits
    /// 2^42 ns ≈ 73 minutes; anything longer lands in the last bucket.
    static let largestExponent = 42
    public static let bucketCount = (largestExponent - subBucketBits + 2) * subBuckets

    private let buckets: UnsafeMutablePointer<UInt32>
    /// Whether `buckets` came from mmap (else from malloc, when mmap failed).
    private let mapped: Bool
    private static let storageBytes = bucketCount * MemoryLayout<UInt32>.stride
    public private(set) var count: UInt64 = 0
    public private(set) var sum: UInt64 = 0
    public private(set) var maximum: UInt64 = 0

    public init() {
        if let pages = bedside_map_zeroed(LatencyHistogram.storageBytes) {
            buckets = pages.bindMemory(to: UInt32.self, capacity: LatencyHistogram.bucketCount)
            mapped = true
        } else {
            buckets = UnsafeMutablePointer<UInt32>.allocate(capacity: LatencyHistogram.bucketCount)
            buckets.initialize(repeating: 0, count: LatencyHistogram.bucketCount)
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
        let index = LatencyHistogram.bucketIndex(sample)
        if buckets[index] != UInt32.max { buckets[index] &+= 1 }
        count &+= 1
        sum &+= sample
        if sample > maximum { maximum = sample }
    }

    public func reset() {
        // Only buckets in use are written: a page no sample reached stays untouched.
        for index in 0..<LatencyHistogram.bucketCount where buckets[index] != 0 { buckets[index] = 0 }
        count = 0
        sum = 0
        maximum = 0
    }

    /// The smallest recorded bound below which `fraction` (0...1) of the samples fall: the
    /// upper edge of the bucket holding that rank, never above the largest sample seen.
    public func percentile(_ fraction: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = UInt64((Double(count) * min(max(fraction, 0), 1)).rounded(.up))
        var seen: UInt64 = 0
        for index in 0..<LatencyHistogram.bucketCount {
            seen &+= UInt64(buckets[index])
            if seen >= max(rank, 1) { return min(LatencyHistogram.upperBound(ofBucket: index), maximum) }
        }
        return maximum
    }

    public var mean: UInt64 { count == 0 ? 0 : sum / count }

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
