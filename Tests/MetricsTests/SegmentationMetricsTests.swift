import Metrics
import XCTest

/// Hand-checkable Dice, Jaccard and HD95 cases, the absent-class convention, and bad input.
final class SegmentationMetricsTests: XCTestCase {
    /// A 2D map of `shape` with `label` on the listed (row, column) pixels.
    private func map(_ shape: [Int], _ pixels: [(Int, Int, Int32)]) throws -> LabelMap {
        var labels = [Int32](repeating: 0, count: shape[0] * shape[1])
        for (row, column, label) in pixels { labels[row * shape[1] + column] = label }
        return try LabelMap(shape: shape, labels: labels)
    }

    private func square(rows: ClosedRange<Int>, columns: ClosedRange<Int>, label: Int32) -> [(Int, Int, Int32)] {
        rows.flatMap { r in columns.map { c in (r, c, label) } }
    }

    func testShiftedSquareByHand() throws {
        // 3 × 3 squares one column apart: |P∩T| = 6 of 9 + 9. With 2 mm rows and 0.5 mm columns every
        // surface pixel of one square is 0 or 0.5 mm from the other's surface, so HD95 = 0.5 mm.
        let truth = try map([6, 6], square(rows: 1...3, columns: 1...3, label: 1))
        let prediction = try map([6, 6], square(rows: 1...3, columns: 2...4, label: 1))
        let scores = try SegmentationMetrics.evaluate(prediction: prediction, truth: truth, spacing: [2, 0.5])
        XCTAssertEqual(scores.classCount, 2)
        XCTAssertEqual(scores[label: 1].dice, 2.0 / 3.0)
        XCTAssertEqual(scores[label: 1].jaccard, 0.5)
        XCTAssertEqual(scores[label: 1].hausdorff, 0.5)
        XCTAssertEqual(scores.studyScore, (2.0 / 3.0 + 0.5) / 2)
    }

    func testSingleVoxelsAreTheirDistanceApartWithAnisotropicSpacing() throws {
        var prediction = [Int32](repeating: 0, count: 4 * 5 * 3), truth = prediction
        prediction[0] = 1
        truth[(2 * 5 + 3) * 3 + 1] = 1  // (2, 3, 1)
        let scores = try SegmentationMetrics.evaluate(prediction: LabelMap(shape: [4, 5, 3], labels: prediction),
                                                      truth: LabelMap(shape: [4, 5, 3], labels: truth), spacing: [2.5, 0.8, 1.1])
        let expected = ((2 * 2.5) * (2 * 2.5) + (3 * 0.8) * (3 * 0.8) + 1.1 * 1.1).squareRoot()
        XCTAssertEqual(try XCTUnwrap(scores[label: 1].hausdorff), expected, accuracy: 1e-12)
        XCTAssertEqual(scores[label: 1].dice, 0)
    }

    func testHD95IsTheLargerDirectedPercentileNotThePercentileOfTheUnion() throws {
        // A 1 × 21 row: truth fills it, the prediction is its first pixel. d(P→T) = [0];
        // d(T→P) = 0, 1, …, 20 mm, whose 95th percentile is 19. The union's would be 18.95.
        let truth = try map([1, 21], (0..<21).map { (0, $0, 1) })
        let prediction = try map([1, 21], [(0, 0, 1)])
        let scores = try SegmentationMetrics.evaluate(prediction: prediction, truth: truth)
        XCTAssertEqual(try XCTUnwrap(scores[label: 1].hausdorff), 19, accuracy: 1e-12)
        let classic = try HausdorffDistance.percentile(100, prediction: prediction.labels.map { $0 == 1 },
                                                       truth: truth.labels.map { $0 == 1 }, shape: [1, 21], spacing: [1, 1])
        XCTAssertEqual(classic, 20)
    }

    func testInteriorVoxelsAreNotSurface() throws {
        // A filled 5 × 5 truth and its 3 × 3 core. The core's ring is 1 px from the truth's ring and the
        // truth's corners √2 px from the core's, so HD100 = √2. Were the core's centre surface it would
        // be 2 px from the truth's ring; were the whole truth surface, d(P→T) would be 0.
        let truth = try map([7, 7], square(rows: 1...5, columns: 1...5, label: 1))
        let prediction = try map([7, 7], square(rows: 2...4, columns: 2...4, label: 1))
        let classic = try HausdorffDistance.percentile(100, prediction: prediction.labels.map { $0 == 1 },
                                                       truth: truth.labels.map { $0 == 1 }, shape: [7, 7], spacing: [1, 1])
        XCTAssertEqual(try XCTUnwrap(classic), 2.0.squareRoot(), accuracy: 1e-15)
        let toTruthOnly = try HausdorffDistance.percentile(100, prediction: prediction.labels.map { $0 == 1 },
                                                           truth: prediction.labels.map { $0 == 1 }, shape: [7, 7], spacing: [1, 1])
        XCTAssertEqual(toTruthOnly, 0)
    }

    func testIdenticalMapsScoreOne() throws {
        let labels = try map([8, 9], square(rows: 0...3, columns: 0...8, label: 1) + square(rows: 5...7, columns: 2...4, label: 2))
        let scores = try SegmentationMetrics.evaluate(prediction: labels, truth: labels, spacing: [0.7, 1.3])
        for label in 1...2 {
            XCTAssertEqual(scores[label: label].dice, 1)
            XCTAssertEqual(scores[label: label].jaccard, 1)
            XCTAssertEqual(scores[label: label].hausdorff, 0)
        }
        XCTAssertEqual(scores.studyScore, 1)
    }

    func testAbsentClassIsUndefinedAndLeftOutOfTheMeans() throws {
        // Class 1 perfect, class 2 absent from both maps, class 3 only in the truth.
        let truth = try map([4, 4], [(0, 0, 1), (3, 3, 3)])
        let prediction = try map([4, 4], [(0, 0, 1)])
        let scores = try SegmentationMetrics.evaluate(prediction: prediction, truth: truth, classCount: 4)
        XCTAssertEqual(scores.classes.map(\.label), [1, 2, 3])
        XCTAssertNil(scores[label: 2].dice)
        XCTAssertNil(scores[label: 2].jaccard)
        XCTAssertNil(scores[label: 2].hausdorff)
        XCTAssertEqual(scores[label: 2].missingMask, .both)
        XCTAssertEqual(scores[label: 3].dice, 0)
        XCTAssertEqual(scores[label: 3].jaccard, 0)
        XCTAssertNil(scores[label: 3].hausdorff)
        XCTAssertEqual(scores[label: 3].missingMask, .prediction)
        XCTAssertNil(scores[label: 1].missingMask)
        XCTAssertEqual(scores.meanDice, 0.5, "mean of classes 1 and 3 only")
        XCTAssertEqual(scores.meanJaccard, 0.5)
    }

    func testClassCountDefaultsToTheLargestLabelPlusOne() throws {
        let truth = try map([3, 3], [(0, 0, 2)]), prediction = try map([3, 3], [(1, 1, 4)])
        let scores = try SegmentationMetrics.evaluate(prediction: prediction, truth: truth)
        XCTAssertEqual(scores.classCount, 5)
        XCTAssertEqual(scores[label: 4].missingMask, .truth)
        let background = try SegmentationMetrics.evaluate(prediction: map([2, 2], []), truth: map([2, 2], []))
        XCTAssertEqual(background.classes, [])
        XCTAssertNil(background.meanDice)
    }

    func testSkippingSurfaceDistancesLeavesOverlapScores() throws {
        let truth = try map([3, 3], [(0, 0, 1)])
        let scores = try SegmentationMetrics.evaluate(prediction: truth, truth: truth, hausdorffPercentile: nil)
        XCTAssertEqual(scores[label: 1].dice, 1)
        XCTAssertNil(scores[label: 1].hausdorff)
    }

    func testLabelMapsFromBytesAndFloatsAgree() throws {
        let ints = try LabelMap(shape: [2, 3], labels: [0, 1, 2, 3, 255, 0] as [Int32])
        XCTAssertEqual(try LabelMap(shape: [2, 3], labels: [0, 1, 2, 3, 255, 0] as [UInt8]), ints)
        XCTAssertEqual(try LabelMap(shape: [2, 3], values: [0, 1, 2, 3, 255, 0]), ints)
        XCTAssertEqual(ints.largestLabel, 255)
    }

    func testBadInputIsNamed() throws {
        XCTAssertThrowsError(try LabelMap(shape: [2, 2], values: [0, 1, 1.5, 0])) { error in
            XCTAssertEqual(error as? SegmentationMetricsError, .nonIntegerLabel(coordinates: [1, 0], value: 1.5))
            XCTAssertEqual("\(error)", "holds 1.5 at voxel (1, 0), which is not a whole-number label")
        }
        XCTAssertThrowsError(try LabelMap(shape: [1, 2, 2], values: [0, .nan, 0, 0])) { error in
            XCTAssertEqual("\(error)", "holds nan at voxel (0, 0, 1), which is not a whole-number label")
        }
        XCTAssertThrowsError(try LabelMap(shape: [2, 2], values: [0, 0, 0, -1])) { error in
            XCTAssertEqual("\(error)", "holds label -1 at voxel (1, 1); labels must lie in 0...65535")
        }
        XCTAssertThrowsError(try LabelMap(shape: [2, 2], values: [0, 0, 0, 1e30])) { error in
            XCTAssertEqual(error as? SegmentationMetricsError, .labelOutOfRange(coordinates: [1, 1], value: Double(Float(1e30))))
            XCTAssertEqual("\(error)", "holds label 1e+30 at voxel (1, 1); labels must lie in 0...65535")
        }
        XCTAssertThrowsError(try LabelMap(shape: [4], labels: [0, 0, 0, 0] as [Int32])) { error in
            XCTAssertEqual(error as? SegmentationMetricsError, .unsupportedShape([4]))
        }
        XCTAssertThrowsError(try LabelMap(shape: [2, 2], labels: [0, 0, 0] as [Int32])) { error in
            XCTAssertEqual(error as? SegmentationMetricsError, .labelCountMismatch(shape: [2, 2], count: 3))
        }
        let small = try map([2, 2], [(0, 0, 3)]), other = try map([2, 3], [])
        XCTAssertThrowsError(try SegmentationMetrics.evaluate(prediction: small, truth: other)) { error in
            XCTAssertEqual("\(error)", "the prediction has shape [2, 2] but the truth has shape [2, 3]")
        }
        XCTAssertThrowsError(try SegmentationMetrics.evaluate(prediction: small, truth: small, classCount: 3)) { error in
            XCTAssertEqual("\(error)", "the prediction holds label 3, but there are only 3 classes (labels 0...2)")
        }
        XCTAssertThrowsError(try SegmentationMetrics.evaluate(prediction: small, truth: small, spacing: [1, 0])) { error in
            XCTAssertEqual(error as? SegmentationMetricsError, .invalidSpacing(spacing: [1, 0], axes: 2))
        }
        XCTAssertThrowsError(try SegmentationMetrics.evaluate(prediction: small, truth: small, classCount: 0))
        XCTAssertThrowsError(try SegmentationMetrics.evaluate(prediction: small, truth: small, hausdorffPercentile: 101)) { error in
            XCTAssertEqual(error as? SegmentationMetricsError, .invalidPercentile(101))
        }
    }
}
