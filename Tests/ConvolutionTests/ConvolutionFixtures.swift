import Foundation
import TensorCore
import TestSupport

/// A tensor as the fixture generator writes it: shape and row-major values.
struct FixtureTensor: Decodable {
    let shape: [Int]
    let values: [Float]

    var tensor: Tensor { Tensor(shape: shape, values: values) }
}

/// Decodes `Tests/Fixtures/convolution/<name>` (snake_case keys) into `T`.
func decodeConvolutionFixture<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(T.self, from: Data(contentsOf: Fixtures.url("convolution/\(name)")))
}

/// The cases of one fixture file.
struct FixtureCases<Case: Decodable>: Decodable {
    let torch: String
    let cases: [Case]
}

/// A Conv2d or ConvTranspose2d case: parameters, output and every gradient PyTorch gives.
struct ConvolutionCase: Decodable {
    let name: String
    let stride: [Int]
    let padding: [Int]
    let input: FixtureTensor
    let weight: FixtureTensor
    let bias: FixtureTensor?
    let output: FixtureTensor
    let outputGradient: FixtureTensor
    let inputGradient: FixtureTensor
    let weightGradient: FixtureTensor
    let biasGradient: FixtureTensor?
}

/// A BatchNorm2d training step followed by an evaluation-mode forward.
struct BatchNormCase: Decodable {
    let name: String
    let weight: FixtureTensor
    let bias: FixtureTensor
    let runningMean: FixtureTensor
    let runningVar: FixtureTensor
    let input: FixtureTensor
    let output: FixtureTensor
    let outputGradient: FixtureTensor
    let inputGradient: FixtureTensor
    let weightGradient: FixtureTensor
    let biasGradient: FixtureTensor
    let runningMeanAfter: FixtureTensor
    let runningVarAfter: FixtureTensor
    let evalInput: FixtureTensor
    let evalOutput: FixtureTensor
}

/// A bilinear resize to `size` with its input gradient.
struct ResizeCase: Decodable {
    let name: String
    let size: [Int]
    let input: FixtureTensor
    let output: FixtureTensor
    let outputGradient: FixtureTensor
    let inputGradient: FixtureTensor
}
