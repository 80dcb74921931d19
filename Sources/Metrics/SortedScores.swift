/// One group's scores sorted ascending, answering "how many lie below (above) x" with ties counted one
/// half, doubled so that the answer stays an exact integer: `2·#{v < x} + #{v = x}`.
struct SortedScores {
    let values: [Double]

    init(_ scores: [Double]) { values = scores.sorted() }

    var count: Int { values.count }

    /// `2·#{v < x} + #{v = x}` = (first index with v ≥ x) + (first index with v > x).
    func doubledCount(below x: Double) -> Int { firstIndex { $0 >= x } + firstIndex { $0 > x } }

    /// `2·#{v > x} + #{v = x}`.
    func doubledCount(above x: Double) -> Int { 2 * count - doubledCount(below: x) }

    /// The first index whose value satisfies `predicate`, which must be false then true along the sorted values.
    private func firstIndex(where predicate: (Double) -> Bool) -> Int {
        var low = 0, high = values.count
        while low < high {
            let middle = (low + high) / 2
            if predicate(values[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
