import Metrics
import XCTest

/// Scores are computed per case (image or volume) and then averaged, never pooled over voxels.
final class SegmentationCohortTests: XCTestCase {
    /// A 4 × 10 × 10 volume with class 1 on the first `voxels` voxels (C order).
    private func volume(firstVoxels voxels: Int) throws -> [Int32] {
        (0..<400).map { $0 < voxels ? 1 : 0 }
    }

    func testPerVolumeMeanDiffersFromPooledVoxels() throws {
        // Volume A: 300 voxels found exactly (Dice 1). Volume B: one voxel, missed (Dice 0).
        let truthA = try volume(firstVoxels: 300), truthB = try volume(firstVoxels: 1), missed = try volume(firstVoxels: 0)
        let shape = [4, 10, 10]
        let a = try SegmentationMetrics.evaluate(prediction: LabelMap(shape: shape, labels: truthA), truth: LabelMap(shape: shape, labels: truthA))
        let b = try SegmentationMetrics.evaluate(prediction: LabelMap(shape: shape, labels: missed), truth: LabelMap(shape: shape, labels: truthB),
                                                 classCount: 2)
        let cohort = try SegmentationCohortScores(cases: [a, b])
        XCTAssertEqual(cohort.meanDice, 0.5)
        XCTAssertEqual(cohort.meanJaccard, 0.5)
        XCTAssertEqual(cohort.studyScore, 0.5)
        XCTAssertEqual(cohort.meanDice(label: 1), 0.5)
        XCTAssertEqual(cohort.meanHausdorff(label: 1), 0, "volume B has no HD95 (empty prediction), so only A counts")

        // Pooling both volumes' voxels (as if one 8-slice volume) hides the missed case: 600 / 601.
        let pooled = try SegmentationMetrics.evaluate(prediction: LabelMap(shape: [8, 10, 10], labels: truthA + missed),
                                                      truth: LabelMap(shape: [8, 10, 10], labels: truthA + truthB))
        XCTAssertEqual(try XCTUnwrap(pooled.meanDice), 600.0 / 601.0, accuracy: 1e-15)
        XCTAssertNotEqual(pooled.meanDice, cohort.meanDice)
    }

    func testCasesWithoutAnyDefinedClassAreLeftOut() throws {
        let empty = try LabelMap(shape: [2, 2], labels: [0, 0, 0, 0] as [Int32])
        let hit = try LabelMap(shape: [2, 2], labels: [1, 0, 0, 0] as [Int32])
        let cohort = try SegmentationCohortScores(cases: [
            SegmentationMetrics.evaluate(prediction: empty, truth: empty, classCount: 2),
            SegmentationMetrics.evaluate(prediction: hit, truth: hit),
        ])
        XCTAssertEqual(cohort.meanDice, 1)
    }

    func testRefusesNoCasesAndMixedClassCounts() throws {
        XCTAssertThrowsError(try SegmentationCohortScores(cases: []))
        let map = try LabelMap(shape: [2, 2], labels: [1, 0, 0, 0] as [Int32])
        XCTAssertThrowsError(try SegmentationCohortScores(cases: [
            SegmentationMetrics.evaluate(prediction: map, truth: map),
            SegmentationMetrics.evaluate(prediction: map, truth: map, classCount: 3),
        ]))
    }
}
