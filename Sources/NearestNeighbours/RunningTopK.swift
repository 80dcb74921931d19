/// Keeps the `k` best `(similarity, index)` pairs seen so far for one query, sorted by similarity
/// descending, in caller-owned storage. Candidates must arrive in increasing index order: a candidate
/// equal to a kept similarity then ranks after it, so ties go to the lower support index.
struct RunningTopK {
    let similarities: UnsafeMutablePointer<Float>
    let indices: UnsafeMutablePointer<Int>
    let k: Int
    private(set) var count = 0

    init(similarities: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int>, k: Int) {
        self.similarities = similarities
        self.indices = indices
        self.k = k
    }

    /// Inserts the candidate if it beats the current `k`-th best.
    @inline(__always)
    mutating func offer(_ similarity: Float, index: Int) {
        if count == k {
            guard similarity > similarities[k - 1] else { return }
        } else {
            count += 1
        }
        var position = count - 1
        while position > 0 && similarity > similarities[position - 1] {
            similarities[position] = similarities[position - 1]
            indices[position] = indices[position - 1]
            position -= 1
        }
        similarities[position] = similarity
        indices[position] = index
    }
}
