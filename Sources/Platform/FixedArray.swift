/// A fixed-length array of plain values for the real-time path, allocated once. Unlike
/// `Array`, reading and writing an element is a plain memory access in every build: an
/// unoptimised build iterates and modifies `Array` through generic accessors that can
/// allocate, and the sampling loop must not allocate in the build the tests use either.
/// Loop over it with indices (`while index < count`), not `for-in`, for the same reason.
public final class FixedArray<Element: BitwiseCopyable> {
    public let count: Int
    private let storage: UnsafeMutablePointer<Element>

    public init(repeating value: Element, count: Int) {
        self.count = count
        storage = UnsafeMutablePointer<Element>.allocate(capacity: max(1, count))
        storage.initialize(repeating: value, count: count)
    }

    public convenience init(_ elements: [Element], filler: Element) {
        self.init(repeating: filler, count: elements.count)
        for (index, element) in elements.enumerated() { storage[index] = element }
    }

    deinit { storage.deallocate() }

    public subscript(index: Int) -> Element {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    public func fill(_ value: Element) {
        storage.update(repeating: value, count: count)
    }
}
