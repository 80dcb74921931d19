import Convolution
import Randomness
import TensorCore
import TensorKernels

/// Two conv3×3-BN-ReLU units in a row, U-Net's block: `[N, in, H, W]` → `[N, out, H, W]`. State-dict keys
/// as a PyTorch `nn.Sequential` of two `ConvNormReLU`s: `0.conv.*`, `0.bn.*`, `1.conv.*`, `1.bn.*`
/// (`0.conv.weight` `[out, in, 3, 3]`, `1.conv.weight` `[out, out, 3, 3]`, all else `[out]`).
public struct DoubleConvNormReLU: Sendable, ParameterContainer {
    public var first: ConvNormReLU
    public var second: ConvNormReLU

    /// What `backward` needs from `forwardTraining`.
    struct Cache: Sendable {
        let first: ConvNormReLU.Cache
        let second: ConvNormReLU.Cache
    }

    /// Both units initialised as PyTorch does, the first drawn first.
    init(inputs: Int, outputs: Int, generator: inout SeededGenerator) throws {
        first = try ConvNormReLU(inputs: inputs, outputs: outputs, generator: &generator)
        second = try ConvNormReLU(inputs: outputs, outputs: outputs, generator: &generator)
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        first.visitParameters(&visitor, scope: scope.scope("0"))
        second.visitParameters(&visitor, scope: scope.scope("1"))
    }

    /// Batch statistics (updating the running ones): the output and the cache for `backward`.
    mutating func forwardTraining(_ input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        let (hidden, firstCache) = try first.forwardTraining(input, context: context)
        let (output, secondCache) = try second.forwardTraining(hidden, context: context)
        return (output, Cache(first: firstCache, second: secondCache))
    }

    /// Running statistics (evaluation mode).
    func forwardInference(_ input: Tensor, context: ComputeContext) throws -> Tensor {
        try second.forwardInference(try first.forwardInference(input, context: context), context: context)
    }

    /// Adds the parameter gradients under `scope`'s keys to `gradients`; returns `∂L/∂input` when `needsInput`.
    func backward(_ outputGradient: Tensor, cache: Cache, needsInput: Bool, scope: ParameterScope,
                  gradients: inout [String: Tensor], context: ComputeContext) throws -> Tensor? {
        let hidden = try second.backward(outputGradient, cache: cache.second, needsInput: true, scope: scope.scope("1"),
                                         gradients: &gradients, context: context)!
        return try first.backward(hidden, cache: cache.first, needsInput: needsInput, scope: scope.scope("0"),
                                  gradients: &gradients, context: context)
    }
}
