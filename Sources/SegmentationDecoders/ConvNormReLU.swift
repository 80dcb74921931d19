import Convolution
import Randomness
import TensorCore
import TensorKernels

/// conv3×3 (padding 1, with bias) → BatchNorm2d → ReLU, the U-Net decoder's unit:
/// `[N, in, H, W]` → `[N, out, H, W]`. State-dict keys: `conv.weight` `[out, in, 3, 3]`, `conv.bias` `[out]`,
/// `bn.weight`, `bn.bias`, `bn.running_mean`, `bn.running_var` (all `[out]`).
public struct ConvNormReLU: Sendable, ParameterContainer {
    public var convolution: Conv2d
    public var normalization: BatchNorm2d

    /// What `backward` needs from `forwardTraining`.
    public struct Cache: Sendable {
        let convolution: Conv2d.Cache
        let normalization: BatchNorm2d.Cache
        let activation: ReLU.Cache
    }

    /// A unit initialised as PyTorch does (Kaiming-uniform convolution, BatchNorm γ = 1, β = 0).
    init(inputs: Int, outputs: Int, generator: inout SeededGenerator) throws {
        let (weight, bias) = KaimingUniform.parameters(weightShape: [outputs, inputs, 3, 3], biasExtent: outputs, generator: &generator)
        convolution = try Conv2d(weight: weight, bias: bias, padding: 1)
        normalization = try BatchNorm2d(channels: outputs)
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        convolution.visitParameters(&visitor, scope: scope.scope("conv"))
        normalization.visitParameters(&visitor, scope: scope.scope("bn"))
    }

    /// Batch statistics (updating the running ones): the output and the cache for `backward`.
    mutating func forwardTraining(_ input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        let (convolved, convolutionCache) = try convolution.forward(input, context: context)
        let (normalized, normalizationCache) = try normalization.forwardTraining(convolved, context: context)
        let (output, activationCache) = ReLU.forward(normalized)
        return (output, Cache(convolution: convolutionCache, normalization: normalizationCache, activation: activationCache))
    }

    /// Running statistics (evaluation mode).
    func forwardInference(_ input: Tensor, context: ComputeContext) throws -> Tensor {
        let convolved = try convolution.forward(input, context: context).output
        return ReLU.forward(try normalization.forwardInference(convolved, context: context)).output
    }

    /// Adds the parameter gradients under `scope`'s keys to `gradients` and returns `∂L/∂input` when
    /// `needsInput`.
    func backward(_ outputGradient: Tensor, cache: Cache, needsInput: Bool, scope: ParameterScope,
                  gradients: inout [String: Tensor], context: ComputeContext) throws -> Tensor? {
        let normalized = try ReLU.backward(outputGradient, cache: cache.activation)
        let normalization = try self.normalization.backward(normalized, cache: cache.normalization, context: context)
        gradients[scope.key("bn.weight")] = normalization.weight
        gradients[scope.key("bn.bias")] = normalization.bias
        return try convolution.backward(normalization.input, cache: cache.convolution, needsInput: needsInput,
                                        scope: scope.scope("conv"), gradients: &gradients, context: context)
    }
}

extension Conv2d {
    /// Adds `weight` and `bias` gradients under `scope` to `gradients`; `∂L/∂input` only when `needsInput`.
    func backward(_ outputGradient: Tensor, cache: Cache, needsInput: Bool, scope: ParameterScope,
                  gradients: inout [String: Tensor], context: ComputeContext) throws -> Tensor? {
        let input: Tensor?, weight: Tensor, bias: Tensor?
        if needsInput {
            let all = try backward(outputGradient, cache: cache, context: context)
            (input, weight, bias) = (all.input, all.weight, all.bias)
        } else {
            (weight, bias) = try parameterGradients(outputGradient, cache: cache, context: context)
            input = nil
        }
        gradients[scope.key("weight")] = weight
        if let bias { gradients[scope.key("bias")] = bias }
        return input
    }
}
