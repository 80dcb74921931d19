import TensorCore

/// Checks on a `[rows, dimension]` feature tensor shared by the search and the classifiers.
enum FeatureMatrix {
    /// `(rows, dimension)` of `features` after checking it is a non-empty matrix of finite values.
    static func validatedShape(_ features: Tensor, set: String) throws -> (rows: Int, dimension: Int) {
        guard features.rank == 2 else { throw NearestNeighboursError.notAMatrix(set: set, shape: features.shape) }
        let (rows, dimension) = (features.shape[0], features.shape[1])
        guard rows > 0, dimension > 0 else { throw NearestNeighboursError.emptySet(set: set) }
        try features.withUnsafeBufferPointer { values in
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw NearestNeighboursError.nonFiniteFeature(set: set, row: bad / dimension, column: bad % dimension)
            }
        }
        return (rows, dimension)
    }

    /// `1 / max(‖row‖₂, 1e-12)`: the scale `torch.nn.functional.normalize` applies to a row
    /// (the norm accumulated in `Double`).
    static func inverseNorm(_ row: UnsafePointer<Float>, dimension: Int) -> Float {
        var squares = 0.0
        for i in 0..<dimension { squares += Double(row[i]) * Double(row[i]) }
        return Float(1 / max(squares.squareRoot(), 1e-12))
    }
}
