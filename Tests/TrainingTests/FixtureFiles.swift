import Foundation
import TensorCore
import TestSupport

/// Decodes `Tests/Fixtures/linear/<name>` into `T`.
func decodeFixture<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: Fixtures.url("linear/\(name)")))
}

/// A loss case: logits, targets (nil for NaN) or labels, the value and the gradient PyTorch gives.
struct LossCase: Decodable {
    let shape: [Int]
    let logits: [Float]
    let targets: [Float?]?
    let labels: [Int]?
    let value: Float
    let gradient: [Float]
}

/// An optimizer run: initial weight [3, 4] and bias [3], the gradient of every step, the rates of the
/// two groups before each step and the parameters after each step.
struct OptimizerRun: Decodable {
    let weight: [Float]
    let bias: [Float]
    let gradients: [[[Float]]]
    let rates: [[Double]]
    let trajectory: [[[Float]]]
    let norms: [Float]
}
