import Foundation
import TensorCore

/// A one-line description of a feature matrix `[B, D]`: mean, standard deviation and mean L2 norm.
struct FeatureSummary: CustomStringConvertible {
    let mean: Double
    let standardDeviation: Double
    let meanNorm: Double

    init(cls: Tensor) {
        let values = cls.scalars.map(Double.init)
        let count = Double(max(values.count, 1))
        let average = values.reduce(0, +) / count
        mean = average
        standardDeviation = (values.reduce(0) { $0 + ($1 - average) * ($1 - average) } / count).squareRoot()
        let rows = cls.shape[0], width = cls.shape[1]
        meanNorm = (0..<rows).reduce(0) { total, row in
            total + values[row * width..<(row + 1) * width].reduce(0) { $0 + $1 * $1 }.squareRoot()
        } / Double(max(rows, 1))
    }

    var description: String { String(format: "mean %+.4f  std %.4f  mean L2 norm %.3f", mean, standardDeviation, meanNorm) }
}
