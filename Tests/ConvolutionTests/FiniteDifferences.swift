import TensorCore
import XCTest

/// `∂/∂xᵢ Σ_j f(x)_j · weights_j` by central differences in Double: the gradient a backward pass must
/// give for the upstream gradient `weights`.
func numericalGradient(at point: [Double], upstream weights: [Double], step: Double = 1e-5,
                       _ function: ([Double]) -> [Double]) -> [Double] {
    func loss(_ x: [Double]) -> Double { zip(function(x), weights).reduce(0) { $0 + $1.0 * $1.1 } }
    var x = point
    return point.indices.map { i in
        x[i] = point[i] + step
        let plus = loss(x)
        x[i] = point[i] - step
        let minus = loss(x)
        x[i] = point[i]
        return (plus - minus) / (2 * step)
    }
}

/// Fails unless every element of the Float `actual` is within `tolerance · max(1, |expected|)` of `expected`.
func assertMatches(_ actual: Tensor, _ expected: [Double], tolerance: Double = 1e-4, _ message: String,
                   file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(message): element count", file: file, line: line)
    let values = actual.scalars
    for (i, (a, e)) in zip(values, expected).enumerated() where !(abs(Double(a) - e) <= tolerance * max(1, abs(e))) {
        XCTFail("\(message): element \(i) is \(a), expected \(e)", file: file, line: line)
        return
    }
}

/// Deterministic values in [−1, 1) for test inputs (a linear congruential sequence; no shared state).
func testValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 23) - 1
    }
}

/// A tensor of `shape` filled by `testValues`.
func testTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    Tensor(shape: shape, values: testValues(Tensor.elementCount(shape), seed: seed))
}

extension Tensor {
    /// The elements as Doubles, for the Double reference loops.
    var doubles: [Double] { scalars.map(Double.init) }
}
