import FineTuning
import Layers
import Randomness
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// The LoRA Linear: PyTorch autograd parity (fixtures from `scripts/make_lora_fixtures.py`), float64 finite
/// differences with and without dropout, initialisation, dropout draws, merging and bad input.
final class LoRALinearTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    /// Uniform values in [−1, 1) from a seeded generator.
    func randomTensor(_ shape: [Int], _ generator: inout SeededGenerator) -> Tensor {
        Tensor(shape: shape, values: (0..<Tensor.elementCount(shape)).map { _ in Float(generator.uniform(in: -1...1)) })
    }

    /// A layer `in = 6 → out = 4` with random `W`, `b`, `A`, `B` (so the update is not zero).
    func randomLayer(rank: Int = 3, alpha: Float = 2, dropout: Float = 0, seed: UInt64) throws -> LoRALinear {
        var generator = SeededGenerator(seed: seed)
        let base = Linear(weight: randomTensor([4, 6], &generator), bias: randomTensor([4], &generator))
        return try LoRALinear(base: base, a: randomTensor([rank, 6], &generator), b: randomTensor([4, rank], &generator),
                              configuration: LoRAConfiguration(rank: rank, alpha: alpha, dropout: dropout))
    }

    func testTorchParity() throws {
        let base = Linear(weight: try Fixtures.array("lora/weight.npy"), bias: try Fixtures.array("lora/bias.npy"))
        let layer = try LoRALinear(base: base, a: try Fixtures.array("lora/lora_a.npy"), b: try Fixtures.array("lora/lora_b.npy"),
                                   configuration: LoRAConfiguration(rank: 3, alpha: 2))
        let (output, cache) = try layer.forward(try Fixtures.array("lora/x.npy"), context: context)
        assertClose(output, try Fixtures.array("lora/output.npy"), tolerance: 1e-5, "output")
        let (inputGradient, gradients) = try layer.backward(try Fixtures.array("lora/direction.npy"), cache: cache, context: context)
        assertClose(inputGradient, try Fixtures.array("lora/input_grad.npy"), tolerance: 1e-5, "dx")
        assertClose(gradients.a, try Fixtures.array("lora/lora_a_grad.npy"), tolerance: 1e-5, "dA")
        assertClose(gradients.b, try Fixtures.array("lora/lora_b_grad.npy"), tolerance: 1e-5, "dB")
    }

    func testFiniteDifferencesWithoutDropout() throws {
        try checkFiniteDifferences(layer: randomLayer(seed: 1), dropoutSeed: nil)
    }

    /// With dropout the mask drawn in the forward pass is held fixed; the float64 mirror applies the same mask.
    func testFiniteDifferencesWithDropout() throws {
        try checkFiniteDifferences(layer: randomLayer(dropout: 0.5, seed: 2), dropoutSeed: 3)
    }

    /// `L = Σ y ⊙ r` by central differences in float64 (step 1e-5) for every element of `x`, `A`, `B`; each analytic
    /// gradient element within `2e-4 · max(1, |numeric|)`; the float32 forward within 1e-5 of the mirror.
    func checkFiniteDifferences(layer: LoRALinear, dropoutSeed: UInt64?) throws {
        var generator = SeededGenerator(seed: 10)
        let x = randomTensor([2, 3, 6], &generator), r = randomTensor([2, 3, 4], &generator)
        var dropoutGenerator = SeededGenerator(seed: dropoutSeed ?? 0)
        let (output, cache) = try dropoutSeed == nil ? layer.forward(x, context: context)
            : layer.forward(x, dropoutGenerator: &dropoutGenerator, context: context)
        XCTAssertEqual(cache.dropoutMask == nil, dropoutSeed == nil)
        let mask = cache.dropoutMask.map { $0.scalars.map(Double.init) }
        if let mask { XCTAssertTrue(mask.contains(0) && mask.contains(2), "p = 0.5 drops some inputs and doubles the rest") }
        let (inputGradient, gradients) = try layer.backward(r, cache: cache, context: context)

        let (weight, bias) = (layer.base.weight.scalars.map(Double.init), layer.base.bias!.scalars.map(Double.init))
        let scale = Double(layer.configuration.alpha) / Double(layer.configuration.rank)
        func mirror(_ v: [String: [Double]]) -> [Double] {
            Self.loraMirror(x: v["x"]!, mask: mask, weight: weight, bias: bias, a: v["a"]!, b: v["b"]!, scale: scale,
                            inFeatures: 6, outFeatures: 4, rank: layer.configuration.rank)
        }
        var values = ["x": x, "a": layer.a, "b": layer.b].mapValues { $0.scalars.map(Double.init) }
        assertClose(output, Tensor(shape: output.shape, values: mirror(values).map(Float.init)), tolerance: 1e-5, "forward")
        let weights = r.scalars.map(Double.init)
        func loss() -> Double { zip(mirror(values), weights).reduce(0) { $0 + $1.0 * $1.1 } }
        for (name, analytic) in [("x", inputGradient), ("a", gradients.a), ("b", gradients.b)] {
            XCTAssertEqual(analytic.count, values[name]!.count, "size of d\(name)")
            var worst = 0.0
            for i in values[name]!.indices {
                let original = values[name]![i]
                values[name]![i] = original + 1e-5
                let up = loss()
                values[name]![i] = original - 1e-5
                let down = loss()
                values[name]![i] = original
                let numeric = (up - down) / 2e-5
                worst = max(worst, abs(Double(analytic.scalars[i]) - numeric) / max(1, abs(numeric)))
            }
            XCTAssertLessThanOrEqual(worst, 2e-4, "gradient of \(name)")
        }
    }

    /// `y = x·Wᵀ + b + s·((x ⊙ mask)·Aᵀ)·Bᵀ` in float64, `x` `[rows, in]` flat.
    static func loraMirror(x: [Double], mask: [Double]?, weight: [Double], bias: [Double], a: [Double], b: [Double], scale: Double,
                           inFeatures: Int, outFeatures: Int, rank: Int) -> [Double] {
        let rows = x.count / inFeatures
        var y = [Double](repeating: 0, count: rows * outFeatures)
        for row in 0..<rows {
            let input = Array(x[row * inFeatures..<(row + 1) * inFeatures])
            let dropped = mask.map { m in input.indices.map { input[$0] * m[row * inFeatures + $0] } } ?? input
            let hidden = (0..<rank).map { k in (0..<inFeatures).reduce(0.0) { $0 + dropped[$1] * a[k * inFeatures + $1] } }
            for o in 0..<outFeatures {
                let plain = (0..<inFeatures).reduce(bias[o]) { $0 + input[$1] * weight[o * inFeatures + $1] }
                y[row * outFeatures + o] = plain + scale * (0..<rank).reduce(0.0) { $0 + hidden[$1] * b[o * rank + $1] }
            }
        }
        return y
    }

    func testInitialisationIsKaimingUniformAWithZeroB() throws {
        let base = try randomLayer(seed: 4).base
        let configuration = try LoRAConfiguration(rank: 5, alpha: 16)
        var generator = SeededGenerator(seed: 7)
        let layer = LoRALinear(base: base, configuration: configuration, generator: &generator)
        XCTAssertEqual(layer.a.shape, [5, 6])
        XCTAssertEqual(layer.b.shape, [4, 5])
        XCTAssertEqual(layer.b.scalars, [Float](repeating: 0, count: 20))
        let bound = Float(1 / 6.0.squareRoot())
        XCTAssertTrue(layer.a.scalars.allSatisfy { abs($0) <= bound }, "A within ±1/√in")
        XCTAssertGreaterThan(layer.a.scalars.map(abs).max()!, 0.8 * bound, "A spans its range")
        var again = SeededGenerator(seed: 7), other = SeededGenerator(seed: 8)
        XCTAssertEqual(LoRALinear(base: base, configuration: configuration, generator: &again).a.scalars, layer.a.scalars)
        XCTAssertNotEqual(LoRALinear(base: base, configuration: configuration, generator: &other).a.scalars, layer.a.scalars)
        var x = SeededGenerator(seed: 9)
        let input = randomTensor([3, 6], &x)
        assertClose(try layer.forward(input, context: context).output, base(input, context: context), tolerance: 0, "B = 0: the base output")
    }

    func testDropoutDrawsAreSeededAndInvertedWithProbabilityP() throws {
        let layer = try randomLayer(dropout: 0.25, seed: 5)
        var inputs = SeededGenerator(seed: 6)
        let x = randomTensor([500, 6], &inputs)
        var first = SeededGenerator(seed: 11), second = SeededGenerator(seed: 11)
        let mask = try XCTUnwrap(try layer.forward(x, dropoutGenerator: &first, context: context).cache.dropoutMask)
        XCTAssertEqual(try layer.forward(x, dropoutGenerator: &second, context: context).cache.dropoutMask?.scalars, mask.scalars)
        XCTAssertTrue(mask.scalars.allSatisfy { $0 == 0 || $0 == Float(1 / 0.75) })
        let droppedFraction = Double(mask.scalars.filter { $0 == 0 }.count) / Double(mask.count)
        XCTAssertEqual(droppedFraction, 0.25, accuracy: 0.02)
        XCTAssertNil(try layer.forward(x, context: context).cache.dropoutMask, "evaluation has no dropout")

        let noDropout = try randomLayer(dropout: 0, seed: 5)
        var untouched = SeededGenerator(seed: 12)
        XCTAssertNil(try noDropout.forward(x, dropoutGenerator: &untouched, context: context).cache.dropoutMask)
        XCTAssertEqual(untouched.state, 12, "p = 0 draws nothing")
    }

    func testMergedLinearEqualsEvaluationForward() throws {
        let layer = try randomLayer(rank: 2, alpha: 3, dropout: 0.1, seed: 13)
        var generator = SeededGenerator(seed: 14)
        let x = randomTensor([2, 5, 6], &generator)
        let merged = layer.merged()
        XCTAssertEqual(merged.weight.shape, [4, 6])
        XCTAssertEqual(merged.bias?.scalars, layer.base.bias?.scalars)
        assertClose(merged(x, context: context), try layer.forward(x, context: context).output, tolerance: 1e-5, "merged")
        XCTAssertGreaterThan(zip(merged.weight.scalars, layer.base.weight.scalars).map { abs($0 - $1) }.max()!, 1e-2, "W changed")
    }

    func testBadInputThrows() throws {
        let layer = try randomLayer(seed: 15)
        let configuration = layer.configuration
        XCTAssertThrowsError(try LoRALinear(base: layer.base, a: Tensor(shape: [3, 5]), b: layer.b, configuration: configuration)) {
            XCTAssertTrue(String(describing: $0).contains("[3, 6]"), "\($0)")
        }
        XCTAssertThrowsError(try LoRALinear(base: layer.base, a: layer.a, b: Tensor(shape: [3, 4]), configuration: configuration))
        XCTAssertThrowsError(try layer.forward(Tensor(shape: [2, 5]), context: context))
        let (_, cache) = try layer.forward(Tensor(shape: [2, 6]), context: context)
        XCTAssertThrowsError(try layer.backward(Tensor(shape: [2, 3]), cache: cache, context: context))
        XCTAssertThrowsError(try layer.backward(Tensor(shape: [3, 4]), cache: cache, context: context))
    }
}
