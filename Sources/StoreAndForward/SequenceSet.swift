/// A set of queue sequences kept as sorted, disjoint, non-adjacent runs: records waiting for
/// replay are mostly consecutive (a broker outage, a restart), so a million of them take a
/// few runs instead of eight megabytes.
public struct SequenceSet: Equatable {
    public struct Run: Equatable {
        public var first: UInt64
        public var last: UInt64
    }

    public private(set) var runs: [Run] = []
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { runs.isEmpty }
    public var first: UInt64? { runs.first?.first }

    public func contains(_ value: UInt64) -> Bool {
        let index = firstRun(endingAtOrAfter: value)
        return index < runs.count && runs[index].first <= value
    }

    @discardableResult
    public mutating func insert(_ value: UInt64) -> Bool {
        // Appends come in rising order: extend or add at the end.
        if let last = runs.last, value > last.last {
            if value == last.last + 1 { runs[runs.count - 1].last = value } else { runs.append(Run(first: value, last: value)) }
            count += 1
            return true
        }
        if runs.isEmpty {
            runs.append(Run(first: value, last: value))
            count += 1
            return true
        }
        let index = firstRun(endingAtOrAfter: value) // exists: value <= the last run's end
        if runs[index].first <= value { return false }
        let joinsNext = runs[index].first == value + 1
        let joinsPrevious = index > 0 && runs[index - 1].last + 1 == value
        if joinsPrevious && joinsNext {
            runs[index - 1].last = runs[index].last
            runs.remove(at: index)
        } else if joinsPrevious {
            runs[index - 1].last = value
        } else if joinsNext {
            runs[index].first = value
        } else {
            runs.insert(Run(first: value, last: value), at: index)
        }
        count += 1
        return true
    }

    @discardableResult
    public mutating func remove(_ value: UInt64) -> Bool {
        let index = firstRun(endingAtOrAfter: value)
        guard index < runs.count, runs[index].first <= value else { return false }
        let run = runs[index]
        if run.first == run.last {
            runs.remove(at: index)
        } else if value == run.first {
            runs[index].first = value + 1
        } else if value == run.last {
            runs[index].last = value - 1
        } else {
            runs[index].last = value - 1
            runs.insert(Run(first: value + 1, last: run.last), at: index + 1)
        }
        count -= 1
        return true
    }

    /// Removes every value below `bound`; returns how many.
    @discardableResult
    public mutating func removeAll(below bound: UInt64) -> Int {
        var removed = 0
        var dropRuns = 0
        for run in runs {
            if run.last < bound {
                removed += Int(run.last - run.first + 1)
                dropRuns += 1
            } else {
                if run.first < bound {
                    removed += Int(bound - run.first)
                    runs[dropRuns].first = bound
                }
                break
            }
        }
        runs.removeFirst(dropRuns)
        count -= removed
        return removed
    }

    /// Index of the first run whose end is at or above `value` (binary search).
    private func firstRun(endingAtOrAfter value: UInt64) -> Int {
        var low = 0
        var high = runs.count
        while low < high {
            let middle = (low + high) / 2
            if runs[middle].last >= value { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
