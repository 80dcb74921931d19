import Backpropagation
import TensorCore
import XCTest

/// Deterministic uniform values for tests (a 64-bit LCG).
struct TestRandom {
    var state: UInt64
    mutating func next(in range: ClosedRange<Float> = -1...1) -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return range.lowerBound + (range.upperBound - range.lowerBound) * Float(state >> 40) / Float(1 << 24)
    }
    mutating func tensor(_ shape: [Int], in range: ClosedRange<Float> = -1...1) -> Tensor {
        Tensor(shape: shape, values: (0..<Tensor.elementCount(shape)).map { _ in next(in: range) })
    }
}

/// Replaces every parameter of a module with random values (LayerNorm weights and LayerScale around 1).
struct RandomParameters: ParameterVisitor {
    var random: TestRandom
    mutating func visit(_ key: String, _ parameter: inout Tensor) {
        let aroundOne = key.hasSuffix("gamma") || (key.contains("norm") && key.hasSuffix("weight"))
        parameter = random.tensor(parameter.shape, in: aroundOne ? 0.5...1.5 : -0.5...0.5)
    }
}

extension ParameterContainer {
    func randomized(seed: UInt64) -> Self {
        var copy = self
        var visitor = RandomParameters(random: TestRandom(state: seed))
        copy.visitParameters(&visitor, scope: ParameterScope())
        return copy
    }
}

/// Central finite differences in float64 of `L(values) = Σ f(values) ⊙ r` for every element of every named input,
/// compared with the analytic (float32) gradients: each element must satisfy
/// `|analytic − numeric| ≤ tolerance · max(1, |numeric|)`.
func checkGradients(inputs: [String: Tensor], analytic: [String: Tensor], outputWeights r: Tensor, tolerance: Double = 2e-4,
                    step: Double = 1e-5, file: StaticString = #filePath, line: UInt = #line,
                    _ f: (DoubleReference.Values) -> [Double]) {
    let weights = r.scalars.map(Double.init)
    var values = inputs.mapValues { $0.scalars.map(Double.init) }
    func loss() -> Double { zip(f(values), weights).reduce(0) { $0 + $1.0 * $1.1 } }
    XCTAssertEqual(f(values).count, weights.count, "reference output size", file: file, line: line)
    for name in inputs.keys.sorted() {
        guard let gradient = analytic[name] else { XCTFail("no analytic gradient for \(name)", file: file, line: line); continue }
        XCTAssertEqual(gradient.shape, inputs[name]!.shape, "shape of the gradient of \(name)", file: file, line: line)
        var worst = 0.0
        for i in 0..<values[name]!.count {
            let original = values[name]![i]
            values[name]![i] = original + step
            let up = loss()
            values[name]![i] = original - step
            let down = loss()
            values[name]![i] = original
            let numeric = (up - down) / (2 * step)
            worst = max(worst, abs(Double(gradient.scalars[i]) - numeric) / max(1, abs(numeric)))
        }
        XCTAssertLessThanOrEqual(worst, tolerance, "gradient of \(name)", file: file, line: line)
    }
}

/// `[key: gradient]` of a gradient-holding module.
func gradientsByKey<Module: ParameterContainer>(_ module: Module, prefix: String = "") -> [String: Tensor] {
    var result: [String: Tensor] = [:]
    for (key, value) in module.namedParameters() { result[prefix + key] = value }
    return result
}
