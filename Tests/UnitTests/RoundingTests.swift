import CShims
import Testing

/// The x86_64 firmware's ceil, round and trunc are CShims' bedside_ceil, bedside_round and
/// bedside_trunc (Sources/CShims/rounding.c): here they must agree bit for bit with libm's,
/// which the host's standard library calls, on the edge cases and on values of every magnitude.
struct RoundingTests {
    static let edges: [Double] = [
        0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994,
        0.5000000000000001, 1 - 0x1p-53, 4503599627370495.5, -4503599627370495.5, 0x1p52, -0x1p52,
        0x1p52 + 1, 0x1p53, 1e300, -1e300, Double.leastNonzeroMagnitude, -Double.leastNonzeroMagnitude,
        Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude, .infinity, -.infinity,
        97.4999, 97.5, 12.345 * 1000, -0.3, 0.3, 9.223372036854775807e18, -9.223372036854775808e18,
    ]

    static func same(_ a: Double, _ b: Double) -> Bool { a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern }

    static func check(_ value: Double) {
        #expect(same(bedside_round(value), value.rounded(.toNearestOrAwayFromZero)), "round(\(value))")
        #expect(same(bedside_ceil(value), value.rounded(.up)), "ceil(\(value))")
        #expect(same(bedside_trunc(value), value.rounded(.towardZero)), "trunc(\(value))")
    }

    @Test func edgeCasesMatchLibm() {
        for value in Self.edges { Self.check(value) }
        #expect(bedside_round(.nan).isNaN && bedside_ceil(.nan).isNaN && bedside_trunc(.nan).isNaN)
    }

    @Test func valuesOfEveryMagnitudeAndNearTheHalvesMatchLibm() {
        var random = SplitMix64(seed: 0x524F_554E_44)
        for _ in 0..<200_000 {
            let value = Double(bitPattern: random.next())
            if !value.isNaN { Self.check(value) }
            let half = Double(Int64(random.next() % 2_000_001) - 1_000_000) / 2
            Self.check(half)
            Self.check(half.nextUp)
            Self.check(half.nextDown)
        }
    }
}
