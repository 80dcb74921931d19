import Metrics
import XCTest

/// The separable distance transform against a brute-force nearest-feature search.
final class SegmentationDistanceTransformTests: XCTestCase {
    /// min over features of Σ ((index − feature index) · spacing)², C order.
    private func bruteForce(_ features: [Bool], shape: [Int], spacing: [Double]) -> [Double] {
        func coordinates(_ index: Int) -> [Int] {
            var rest = index
            return shape.indices.reversed().map { axis in
                defer { rest /= shape[axis] }
                return rest % shape[axis]
            }.reversed()
        }
        let points = features.indices.filter { features[$0] }.map(coordinates)
        return features.indices.map { index in
            let here = coordinates(index)
            return points.map { point in
                zip(zip(here, point), spacing).reduce(0.0) { sum, pair in
                    let offset = Double(pair.0.0 - pair.0.1) * pair.1
                    return sum + offset * offset
                }
            }.min() ?? .infinity
        }
    }

    /// About `probability · count` scattered features from a fixed multiplicative hash of the index.
    private func randomFeatures(count: Int, probability: Double, seed: UInt64) -> [Bool] {
        (0..<count).map { index in
            let hash = (UInt64(index) &+ seed &* 0x9E37_79B9) &* 0x9E37_79B9_7F4A_7C15
            return Double(hash >> 11) * 0x1p-53 < probability
        }
    }

    func testMatchesBruteForceIn3DWithAnisotropicSpacing() throws {
        // Axis 0's lines are 3 · 37 = 111 apart: gathered in blocks of 16 with a partial last block.
        for (shape, probability) in [([5, 3, 37], 0.02), ([7, 9, 11], 0.005), ([4, 6, 5], 0.3)] {
            let features = randomFeatures(count: shape.reduce(1, *), probability: probability, seed: UInt64(shape[0]))
            let spacing = [2.5, 0.8, 1.1]
            let actual = try DistanceTransform.squaredEuclidean(isFeature: features, shape: shape, spacing: spacing)
            let expected = bruteForce(features, shape: shape, spacing: spacing)
            for index in actual.indices {
                XCTAssertEqual(actual[index], expected[index], accuracy: 1e-9 * max(1, expected[index]), "\(shape) voxel \(index)")
            }
        }
    }

    func testMatchesBruteForceIn2D() throws {
        let shape = [13, 17]
        let features = randomFeatures(count: 13 * 17, probability: 0.03, seed: 5)
        let actual = try DistanceTransform.squaredEuclidean(isFeature: features, shape: shape, spacing: [0.7, 1.3])
        let expected = bruteForce(features, shape: shape, spacing: [0.7, 1.3])
        for index in actual.indices { XCTAssertEqual(actual[index], expected[index], accuracy: 1e-9, "voxel \(index)") }
    }

    func testNoFeaturesIsInfiniteEverywhere() throws {
        let distances = try DistanceTransform.squaredEuclidean(isFeature: [Bool](repeating: false, count: 12), shape: [3, 4], spacing: [1, 1])
        XCTAssertTrue(distances.allSatisfy { $0 == .infinity })
    }

    func testRefusesMismatchedInput() {
        XCTAssertThrowsError(try DistanceTransform.squaredEuclidean(isFeature: [true], shape: [2, 2], spacing: [1, 1]))
        XCTAssertThrowsError(try DistanceTransform.squaredEuclidean(isFeature: [true, false], shape: [1, 2], spacing: [1]))
    }
}
