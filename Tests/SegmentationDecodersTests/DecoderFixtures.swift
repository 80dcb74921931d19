import Foundation
import TensorCore
import TestSupport
import XCTest

/// A tensor as the fixture generator writes it: shape and row-major values.
struct FixtureTensor: Decodable {
    let shape: [Int]
    let values: [Float]

    var tensor: Tensor { Tensor(shape: shape, values: values) }
}

/// Decodes `Tests/Fixtures/decoders/<name>` (snake_case keys) into `T`.
func decodeDecoderFixture<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(T.self, from: Data(contentsOf: Fixtures.url("decoders/\(name)")))
}

extension Dictionary where Key == String, Value == FixtureTensor {
    /// The tensors by key.
    var tensors: [String: Tensor] { mapValues(\.tensor) }
}

/// Compares every expected gradient by key with a tolerance of `relative · max(1, max |expected|)`, and
/// checks that no key is missing or extra.
func assertGradientsClose(_ actual: [String: Tensor], _ expected: [String: FixtureTensor], relative: Float,
                          file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(Set(actual.keys), Set(expected.keys), "gradient keys", file: file, line: line)
    for (key, value) in expected {
        guard let gradient = actual[key] else { continue }
        assertClose(gradient, value.tensor, tolerance: relative * Swift.max(1, value.values.map(abs).max() ?? 0), "\(key) gradient",
                    file: file, line: line)
    }
}
