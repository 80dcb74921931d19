import LinearProbes
import TensorCore
import TensorKernels
import TestSupport
import Training
import XCTest

final class LinearProbeParityTests: XCTestCase {
    private func checkGrid(_ name: String, threads: Int) throws {
        let fixture = try ProbeFixture.load(name)
        let context = ComputeContext(threads: threads)
        let training = (features: try fixture.features(fixture.train), targets: fixture.targets(fixture.train))
        let validation = (features: try fixture.features(fixture.validation), targets: fixture.targets(fixture.validation))
        let result = try LinearProbeSearch.run(try fixture.gridConfigurations(), training: training, validation: validation,
                                               options: fixture.options, context: context, score: ProbeFixture.negativeLoss)
        let logits = try LinearHead.logits(of: result.heads, features: validation.features, context: context)
        for (index, head) in result.heads.enumerated() {
            assertClose(head.weight, Tensor(shape: head.weight.shape, values: fixture.weights[index]), tolerance: 1e-5, "\(name) weight \(index)")
            assertClose(head.bias, Tensor(shape: [fixture.classes], values: fixture.biases[index]), tolerance: 1e-5, "\(name) bias \(index)")
            let headLogits = logits.slice(outer: index..<index + 1).reshaped([fixture.validation.count, fixture.classes])
            assertClose(headLogits, Tensor(shape: headLogits.shape, values: fixture.validation_logits[index]), tolerance: 1e-5,
                        "\(name) validation logits \(index)")
            XCTAssertEqual(result.scores[index], fixture.scores[index], accuracy: 1e-5, "\(name) score \(index)")
        }
        XCTAssertEqual(result.bestIndex, fixture.best)

        let (head, testLogits) = try LinearProbeSearch.refit(result.bestConfiguration, training: training, validation: validation,
                                                             test: try fixture.features(fixture.test), options: fixture.options, context: context)
        assertClose(head.weight, Tensor(shape: head.weight.shape, values: fixture.refit_weight), tolerance: 1e-5, "\(name) refit weight")
        assertClose(head.bias, Tensor(shape: [fixture.classes], values: fixture.refit_bias), tolerance: 1e-5, "\(name) refit bias")
        assertClose(testLogits, Tensor(shape: [fixture.test.count, fixture.classes], values: fixture.test_logits), tolerance: 1e-5,
                    "\(name) test logits")
    }

    func testMultiLabelGridWithMaskedLabelsMatchesTorch() throws {
        try checkGrid("probe_multilabel.json", threads: 2)
    }

    func testMultiClassGridKeepingPartialBatchesMatchesTorch() throws {
        try checkGrid("probe_multiclass.json", threads: 3)
    }

    func testSerialRunMatchesTorch() throws {
        try checkGrid("probe_multilabel.json", threads: 1)
    }
}
