import AllocationCounter
import Testing

extension Trait where Self == ConditionTrait {
    /// For a test that counts allocations: in a sanitizer build (Deploy/sanitize.sh) the
    /// sanitizer owns malloc and the counter counts nothing, so a zero would prove nothing.
    static var countsAllocations: Self {
        .enabled(if: allocation_counter_is_interposed() != 0,
                 "malloc belongs to the sanitizer in this build; allocations are counted in the normal build")
    }
}
