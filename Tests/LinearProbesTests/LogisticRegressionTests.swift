import Foundation
import LinearProbes
import TensorCore
import TensorKernels
import TestSupport
import Training
import XCTest

/// scikit-learn fits (scripts/make_linear_probe_fixtures.py).
private struct LogisticFixture: Decodable {
    struct Fit: Decodable {
        let kind: String, classes: Int, C: Double
        let features: [Float], labels: [Int]?, targets: [Float?]?, test: [Float]
        let coefficients: [Double], intercepts: [Double], probabilities: [Float]
    }

    struct Sweep: Decodable {
        let features: [Float], labels: [Int], validation_features: [Float], validation_labels: [Int]
        let values: [Double], scores: [Double], best: Int, coefficients: [Double], intercepts: [Double]
    }

    let fits: [Fit]
    let sweep: Sweep
}

final class LogisticRegressionTests: XCTestCase {
    private let context = ComputeContext(threads: 2)

    private func fixture() throws -> LogisticFixture {
        try JSONDecoder().decode(LogisticFixture.self, from: Data(contentsOf: Fixtures.url("linear/logistic.json")))
    }

    private func matrix(_ values: [Float]) -> Tensor { Tensor(shape: [values.count / 5, 5], values: values) }

    private func assertCoefficients(_ model: LogisticRegressionModel, _ coefficients: [Double], _ intercepts: [Double], _ label: String) {
        let flat = model.coefficients.flatMap { $0 }
        XCTAssertEqual(flat.count, coefficients.count, label)
        for (a, e) in zip(flat, coefficients) { XCTAssertEqual(a, e, accuracy: 1e-5, "\(label) coefficient") }
        for (a, e) in zip(model.intercepts, intercepts) { XCTAssertEqual(a, e, accuracy: 1e-5, "\(label) intercept") }
    }

    func testFitsMatchScikitLearn() throws {
        for fit in try fixture().fits {
            let targets: ProbeTargets = fit.kind == "multi_label"
                ? .multiLabel(Tensor(shape: [60, fit.classes], values: try XCTUnwrap(fit.targets).map { $0 ?? .nan }))
                : .multiClass(labels: try XCTUnwrap(fit.labels), classes: fit.classes)
            let model = try LogisticRegression.fit(features: matrix(fit.features), targets: targets, inverseRegularisation: fit.C, context: context)
            let label = "\(fit.kind) \(fit.classes) classes C \(fit.C)"
            assertCoefficients(model, fit.coefficients, fit.intercepts, label)
            let probabilities = try model.probabilities(matrix(fit.test))
            assertClose(probabilities, Tensor(shape: probabilities.shape, values: fit.probabilities), tolerance: 1e-5, label)
        }
    }

    func testSweepPicksTheReferenceCAndRefitsOnTrainingAndValidation() throws {
        let sweep = try fixture().sweep
        let result = try LogisticRegressionSweep(
            training: (matrix(sweep.features), .multiClass(labels: sweep.labels, classes: 3)),
            validation: (matrix(sweep.validation_features), .multiClass(labels: sweep.validation_labels, classes: 3)),
            values: sweep.values, context: context
        ) { probabilities, targets in
            guard case .multiClass(let labels, _) = targets else { return .nan }
            return labels.enumerated().map { log(Double(probabilities[$0.offset, $0.element])) }.reduce(0, +) / Double(labels.count)
        }
        for (a, e) in zip(result.scores, sweep.scores) { XCTAssertEqual(a, e, accuracy: 1e-5) }
        XCTAssertEqual(result.bestIndex, sweep.best)
        XCTAssertEqual(result.iterations.count, sweep.values.count)
        assertCoefficients(result.finalModel, sweep.coefficients, sweep.intercepts, "final model")
    }

    func testWarmStartReachesTheSameOptimumInFewerIterations() throws {
        let sweep = try fixture().sweep
        let (x, targets) = (matrix(sweep.features), ProbeTargets.multiClass(labels: sweep.labels, classes: 3))
        let previous = try LogisticRegression.fit(features: x, targets: targets, inverseRegularisation: sweep.values[2], context: context)
        let cold = try LogisticRegression.fit(features: x, targets: targets, inverseRegularisation: sweep.values[3], context: context)
        let warm = try LogisticRegression.fit(features: x, targets: targets, inverseRegularisation: sweep.values[3],
                                              initialModel: previous, context: context)
        assertCoefficients(warm, cold.coefficients.flatMap { $0 }, cold.intercepts, "warm start")
        XCTAssertLessThan(warm.iterations[0], cold.iterations[0])
        let binary = try LogisticRegression.fit(features: x, targets: .multiClass(labels: sweep.labels.map { min($0, 1) }, classes: 2),
                                                inverseRegularisation: 1, context: context)
        XCTAssertThrowsError(try LogisticRegression.fit(features: x, targets: targets, inverseRegularisation: 1, initialModel: binary,
                                                        context: context))
    }

    func testReferenceGridOfC() {
        let values = LogisticRegression.dinov2InverseRegularisations
        XCTAssertEqual(values.count, 45)
        XCTAssertEqual(values[0], 1e-6, accuracy: 1e-20)
        XCTAssertEqual(values[44], 1e5, accuracy: 1e-9)
        XCTAssertEqual(values[4], 1e-5, accuracy: 1e-18, "10^(−6 + 11·4/44)")
    }

    func testBadInputThrows() {
        let x = Tensor(shape: [4, 2], values: [0, 1, 1, 0, 1, 1, 0, 0])
        XCTAssertThrowsError(try LogisticRegression.fit(features: x, targets: .multiClass(labels: [0, 0, 0, 0], classes: 2),
                                                        inverseRegularisation: 1, context: context))
        XCTAssertThrowsError(try LogisticRegression.fit(features: x, targets: .multiClass(labels: [0, 1, 0], classes: 2),
                                                        inverseRegularisation: 1, context: context))
        XCTAssertThrowsError(try LogisticRegression.fit(features: x, targets: .multiClass(labels: [0, 1, 0, 1], classes: 2),
                                                        inverseRegularisation: 0, context: context))
    }
}
