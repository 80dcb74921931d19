import Foundation
import TensorCore
import TensorKernels
import Training

/// A fitted logistic regression: `z = coefficients · x + intercepts`.
///
/// - `.multiClass` with 2 classes: one row (class 1 against class 0), probabilities `[1 − σ(z), σ(z)]`;
///   with K ≥ 3 classes: K rows (multinomial), probabilities `softmax(z)`; intercepts centred to mean 0.
/// - `.multiLabel`: one independent binary model per label, probabilities `σ(z)` per label.
public struct LogisticRegressionModel: Sendable {
    /// `[rows][features]`.
    public let coefficients: [[Double]]
    /// One per row of `coefficients`.
    public let intercepts: [Double]
    /// Whether each row is an independent label.
    public let isMultiLabel: Bool
    /// Outputs of `probabilities`.
    public let classes: Int
    /// L-BFGS iterations of the fit: one per label for multi-label models, a single entry otherwise.
    public let iterations: [Int]

    /// Probabilities `[items, classes]` of `features` `[items, featureCount]`.
    public func probabilities(_ features: Tensor) throws -> Tensor {
        let columns = coefficients[0].count
        guard features.rank == 2, features.shape[1] == columns else {
            throw TrainingError("features \(features.shape) do not have the model's \(columns) columns")
        }
        let items = features.shape[0]
        return features.withUnsafeBufferPointer { x in
            Tensor(uninitializedShape: [items, classes]) { output in
                for item in 0..<items {
                    let z = coefficients.indices.map { k in
                        (0..<columns).reduce(intercepts[k]) { $0 + coefficients[k][$1] * Double(x[item * columns + $1]) }
                    }
                    let row = output.baseAddress! + item * classes
                    if isMultiLabel || classes == 2 {
                        let p = z.map { $0 >= 0 ? 1 / (1 + exp(-$0)) : exp($0) / (1 + exp($0)) }
                        if isMultiLabel { for k in 0..<classes { row[k] = Float(p[k]) } } else { row[0] = Float(1 - p[0]); row[1] = Float(p[0]) }
                    } else {
                        let maximum = z.max()!
                        let e = z.map { exp($0 - maximum) }
                        let total = e.reduce(0, +)
                        for k in 0..<classes { row[k] = Float(e[k] / total) }
                    }
                }
            }
        }
    }
}

/// L2-regularised logistic regression by L-BFGS in `Double`, with scikit-learn's parametrisation
/// (`LogisticRegression(solver="lbfgs", C=C, fit_intercept=True)`: minimises `C·Σᵢ ℓᵢ + ½‖W‖²`, intercepts
/// not penalised; multinomial for three or more classes, a single binary model for two) and one binary
/// model per label for multi-label targets (items whose label is unknown, NaN, are left out of that label's
/// model). DINOv2's `log_regression.py` sweeps `C` over `dinov2InverseRegularisations` on a validation set
/// and refits the best on training + validation.
public enum LogisticRegression {
    /// `C = 10^(−6 + 11·i/44)` for `i` in `0..<45` (DINOv2's `10**torch.linspace(-6, 5, 45)`, in `Double`).
    public static let dinov2InverseRegularisations: [Double] = (0..<45).map { pow(10, -6 + 11 * Double($0) / 44) }

    /// The reference's iteration cap.
    public static let defaultMaxIterations = 1_000

    /// Fits `features` `[items, featureCount]` against `targets`. Iteration stops when every component of
    /// the gradient of the per-item objective is at most `gradientTolerance`, or after `maxIterations`.
    /// L-BFGS starts from `initialModel` when given (a warm start: a model of the same kind, outputs and
    /// feature count, such as the fit for a neighbouring `C`), else from zero; the objective is strictly
    /// convex, so the start changes only the iterations needed, not the optimum.
    public static func fit(features: Tensor, targets: ProbeTargets, inverseRegularisation: Double,
                           maxIterations: Int = defaultMaxIterations, gradientTolerance: Double = 1e-10,
                           initialModel: LogisticRegressionModel? = nil, context: ComputeContext) throws -> LogisticRegressionModel {
        guard inverseRegularisation > 0, inverseRegularisation.isFinite else { throw TrainingError("C must be finite and > 0, not \(inverseRegularisation)") }
        guard features.rank == 2, features.shape[0] > 0, features.shape[1] > 0 else { throw TrainingError("features must be a non-empty [items, features] matrix, not \(features.shape)") }
        try targets.validate(itemCount: features.shape[0], role: "the logistic-regression training set")
        guard features.withUnsafeBufferPointer({ $0.allSatisfy(\.isFinite) }) else { throw TrainingError("features hold a non-finite value") }
        let (rows, columns) = (features.shape[0], features.shape[1])
        let isMultiLabel: Bool
        if case .multiLabel = targets { isMultiLabel = true } else { isMultiLabel = false }
        if let initialModel {
            guard initialModel.isMultiLabel == isMultiLabel, initialModel.classes == targets.classes, initialModel.coefficients[0].count == columns else {
                throw TrainingError("the initial model (\(initialModel.classes) outputs of \(initialModel.coefficients[0].count) features) does not fit \(targets.classes) outputs of \(columns) features")
            }
        }
        let solver = LBFGS(maxIterations: maxIterations, gradientTolerance: gradientTolerance)

        /// Rows `outputRows` of the model, fitted from the initial model's rows (or zero).
        func solve(_ objective: LogisticObjective, outputRows: Range<Int>) throws -> (rows: [[Double]], iterations: Int) {
            let start = initialModel.map { model in outputRows.flatMap { model.coefficients[$0] + [model.intercepts[$0]] } }
                ?? [Double](repeating: 0, count: objective.parameterCount)
            let solution = try solver.minimize(from: start, objective: objective.evaluate)
            return ((0..<objective.outputs).map { Array(solution.x[$0 * (columns + 1)..<($0 + 1) * (columns + 1)]) }, solution.iterations)
        }

        var rowsOut: [[Double]], iterations: [Int]
        switch targets {
        case .multiClass(let labels, let classes):
            guard classes >= 2, Set(labels).count == classes else {
                throw TrainingError("every one of the \(classes) classes (at least two) must occur in the training labels")
            }
            let outputs = classes == 2 ? 1 : classes
            let objectiveTargets: LogisticObjective.Targets = classes == 2 ? .binary(labels.map(Double.init)) : .classes(labels)
            let fitted = try solve(LogisticObjective(features: features, outputs: outputs, targets: objectiveTargets,
                                                     inverseRegularisation: inverseRegularisation, context: context),
                                   outputRows: 0..<outputs)
            (rowsOut, iterations) = (fitted.rows, [fitted.iterations])
            if classes > 2 {
                let meanIntercept = rowsOut.map { $0[columns] }.reduce(0, +) / Double(classes)
                for k in rowsOut.indices { rowsOut[k][columns] -= meanIntercept }
            }
        case .multiLabel(let labelTensor):
            let labels = labelTensor.scalars, classes = targets.classes
            let fits = try (0..<classes).map { label in
                let y = (0..<rows).map { Double(labels[$0 * classes + label]) }
                guard y.contains(0), y.contains(1) else {
                    throw TrainingError("label \(label) needs both positive and negative known training targets")
                }
                return try solve(LogisticObjective(features: features, outputs: 1, targets: .binary(y),
                                                   inverseRegularisation: inverseRegularisation, context: context),
                                 outputRows: label..<label + 1)
            }
            (rowsOut, iterations) = (fits.map { $0.rows[0] }, fits.map(\.iterations))
        }
        if let bad = rowsOut.firstIndex(where: { !$0.allSatisfy(\.isFinite) }) { throw TrainingError("the fit of output \(bad) diverged") }
        return LogisticRegressionModel(coefficients: rowsOut.map { Array($0.dropLast()) }, intercepts: rowsOut.map { $0[columns] },
                                       isMultiLabel: isMultiLabel, classes: targets.classes, iterations: iterations)
    }
}
