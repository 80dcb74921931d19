import ClassificationFineTuning
import FineTuning
import Models
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// The step API around the parity-checked step: settings validation, reproducible LoRA dropout, a refused
/// non-finite step, the evaluation classifier, and saving it.
final class FineTunerTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    func configuration(_ mode: FineTuningMode = .full, headRate: Double = 1e-2, seed: UInt64 = 0) throws -> FineTuningConfiguration {
        try FineTuningConfiguration(mode: mode, headLearningRate: headRate, backboneLearningRate: 1e-3, epochs: 2, batchSize: 2, seed: seed)
    }

    /// Two images [2, 3, 28, 28] of a fixed pattern.
    let images = Tensor(shape: [2, 3, 28, 28], values: (0..<2 * 3 * 28 * 28).map { Float(($0 * 37) % 101) / 50 - 1 })

    func testInvalidSettingsAreClearErrors() throws {
        for (head, backbone) in [(0.0, 1e-3), (1e-3, -1), (.nan, 1e-3), (1e-3, .infinity)] {
            XCTAssertThrowsError(try FineTuningConfiguration(mode: .full, headLearningRate: head, backboneLearningRate: backbone,
                                                             epochs: 1, batchSize: 1)) { error in
                XCTAssertTrue("\(error)".contains("learning rate must be finite and > 0"), "\(error)")
            }
        }
        XCTAssertThrowsError(try FineTuningConfiguration(mode: .full, headLearningRate: 1, backboneLearningRate: 1, warmupEpochs: 2,
                                                         epochs: 2, batchSize: 1)) { XCTAssertTrue("\($0)".contains("warm-up"), "\($0)") }
        let lora = try LoRAConfiguration(rank: 2, alpha: 4, targets: ["qkv", "nothing"])
        XCTAssertThrowsError(try FineTuner(backbone: try ToyDataset.backbone(), classes: 2, task: .multiClass,
                                           configuration: try configuration(.lora(lora)), stepsPerEpoch: 1)) { error in
            XCTAssertTrue("\(error)".contains("'nothing' matches none"), "\(error)")
            XCTAssertTrue("\(error)".contains("blocks.0.attn.qkv.weight"), "the message lists keys there are: \(error)")
        }
    }

    func testConfigurationRoundTripsThroughJSON() throws {
        let lora = try configuration(.lora(.study), seed: 9)
        XCTAssertEqual(try FineTuningConfiguration.decode(jsonText: try lora.jsonText()), lora)
        XCTAssertEqual(try FineTuningConfiguration.decode(jsonText: try configuration(.bitFit).jsonText()), try configuration(.bitFit))
    }

    func testTrainableSetsAndBudgets() throws {
        let backbone = try ToyDataset.backbone()
        let full = try FineTuner(backbone: backbone, classes: 3, task: .multiClass, configuration: try configuration(), stepsPerEpoch: 1)
        XCTAssertFalse(full.trainableKeys.contains("mask_token"))
        XCTAssertEqual(full.budget.total, backbone.parameterCount + 3 * 64 + 3)
        let bitFit = try FineTuner(backbone: backbone, classes: 3, task: .multiClass, configuration: try configuration(.bitFit), stepsPerEpoch: 1)
        XCTAssertTrue(bitFit.trainableKeys.dropFirst(2).allSatisfy { $0.hasSuffix(".bias") })
        XCTAssertEqual(Array(bitFit.trainableKeys.prefix(2)), ["head.weight", "head.bias"])
        let lora = try FineTuner(backbone: backbone, classes: 3, task: .multiClass,
                                 configuration: try configuration(.lora(try LoRAConfiguration(rank: 2, alpha: 4))), stepsPerEpoch: 1)
        // qkv, fc1, fc2 of 2 blocks: A and B each.
        XCTAssertEqual(lora.trainableKeys.count, 2 + 2 * 3 * 2)
        XCTAssertEqual(lora.budget.trainable, 3 * 64 + 3 + 2 * 2 * ((64 + 192) + (64 + 128) + (128 + 64)))
    }

    /// LoRA dropout is drawn from the run's seed and the step: the same seed gives the same bits, another seed
    /// other masks; the frozen backbone never changes.
    func testLoRADropoutIsReproducible() throws {
        let lora = FineTuningMode.lora(try LoRAConfiguration(rank: 4, alpha: 8, dropout: 0.5))
        func trained(seed: UInt64) throws -> FineTuner {
            var tuner = try FineTuner(backbone: try ToyDataset.backbone(), classes: 2, task: .multiClass,
                                      configuration: try configuration(lora, seed: seed), stepsPerEpoch: 2)
            for _ in 0..<2 { try tuner.step(images: images, targets: .classes([0, 1]), context: context) }
            return tuner
        }
        let (a, b, c) = (try trained(seed: 1), try trained(seed: 1), try trained(seed: 2))
        for ((key, x), (_, y)) in zip(a.trainableParameters, b.trainableParameters) { XCTAssertEqual(x.scalars, y.scalars, key) }
        XCTAssertNotEqual(a.trainableParameters.last!.value.scalars, c.trainableParameters.last!.value.scalars)
        XCTAssertEqual(a.backbone.namedParameters().map(\.value.scalars), try ToyDataset.backbone().namedParameters().map(\.value.scalars))
    }

    /// A huge head learning rate blows the logits up on the second step: the step throws, naming it, and leaves
    /// every parameter and the step count as they were.
    func testNonFiniteLossIsRefusedWithoutUpdating() throws {
        var tuner = try FineTuner(backbone: try ToyDataset.backbone(), classes: 2, task: .multiClass,
                                  configuration: try configuration(headRate: 1e38), stepsPerEpoch: 4)
        try tuner.step(images: images, targets: .classes([0, 1]), context: context)
        let before = tuner.trainableParameters.map(\.value.scalars)
        XCTAssertThrowsError(try tuner.step(images: images, targets: .classes([0, 1]), context: context)) { error in
            XCTAssertEqual((error as? NonFiniteTrainingError)?.step, 1, "\(error)")
        }
        XCTAssertEqual(tuner.steps, 1)
        XCTAssertEqual(tuner.trainableParameters.map(\.value.scalars), before)
    }

    /// `predict` equals the merged classifier, which equals the adapters' training forward without dropout; and a
    /// saved classifier reads back (backbone by `LoadedBackbone`, head by key) with the same probabilities.
    func testPredictionsOfTheMergedAndSavedClassifier() throws {
        var tuner = try FineTuner(backbone: try ToyDataset.backbone(), classes: 3, task: .multiLabel,
                                  configuration: try configuration(.lora(try LoRAConfiguration(rank: 4, alpha: 8))), stepsPerEpoch: 2)
        try tuner.step(images: images, targets: .findings(Tensor(shape: [2, 3], values: [1, 0, .nan, 0, 1, 1])), context: context)
        try tuner.step(images: images, targets: .findings(Tensor(shape: [2, 3], values: [1, 0, 1, 0, 1, 1])), context: context)
        let predicted = try tuner.predict(images: images, context: context)
        let adapted = try tuner.backbone.trainingForward(images, adapters: tuner.adapters, context: context).output.cls
        let logits = tuner.head(adapted, context: context)
        let sigmoid = Tensor(shape: logits.shape, values: logits.scalars.map { 1 / (1 + exp(-$0)) })
        assertClose(predicted, sigmoid, tolerance: 1e-5, "merged vs adapters")
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("best.safetensors")
        try tuner.classifier().write(to: url, metadata: ["note": "test"])
        let read = try FineTunedClassifier.read(contentsOf: url, task: .multiLabel, heads: 2)
        XCTAssertEqual(try read.probabilities(images: images, context: context).scalars, predicted.scalars)
    }
}
