/// The k-th smallest of many values without sorting them all: quickselect (Hoare partition around the
/// median of three), falling back to sorting a range that does not shrink fast enough, so the cost is
/// O(n) on average and O(n log n) at worst. Used for percentiles of whole volumes (tens of millions of
/// voxels, where a full sort took seconds).
enum OrderStatistics {
    /// Rearranges `values[range]` so that `values[k]` is the value a full sort would put there, every
    /// element before it is ≤ it and every element after it ≥ it; returns `values[k]`. No NaN allowed.
    static func select(_ k: Int, in values: inout [Float], range: Range<Int>? = nil) -> Float {
        var lo = range?.lowerBound ?? 0, hi = (range?.upperBound ?? values.count) - 1
        precondition(lo <= k && k <= hi, "rank \(k) outside \(lo)...\(hi)")
        var budget = 2 * (Int.bitWidth - (hi - lo + 1).leadingZeroBitCount) + 8
        values.withUnsafeMutableBufferPointer { a in
            while hi - lo > 16 {
                budget -= 1
                if budget == 0 { break }
                let middle = lo + (hi - lo) / 2
                if a[middle] < a[lo] { a.swapAt(middle, lo) }
                if a[hi] < a[lo] { a.swapAt(hi, lo) }
                if a[hi] < a[middle] { a.swapAt(hi, middle) }
                let pivot = a[middle]
                var i = lo, j = hi
                while i <= j {
                    while a[i] < pivot { i += 1 }
                    while pivot < a[j] { j -= 1 }
                    if i <= j {
                        a.swapAt(i, j)
                        i += 1
                        j -= 1
                    }
                }
                if k <= j { hi = j } else if k >= i { lo = i } else { return }
            }
            a[lo...hi].sort()
        }
        return values[k]
    }

    /// The smallest of `values[range]`.
    static func minimum(of values: [Float], in range: Range<Int>) -> Float {
        var smallest = Float.infinity
        for index in range { smallest = min(smallest, values[index]) }
        return smallest
    }
}
