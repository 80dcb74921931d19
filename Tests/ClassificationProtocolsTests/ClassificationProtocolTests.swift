import ClassificationProtocols
import Datasets
import Evaluation
import FileAccess
import Foundation
import LinearProbes
import Metrics
import NearestNeighbours
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// The protocols on synthetic stores: parts by the split, each protocol's selection and test predictions
/// equal to the underlying classifiers run by hand, few-shot never training on validation, and the report.
final class ClassificationProtocolTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    func data(_ space: LabelSpace) throws -> (ProbeDataset, DatasetSplit, FeatureStore) {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let store = try SyntheticStore.write(at: root.appendingPathComponent("store"), space: space)
        let split = try SyntheticStore.split(of: store, at: root.appendingPathComponent("split.csv"))
        return (try ProbeDataset(store: store, split: split, splitFile: "split.csv"), split, store)
    }

    func bootstrap(_ resamples: Int = 50) throws -> BootstrapConfiguration { try BootstrapConfiguration(seed: 9, resamples: resamples) }

    func testPartsFollowTheSplitAndNameMissingRows() throws {
        let (data, split, _) = try data(.multiClass(classes: ["a", "b", "c"]))
        let parts = split.partsByID()
        for (part, name) in [(data.train, SplitPart.train), (data.validation!, .validation), (data.test, .test)] {
            XCTAssertTrue(part.ids.allSatisfy { parts[$0] == name })
            XCTAssertEqual(part.features.count, part.count)
        }
        XCTAssertEqual(data.train.count + data.validation!.count + data.test.count, 79)
        XCTAssertEqual(data.missingRows.values.flatMap { $0 }, ["img005.png"])
        XCTAssertTrue(Set(data.train.patients).isDisjoint(with: data.test.patients))
        XCTAssertTrue(Set(data.validation!.patients).isDisjoint(with: data.test.patients))
    }

    func testSplitOfAnotherCatalogAndSegmentationStoresAreRefused() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let store = try SyntheticStore.write(at: root.appendingPathComponent("a"), space: .multiClass(classes: ["a", "b", "c"]))
        let smaller = try SyntheticStore.write(at: root.appendingPathComponent("b"), space: .multiClass(classes: ["a", "b", "c"]), patients: 30)
        let split = try SyntheticStore.split(of: smaller, at: root.appendingPathComponent("split.csv"))
        XCTAssertThrowsError(try ProbeDataset(store: store, split: split, splitFile: "split.csv")) { error in
            XCTAssertTrue("\(error)".contains("split.csv: does not match dataset synthetic"), "\(error)")
        }
        let segmentation = try SyntheticStore.write(at: root.appendingPathComponent("c"), space: .segmentation(classes: ["bg", "x"]))
        XCTAssertThrowsError(try ProbeDataset(store: segmentation, split: try SyntheticStore.split(of: segmentation, at: root.appendingPathComponent("s2.csv")),
                                              splitFile: "s2.csv")) { error in
            XCTAssertTrue("\(error)".contains("segmentation dataset, which has no classification labels"), "\(error)")
        }
    }

    /// Validation scores of each k from the train support, the test scores of the chosen k from the
    /// train + validation support, and the test AUROC of those scores.
    func testKNNSelectsOnValidationAndTestsWithTrainPlusValidation() throws {
        let space = LabelSpace.multiClass(classes: ["a", "b", "c"])
        let (data, _, _) = try data(space)
        let result = try KNNProtocol(neighbourCounts: [1, 5, 15]).run(on: data, selectBy: .aurocMacro, bootstrap: bootstrap(), context: context).result
        XCTAssertEqual(result.protocolName, "knn")
        let matrix = { (part: ProbePart) in try part.features.matrix(blocks: 1, usesPatchMean: false) }
        let labels = { (part: ProbePart) in part.labels!.map { Int($0[0]) } }
        let validation = try WeightedKNNClassifier(support: matrix(data.train), labels: labels(data.train), classCount: 3)
            .classify(matrix(data.validation!), neighbourCounts: [1, 5, 15], context: context)
        let expected = try validation.map { try SelectionMetric.aurocMacro.score($0.scores, labels: data.validation!.labels!, labelSpace: space) }
        XCTAssertEqual(result.selection?.candidates.map(\.score), expected)
        let best = expected.indices.max { expected[$0] < expected[$1] || (expected[$0] == expected[$1] && $0 > $1) }!
        XCTAssertEqual(result.chosen, "k=\([1, 5, 15][best])")
        let support = Tensor.concatenate([try matrix(data.train), try matrix(data.validation!)])
        let test = try WeightedKNNClassifier(support: support, labels: labels(data.train) + labels(data.validation!), classCount: 3)
            .classify(matrix(data.test), neighbourCounts: [[1, 5, 15][best]], context: context)[0].scores
        let auroc = try AUROC.oneVsRest(scores: DoubleMatrix(rows: data.test.count, columns: 3, values: test.scalars.map(Double.init)),
                                        labels: labels(data.test))
        XCTAssertEqual(result.test?.aurocMacro.value, auroc.macro)
        XCTAssertGreaterThan(auroc.macro ?? 0, 0.8, "separable synthetic classes")
        let testScores = try DoubleMatrix(rows: data.test.count, columns: 3, values: test.scalars.map(Double.init))
        let classB = try Bootstrap.estimate(units: ResamplingUnits(patientIDs: data.test.patients), configuration: bootstrap()) { rows in
            try AUROC.binary(scores: rows.map { testScores[$0, 1] }, labels: rows.map { labels(data.test)[$0] == 1 ? 1 : 0 })
        }
        XCTAssertEqual(result.test?.aurocPerClassInterval.map(\.value), auroc.perClass)
        XCTAssertEqual(result.test?.aurocPerClassInterval[1].lower, classB.interval?.lower)
        XCTAssertEqual(result.test?.aurocPerClassInterval[1].upper, classB.interval?.upper)
        XCTAssertNotNil(result.test?.accuracy)
        XCTAssertEqual(result.finalFit, "train+validation")
    }

    func testMLKNNOnMultiLabelData() throws {
        let space = LabelSpace.multiLabel(findings: ["x", "y"])
        let (data, _, _) = try data(space)
        XCTAssertThrowsError(try KNNProtocol(neighbourCounts: [3]).run(on: data, selectBy: .aurocMacro, bootstrap: bootstrap(), context: context)) {
            XCTAssertTrue("\($0)".contains("policy"), "an unknown label must be resolved first: \($0)")
        }
        let known = try data.train.keeping(Set(data.train.ids.filter { $0 != "img008.png" }))
        let resolved = data.replacing(train: known)
        let result = try KNNProtocol(neighbourCounts: [3, 7]).run(on: resolved, selectBy: .aurocMacro, bootstrap: bootstrap(), context: context).result
        XCTAssertEqual(result.protocolName, "ml-knn")
        XCTAssertNil(result.test?.accuracy)
        XCTAssertEqual(result.test?.aurocPerClass.count, 2)
        XCTAssertGreaterThan(result.test?.aurocMacro.value ?? 0, 0.7)
    }

    func testLinearProbeChoosesTheBestValidationHeadAndRefits() throws {
        let space = LabelSpace.multiLabel(findings: ["x", "y"])
        let (data, _, _) = try data(space)
        let probe = LinearProbeProtocol(learningRates: [0.01, 1], blockChoices: [1, 2, 4], epochs: 3, batchSize: 16, seed: 2)
        let result = try probe.run(on: data, selectBy: .aurocMacro, bootstrap: bootstrap(), context: context).result
        XCTAssertEqual(result.selection?.candidates.count, 8, "blocks 4 exceeds the 2 stored blocks and is left out")
        let scores = result.selection!.candidates.map { $0.score ?? -1 }
        XCTAssertEqual(result.chosen, result.selection?.candidates[scores.firstIndex(of: scores.max()!)!].name)
        let chosen = try LinearProbeConfiguration.dinov2Grid(blockChoices: [1, 2], learningRates: [0.01, 1], batchSize: 16)
            .first { $0.description == result.chosen }!
        let options = LinearProbeTrainingOptions(epochs: 3, batchSize: 16, shuffleSeed: 2, initialisationSeed: 2)
        let targets = { (part: ProbePart) in ProbeTargets.multiLabel(Tensor(shape: [part.count, 2], values: part.labels!.flatMap { $0 })) }
        let refit = try LinearProbeSearch.refit(chosen, training: (data.train.features, targets(data.train)),
                                                validation: (data.validation!.features, targets(data.validation!)),
                                                test: data.test.features, options: options, context: context)
        let sigmoid = refit.testLogits.scalars.map { Double(1 / (1 + exp(-$0))) }
        let auroc = try AUROC.multiLabel(scores: DoubleMatrix(rows: data.test.count, columns: 2, values: sigmoid),
                                         labels: DoubleMatrix(rows: data.test.count, columns: 2, values: data.test.labels!.flatMap { $0.map(Double.init) }))
        XCTAssertEqual(result.test?.aurocMacro.value, auroc.macro)
        XCTAssertNotNil(result.test?.aurocMacro.lower)
    }

    func testLogisticRegressionSweep() throws {
        let space = LabelSpace.multiClass(classes: ["a", "b", "c"])
        let (data, _, _) = try data(space)
        let result = try LogisticRegressionProtocol(inverseRegularisations: [0.001, 1], blocks: 2, usesPatchMean: true)
            .run(on: data, selectBy: .accuracy, bootstrap: bootstrap(), context: context).result
        XCTAssertEqual(result.selection?.candidates.map(\.name), ["C=0.001", "C=1.0"])
        XCTAssertEqual(result.selection?.metric, .accuracy)
        XCTAssertGreaterThan(result.test?.accuracy?.value ?? 0, 0.7)
    }

    /// Each draw trains on train-part patients only, n per class; validation and test stay whole.
    func testFewShotDrawsNeverTouchValidation() throws {
        let space = LabelSpace.multiClass(classes: ["a", "b", "c"])
        let (data, split, store) = try data(space)
        let probe = LinearProbeProtocol(learningRates: [0.1], blockChoices: [1], epochs: 2, batchSize: 8, seed: 0)
        let result = try FewShotProtocol(patientsPerClass: [1, 2], draws: 3, seed: 4, probe: probe)
            .run(on: data, split: split, catalog: store.catalog, selectBy: .accuracy, bootstrap: bootstrap(10), context: context)
        let trainPatients = Set(split.patients(in: .train))
        XCTAssertEqual(result.points.map(\.patientsPerClass), [1, 2])
        for point in result.points {
            XCTAssertEqual(point.draws.count, 3)
            for draw in point.draws {
                XCTAssertEqual(draw.patients.count, 3 * point.patientsPerClass)
                XCTAssertTrue(Set(draw.patients).isSubset(of: trainPatients))
                XCTAssertEqual(draw.test?.items, data.test.count)
            }
            let values = point.draws.compactMap { $0.test?.aurocMacro.value }
            let mean = values.reduce(0, +) / 3
            XCTAssertEqual(point.aurocMacroMean!, mean, accuracy: 1e-12)
            XCTAssertEqual(point.aurocMacroStd!, (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 2).squareRoot(), accuracy: 1e-12)
        }
        XCTAssertNotEqual(result.points[0].draws[0].patients, result.points[0].draws[1].patients)

        let first = try split.fewShot(from: store.catalog, patientsPerClass: 1, draws: 3, seed: 4)[0]
        let subset = data.replacing(train: try data.train.keeping(Set(first.ids)))
        var alone = probe
        alone.refitsOnValidation = false
        let expected = try alone.run(on: subset, selectBy: .accuracy, bootstrap: bootstrap(10), context: context).result
        XCTAssertEqual(result.points[0].draws[0].test, expected.test, "the draw's head is tested as trained on the draw alone")
        XCTAssertEqual(expected.finalFit, "train")
        let refitted = try probe.run(on: subset, selectBy: .accuracy, bootstrap: bootstrap(10), context: context).result
        XCTAssertNotEqual(refitted.test, expected.test, "a refit on validation would change the test predictions")
    }

    func testReportRecordsProvenanceAndEveryCandidate() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let store = try SyntheticStore.write(at: root.appendingPathComponent("store"), space: .multiClass(classes: ["a", "b", "c"]))
        let splitURL = root.appendingPathComponent("split.csv")
        let split = try SyntheticStore.split(of: store, at: splitURL)
        let data = try ProbeDataset(store: store, split: split, splitFile: splitURL.path)
        let result = try KNNProtocol(neighbourCounts: [3, 9]).run(on: data, selectBy: .accuracy, bootstrap: bootstrap(), context: context).result
        let provenance = try ProbeProvenance(store: store, splitFile: splitURL, split: split, data: data, radprobeVersion: "9.9")
        let report = ProbeReport(source: .store(provenance, split, store), result: result)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: report.encoded()) as? [String: Any])
        let recorded = try XCTUnwrap(json["store"] as? [String: Any])
        XCTAssertEqual(recorded["store_key"] as? String, store.plan.key.key)
        XCTAssertEqual(recorded["split_method"] as? String, "stratified;seed=3;validation=0.2;test=0.3")
        XCTAssertEqual(recorded["split_sha256"] as? String, try SHA256.hex(contentsOf: splitURL))
        XCTAssertEqual(recorded["radprobe_version"] as? String, "9.9")
        XCTAssertNil(json["arrays"])
        let body = try XCTUnwrap(json["result"] as? [String: Any])
        XCTAssertEqual(body["protocol"] as? String, "knn")
        XCTAssertEqual(((body["selection"] as? [String: Any])?["candidates"] as? [[String: Any]])?.count, 2)
        let test = try XCTUnwrap(body["test"] as? [String: Any])
        XCTAssertNotNil((test["auroc_macro"] as? [String: Any])?["lower"])
        XCTAssertEqual((test["bootstrap"] as? [String: Any])?["units"] as? String, "patients")
    }
}
