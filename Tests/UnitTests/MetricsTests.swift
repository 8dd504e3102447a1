import Testing
@testable import Metrics

struct LatencyHistogramTests {
    @Test func bucketsCoverEveryValueContiguously() {
        var expectedLower: UInt64 = 0
        for index in 0..<(LatencyHistogram.bucketCount - 1) {
            #expect(LatencyHistogram.lowerBound(ofBucket: index) == expectedLower, "bucket \(index)")
            expectedLower = LatencyHistogram.upperBound(ofBucket: index) + 1
        }
        for value: UInt64 in [0, 1, 31, 32, 33, 63, 64, 1000, 999_999, 1 << 40, (1 << 43) - 1] {
            let index = LatencyHistogram.bucketIndex(value)
            #expect(LatencyHistogram.lowerBound(ofBucket: index) <= value, "\(value)")
            #expect(value <= LatencyHistogram.upperBound(ofBucket: index), "\(value)")
        }
        #expect(LatencyHistogram.bucketIndex(UInt64.max) == LatencyHistogram.bucketCount - 1)
    }

    @Test func relativeErrorStaysUnderFourPercent() {
        for exponent in 5..<42 {
            let value: UInt64 = (1 << UInt64(exponent)) + UInt64(exponent * 7)
            let index = LatencyHistogram.bucketIndex(value)
            let width = LatencyHistogram.upperBound(ofBucket: index) - LatencyHistogram.lowerBound(ofBucket: index) + 1
            #expect(Double(width) / Double(value) <= 1.0 / 32.0 + 1e-9)
        }
    }

    @Test func percentilesOfAUniformSpread() {
        let histogram = LatencyHistogram()
        for value in 1...10_000 { histogram.record(nanoseconds: Int64(value) * 1000) }
        #expect(histogram.count == 10_000)
        #expect(histogram.maximum == 10_000_000)
        #expect(histogram.mean == 5_000_500)
        for (fraction, exact) in [(0.5, 5_000_000.0), (0.99, 9_900_000.0), (0.999, 9_990_000.0)] {
            let reported = Double(histogram.percentile(fraction))
            #expect(reported >= exact && reported <= exact * 1.032, "p\(fraction): \(reported)")
        }
        #expect(histogram.percentile(1) == 10_000_000)
        histogram.reset()
        #expect(histogram.count == 0 && histogram.percentile(0.5) == 0)
    }

    @Test func negativeDurationsCountAsZero() {
        let histogram = LatencyHistogram()
        histogram.record(nanoseconds: -5)
        #expect(histogram.percentile(1) == 0 && histogram.count == 1)
    }
}
