import Foundation
import TensorCore

/// Principal components of patch features `[N, D]`: the eigenvectors of the sample covariance
/// `C = (X − μ)ᵀ(X − μ) / (N − 1)` with the largest eigenvalues, found by cyclic Jacobi rotations in double
/// precision. Eigenvectors are defined up to sign; each axis here has its largest-magnitude loading positive
/// (the first such loading on a tie), so the result is deterministic.
public struct PatchPCA: Sendable {
    /// Feature means μ, `[D]`.
    public let mean: [Double]
    /// Principal axes, unit length, by descending variance: `count × [D]`.
    public let axes: [[Double]]
    /// The variance along each axis (the covariance's eigenvalues).
    public let variances: [Double]

    /// The first `count` principal axes of `features` `[N, D]` (fewer when D is smaller); needs N ≥ 2.
    public init(features: Tensor, count: Int) throws {
        guard features.shape.count == 2, features.shape[0] >= 2, features.shape[1] >= 1 else {
            throw ReportError("PCA needs at least two feature rows [N, D]; got shape \(features.shape)")
        }
        let n = features.shape[0], d = features.shape[1]
        let values = features.scalars
        var mean = [Double](repeating: 0, count: d)
        for row in 0..<n { for j in 0..<d { mean[j] += Double(values[row * d + j]) } }
        mean = mean.map { $0 / Double(n) }
        var covariance = [Double](repeating: 0, count: d * d)
        for row in 0..<n {
            let centred = (0..<d).map { Double(values[row * d + $0]) - mean[$0] }
            for i in 0..<d where centred[i] != 0 {
                for j in i..<d { covariance[i * d + j] += centred[i] * centred[j] }
            }
        }
        for i in 0..<d { for j in i..<d {
            covariance[i * d + j] /= Double(n - 1)
            covariance[j * d + i] = covariance[i * d + j]
        } }
        let (eigenvalues, eigenvectors) = SymmetricEigen.decompose(covariance, size: d)
        let order = (0..<d).sorted { eigenvalues[$0] > eigenvalues[$1] || (eigenvalues[$0] == eigenvalues[$1] && $0 < $1) }.prefix(count)
        self.mean = mean
        variances = order.map { eigenvalues[$0] }
        axes = order.map { column in
            let axis = (0..<d).map { eigenvectors[$0 * d + column] }
            let largest = axis.indices.max { abs(axis[$0]) < abs(axis[$1]) || (abs(axis[$0]) == abs(axis[$1]) && $0 > $1) }!
            return axis[largest] < 0 ? axis.map { -$0 } : axis
        }
    }

    /// The centred rows of `features` `[N, D]` projected on the axes: `N × [count]`.
    public func project(_ features: Tensor) -> [[Double]] {
        let d = mean.count, values = features.scalars
        return (0..<features.shape[0]).map { row in
            axes.map { axis in (0..<d).reduce(0) { $0 + (Double(values[row * d + $1]) - mean[$1]) * axis[$1] } }
        }
    }
}

/// Eigen-decomposition of a real symmetric matrix by cyclic Jacobi rotations.
enum SymmetricEigen {
    /// Eigenvalues and eigenvectors (as the columns of a row-major `size × size` matrix) of the symmetric
    /// row-major `matrix`; sweeps until the off-diagonal mass is below 1e-24 of the total.
    static func decompose(_ matrix: [Double], size n: Int) -> (values: [Double], vectors: [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        let total = a.reduce(0) { $0 + $1 * $1 }
        for _ in 0..<64 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<max(p + 1, n) { off += a[p * n + q] * a[p * n + q] } }
            if off <= 1e-24 * total || total == 0 { break }
            for p in 0..<(n - 1) {
                for q in (p + 1)..<n {
                    let apq = a[p * n + q]
                    if apq == 0 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }
}
