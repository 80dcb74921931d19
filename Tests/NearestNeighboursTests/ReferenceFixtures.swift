import Foundation
import TensorCore
import TestSupport

/// `Tests/Fixtures/knn/knn.json`: DINOv2 `KnnModule` outputs (see scripts/make_knn_fixtures.py).
struct DINOv2KNNReference: Decodable {
    let labels: [Int]
    let nbKnn: [Int]
    let temperature: Float
    let scores: [String: [[Double]]]
    let neighbourIndices: [[Int]]
    let neighbourSimilarities: [[Double]]
}

/// `Tests/Fixtures/knn/mlknn.json`: scikit-multilearn `MLkNN` outputs (see scripts/make_knn_fixtures.py).
struct MLkNNReference: Decodable {
    let labels: [[Int]]
    let k: Int
    let priorPositive: [Double]
    let likelihoodPositive: [[Double]]
    let likelihoodNegative: [[Double]]
    let queryProbabilities: [[Double]]
    let queryJointPositive: [[Double]]
    let queryPredictions: [[Int]]
    let supportProbabilities: [[Double]]
    let supportPredictions: [[Int]]
}

enum ReferenceFixtures {
    static func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(contentsOf: Fixtures.url("knn/\(name)")))
    }

    /// A `[rows, columns]` tensor from nested rows.
    static func matrix<Value: BinaryFloatingPoint>(_ rows: [[Value]]) -> Tensor {
        Tensor(shape: [rows.count, rows.first?.count ?? 0], values: rows.flatMap { $0.map { Float($0) } })
    }

    static func matrix(_ rows: [[Int]]) -> Tensor {
        Tensor(shape: [rows.count, rows.first?.count ?? 0], values: rows.flatMap { $0.map { Float($0) } })
    }
}
