import Backpropagation
import Layers
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Every layer's backward against float64 central differences of its float64 mirror (`DoubleReference`), on
/// tiny shapes, for `L = Σ y ⊙ r` with a fixed random `r`. Tolerance: `2e-4 · max(1, |numeric|)` per element
/// (float32 backward, float64 differences with step 1e-5). Each test also checks the float32 forward against
/// the mirror (1e-5), so the mirror is the same function.
final class LayerGradientTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    /// Checks forward and backward of a layer mapping `x` to `y` with parameters under their keys.
    func check<Layer: ParameterContainer>(_ layer: Layer, input x: Tensor, outputShape: [Int], seed: UInt64,
                                          run: (Tensor, Tensor) throws -> (output: Tensor, input: Tensor, parameters: Layer),
                                          reference: @escaping (DoubleReference.Values) -> [Double],
                                          file: StaticString = #filePath, line: UInt = #line) throws {
        var random = TestRandom(state: seed)
        let r = random.tensor(outputShape)
        let result = try run(x, r)
        var inputs = gradientsByKey(layer)
        inputs["x"] = x
        var analytic = gradientsByKey(result.parameters)
        analytic["x"] = result.input
        let expected = Tensor(shape: outputShape, values: reference(inputs.mapValues { $0.scalars.map(Double.init) }).map(Float.init))
        assertClose(result.output, expected, tolerance: 1e-5, "forward against the float64 mirror", file: file, line: line)
        checkGradients(inputs: inputs, analytic: analytic, outputWeights: r, file: file, line: line, reference)
    }

    func testLinear() throws {
        let layer = Linear(inFeatures: 5, outFeatures: 3).randomized(seed: 1)
        var random = TestRandom(state: 2)
        try check(layer, input: random.tensor([4, 5]), outputShape: [4, 3], seed: 3, run: { x, r in
            let forward = try layer.forward(x, context: self.context)
            let backward = try layer.backward(r, cache: forward.cache, context: self.context)
            return (forward.output, backward.input, backward.parameters)
        }, reference: { DoubleReference.linear($0["x"]!, $0, "") })
    }

    func testLayerNorm() throws {
        let layer = LayerNorm(width: 6).randomized(seed: 4)
        var random = TestRandom(state: 5)
        try check(layer, input: random.tensor([3, 6]), outputShape: [3, 6], seed: 6, run: { x, r in
            let forward = try layer.forward(x, context: self.context)
            let backward = try layer.backward(r, cache: forward.cache, context: self.context)
            return (forward.output, backward.input, backward.parameters)
        }, reference: { DoubleReference.layerNorm($0["x"]!, $0, "") })
    }

    func testGELU() throws {
        var random = TestRandom(state: 7)
        let x = random.tensor([37], in: -4...4), r = random.tensor([37])
        let forward = GELU.forward(x, context: context)
        let dx = try GELU.backward(r, cache: forward.cache, context: context)
        assertClose(forward.output, Tensor(shape: [37], values: DoubleReference.gelu(x.scalars.map(Double.init)).map(Float.init)), tolerance: 1e-5)
        checkGradients(inputs: ["x": x], analytic: ["x": dx], outputWeights: r) { DoubleReference.gelu($0["x"]!) }
    }

    func testMLPAndSwiGLUFeedForward() throws {
        for kind in [FeedForward.Kind.mlp(hidden: 7), .swiGLU(hidden: 5)] {
            let layer = FeedForward(width: 4, kind: kind).randomized(seed: 8)
            var random = TestRandom(state: 9)
            try check(layer, input: random.tensor([3, 4]), outputShape: [3, 4], seed: 10, run: { x, r in
                let forward = try layer.forward(x, context: self.context)
                let backward = try layer.backward(r, cache: forward.cache, context: self.context)
                return (forward.output, backward.input, backward.parameters)
            }, reference: { DoubleReference.feedForward($0["x"]!, $0, "") })
        }
    }

    func testLayerScale() throws {
        var random = TestRandom(state: 11)
        let gamma = random.tensor([4]), x = random.tensor([3, 4]), r = random.tensor([3, 4])
        let forward = try LayerScale.forward(x, gamma: gamma)
        let backward = try LayerScale.backward(r, gamma: gamma, cache: forward.cache, context: context)
        checkGradients(inputs: ["x": x, "gamma": gamma], analytic: ["x": backward.input, "gamma": backward.gamma], outputWeights: r) {
            DoubleReference.scale($0["x"]!, $0["gamma"]!)
        }
    }

    func testMultiHeadAttention() throws {
        let layer = Attention(width: 8, heads: 2).randomized(seed: 12)
        var random = TestRandom(state: 13)
        try check(layer, input: random.tensor([2, 5, 8]), outputShape: [2, 5, 8], seed: 14, run: { x, r in
            let forward = try layer.forward(x, context: self.context)
            let backward = try layer.backward(r, cache: forward.cache, context: self.context)
            return (forward.output, backward.input, backward.parameters)
        }, reference: { DoubleReference.attention($0["x"]!, $0, "", batch: 2, heads: 2) })
    }

    func testTransformerBlockWithBothFeedForwards() throws {
        for kind in [FeedForward.Kind.mlp(hidden: 12), .swiGLU(hidden: 6)] {
            let block = TransformerBlock(width: 8, heads: 2, feedForward: kind, layerScale: true).randomized(seed: 15)
            var random = TestRandom(state: 16)
            try check(block, input: random.tensor([2, 4, 8]), outputShape: [2, 4, 8], seed: 17, run: { x, r in
                let forward = try block.forward(x, context: self.context)
                let backward = try block.backward(r, cache: forward.cache, context: self.context)
                XCTAssertEqual(forward.output.scalars, block(x, context: self.context).scalars, "training forward = inference block")
                return (forward.output, backward.input, backward.parameters)
            }, reference: { DoubleReference.block($0["x"]!, $0, "", batch: 2, heads: 2) })
        }
    }

    func testPatchEmbedding() throws {
        let layer = PatchEmbedding(channels: 2, width: 3, patchSize: 2).randomized(seed: 18)
        var random = TestRandom(state: 19)
        try check(layer, input: random.tensor([2, 2, 4, 6]), outputShape: [2, 6, 3], seed: 20, run: { x, r in
            let forward = try layer.forward(x, context: self.context)
            let backward = try layer.backward(r, cache: forward.cache, inputGradient: true, context: self.context)
            return (forward.output, backward.input!, backward.parameters)
        }, reference: { DoubleReference.patchEmbedding($0["x"]!, $0, batch: 2, channels: 2, height: 4, width: 6, patch: 2) })
    }

    func testWrongGradientShapeThrows() throws {
        let layer = Linear(inFeatures: 2, outFeatures: 3)
        let forward = try layer.forward(Tensor(shape: [4, 2]), context: context)
        XCTAssertThrowsError(try layer.backward(Tensor(shape: [4, 2]), cache: forward.cache, context: context))
        XCTAssertThrowsError(try layer.forward(Tensor(shape: [4, 5]), context: context))
    }
}
