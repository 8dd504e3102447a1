import AllocationCounter
import Testing

/// The interposer itself: it must see allocations, or a zero elsewhere would prove nothing.
struct AllocationCounterTests {
    @Test(.countsAllocations) func countsThisThreadsAllocations() {
        allocation_counter_start()
        let buffer = [Int](repeating: 7, count: 1000)
        let counted = allocation_counter_stop()
        #expect(buffer.count == 1000)
        #expect(counted >= 1)
        allocation_counter_start()
        let quiet = allocation_counter_stop()
        #expect(quiet == 0)
    }
}
