import TensorCore
import TestSupport
import Training
import XCTest

final class LossTests: XCTestCase {
    private func cases() throws -> [String: LossCase] { try decodeFixture([String: LossCase].self, "losses.json") }

    func testBinaryCrossEntropyMatchesTorchWithMaskedLabels() throws {
        let fixture = try XCTUnwrap(cases()["bce"])
        let targets = Tensor(shape: fixture.shape, values: try XCTUnwrap(fixture.targets).map { $0 ?? .nan })
        let result = try BinaryCrossEntropy.loss(logits: Tensor(shape: fixture.shape, values: fixture.logits), targets: targets)
        XCTAssertEqual(result.value, fixture.value, accuracy: 1e-6)
        assertClose(result.gradient, Tensor(shape: fixture.shape, values: fixture.gradient), tolerance: 1e-6, "BCE gradient")
        XCTAssertEqual(result.gradient[0, 1], 0, "an unknown label has no gradient")
    }

    func testBinaryCrossEntropyWithoutKnownLabelsIsZero() throws {
        let result = try BinaryCrossEntropy.loss(logits: Tensor(shape: [2, 2], values: [1, -2, 3, 4]),
                                                 targets: Tensor(shape: [2, 2], repeating: .nan))
        XCTAssertEqual(result.value, 0)
        XCTAssertEqual(result.gradient.scalars, [0, 0, 0, 0])
    }

    func testBinaryCrossEntropyRejectsBadTargets() {
        let logits = Tensor(shape: [1, 2], values: [0, 0])
        XCTAssertThrowsError(try BinaryCrossEntropy.loss(logits: logits, targets: Tensor(shape: [1, 2], values: [1, 2])))
        XCTAssertThrowsError(try BinaryCrossEntropy.loss(logits: logits, targets: Tensor(shape: [2, 1], values: [1, 0])))
    }

    func testCrossEntropyMatchesTorch() throws {
        let fixture = try XCTUnwrap(cases()["cross_entropy"])
        let result = try CrossEntropy.loss(logits: Tensor(shape: fixture.shape, values: fixture.logits),
                                           labels: try XCTUnwrap(fixture.labels))
        XCTAssertEqual(result.value, fixture.value, accuracy: 1e-6)
        assertClose(result.gradient, Tensor(shape: fixture.shape, values: fixture.gradient), tolerance: 1e-6, "CE gradient")
    }

    func testCrossEntropyRejectsBadLabels() {
        let logits = Tensor(shape: [2, 3], repeating: 0)
        XCTAssertThrowsError(try CrossEntropy.loss(logits: logits, labels: [0, 3]))
        XCTAssertThrowsError(try CrossEntropy.loss(logits: logits, labels: [0]))
    }
}
