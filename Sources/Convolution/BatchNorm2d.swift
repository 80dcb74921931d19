import TensorCore
import TensorKernels

/// Batch normalisation over the channels of an NCHW batch, as `torch.nn.BatchNorm2d` (affine, tracking
/// running statistics). For channel `c`, over its `m = N·H·W` values:
///
/// - training: `μ = mean(x)`, `σ² = mean((x − μ)²)` (biased), `x̂ = (x − μ) / √(σ² + ε)`, `y = γ·x̂ + β`;
///   the running statistics move by `momentum`: `runningMean ← (1 − momentum)·runningMean + momentum·μ`,
///   `runningVariance ← (1 − momentum)·runningVariance + momentum·σ²·m/(m − 1)` (unbiased).
/// - inference: `y = γ·(x − runningMean) / √(runningVariance + ε) + β`.
///
/// Backward of training mode, with `g = ∂L/∂y`: `∂L/∂β = Σ g`, `∂L/∂γ = Σ g·x̂`,
/// `∂L/∂x = γ / √(σ² + ε) · (g − mean(g) − x̂·mean(g·x̂))`. Statistics are accumulated in Double.
public struct BatchNorm2d: Sendable, ParameterContainer {
    /// γ: `[C]`.
    public var weight: Tensor
    /// β: `[C]`.
    public var bias: Tensor
    /// `[C]`.
    public var runningMean: Tensor
    /// `[C]`.
    public var runningVariance: Tensor
    /// ε added to the variance: PyTorch's 1e-5 by default.
    public let epsilon: Float
    /// Weight of the new batch statistic in the running statistics: PyTorch's 0.1 by default.
    public let momentum: Float

    /// Channels, from γ.
    public var channels: Int { weight.count }

    /// What `backward` needs from `forwardTraining`.
    public struct Cache: Sendable {
        /// `x̂`: `[N, C, H, W]`.
        let normalized: Tensor
        /// `1 / √(σ² + ε)`: `[C]`.
        let inverseDeviation: [Float]
    }

    /// `∂L/∂x` `[N, C, H, W]`, `∂L/∂γ` `[C]`, `∂L/∂β` `[C]`.
    public struct Gradients: Sendable {
        public let input: Tensor
        public let weight: Tensor
        public let bias: Tensor
    }

    /// A fresh layer as PyTorch initialises one: γ = 1, β = 0, running mean 0, running variance 1.
    public init(channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) throws {
        guard channels > 0 else { throw ConvolutionError("BatchNorm2d: channels must be positive, got \(channels)") }
        try self.init(weight: Tensor(shape: [channels], repeating: 1), bias: Tensor(shape: [channels]),
                      runningMean: Tensor(shape: [channels]), runningVariance: Tensor(shape: [channels], repeating: 1),
                      epsilon: epsilon, momentum: momentum)
    }

    /// A layer with given parameters and statistics, all `[C]`.
    public init(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
                epsilon: Float = 1e-5, momentum: Float = 0.1) throws {
        self.weight = weight
        self.bias = bias
        self.runningMean = runningMean
        self.runningVariance = runningVariance
        self.epsilon = epsilon
        self.momentum = momentum
        try validateParameters()
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        visitor.visit(scope.key("weight"), &weight)
        visitor.visit(scope.key("bias"), &bias)
        visitor.visit(scope.key("running_mean"), &runningMean)
        visitor.visit(scope.key("running_var"), &runningVariance)
    }

    private func validateParameters() throws {
        guard weight.rank == 1 else { throw ConvolutionError("BatchNorm2d: weight must be [C], got \(describeShape(weight.shape))") }
        for (name, tensor) in [("bias", bias), ("running_mean", runningMean), ("running_var", runningVariance)] {
            try requireParameterShape(tensor, weight.shape, name, "BatchNorm2d")
        }
    }

    /// The shape of `input`, or an error when it is not `[N, C, H, W]` with this layer's channels.
    private func inputShape(_ input: Tensor) throws -> ImageBatchShape {
        try validateParameters()
        let shape = try input.imageBatchShape("BatchNorm2d")
        guard shape.channels == channels else {
            throw ConvolutionError("BatchNorm2d: input has \(shape.channels) channels but the layer has \(channels)")
        }
        return shape
    }

    /// Normalises with the batch statistics, updates the running statistics, and returns `y` `[N, C, H, W]`
    /// with the cache for `backward`. Needs more than one value per channel, as PyTorch.
    public mutating func forwardTraining(_ input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        let shape = try inputShape(input)
        let valuesPerChannel = shape.batch * shape.planeCount
        guard valuesPerChannel > 1 else {
            throw ConvolutionError("BatchNorm2d: training needs more than one value per channel, got input \(describeShape(input.shape))")
        }
        var means = [Float](repeating: 0, count: channels), inverseDeviations = means, unbiasedVariances = means
        let normalized = Tensor(uninitializedShape: input.shape) { xHat in
            input.withUnsafeBufferPointer { x in
                means.withUnsafeMutableBufferPointer { meanOut in
                    inverseDeviations.withUnsafeMutableBufferPointer { inverseOut in
                        unbiasedVariances.withUnsafeMutableBufferPointer { varianceOut in
                            context.parallelFor(shape.channels) { c in
                                let planes = ChannelPlanes(shape: shape, channel: c)
                                var sum = 0.0
                                planes.forEach(x.baseAddress!) { v in sum += Double(v) }
                                let mean = sum / Double(valuesPerChannel)
                                var squares = 0.0
                                planes.forEach(x.baseAddress!) { v in squares += (Double(v) - mean) * (Double(v) - mean) }
                                let variance = squares / Double(valuesPerChannel)
                                let inverse = 1 / (variance + Double(epsilon)).squareRoot()
                                planes.map(x.baseAddress!, into: xHat.baseAddress!) { v in Float((Double(v) - mean) * inverse) }
                                meanOut[c] = Float(mean)
                                inverseOut[c] = Float(inverse)
                                varianceOut[c] = Float(squares / Double(valuesPerChannel - 1))
                            }
                        }
                    }
                }
            }
        }
        updateRunningStatistics(means: means, unbiasedVariances: unbiasedVariances)
        let output = affine(normalized, shape, scale: weight.scalars, shift: bias.scalars, context: context)
        return (output, Cache(normalized: normalized, inverseDeviation: inverseDeviations))
    }

    private mutating func updateRunningStatistics(means: [Float], unbiasedVariances: [Float]) {
        let (keep, momentum, channels) = (1 - momentum, momentum, channels)
        runningMean.withUnsafeMutableBufferPointer { running in
            for c in 0..<channels { running[c] = keep * running[c] + momentum * means[c] }
        }
        runningVariance.withUnsafeMutableBufferPointer { running in
            for c in 0..<channels { running[c] = keep * running[c] + momentum * unbiasedVariances[c] }
        }
    }

    /// Normalises with the running statistics: `y` `[N, C, H, W]` (evaluation mode; no cache).
    public func forwardInference(_ input: Tensor, context: ComputeContext) throws -> Tensor {
        let shape = try inputShape(input)
        let (gamma, beta, mean, variance) = (weight.scalars, bias.scalars, runningMean.scalars, runningVariance.scalars)
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            let inverse = 1 / (Double(variance[c]) + Double(epsilon)).squareRoot()
            scale[c] = Float(Double(gamma[c]) * inverse)
            shift[c] = Float(Double(beta[c]) - Double(mean[c]) * Double(gamma[c]) * inverse)
        }
        return affine(input, shape, scale: scale, shift: shift, context: context)
    }

    /// `scale[c]·x + shift[c]` for every value of channel `c`.
    private func affine(_ input: Tensor, _ shape: ImageBatchShape, scale: [Float], shift: [Float], context: ComputeContext) -> Tensor {
        Tensor(uninitializedShape: input.shape) { y in
            input.withUnsafeBufferPointer { x in
                context.parallelFor(shape.channels) { c in
                    let (a, b) = (scale[c], shift[c])
                    ChannelPlanes(shape: shape, channel: c).map(x.baseAddress!, into: y.baseAddress!) { a * $0 + b }
                }
            }
        }
    }

    /// All gradients of training mode for `outputGradient` `[N, C, H, W]`.
    public func backward(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> Gradients {
        let shape = try inputShape(cache.normalized)
        try requireGradientShape(outputGradient, shape.shape, "BatchNorm2d")
        let count = Double(shape.batch * shape.planeCount)
        let gamma = weight.scalars
        var weightGradient = [Float](repeating: 0, count: channels), biasGradient = weightGradient
        let inputGradient = Tensor(uninitializedShape: shape.shape) { dx in
            outputGradient.withUnsafeBufferPointer { g in
                cache.normalized.withUnsafeBufferPointer { xHat in
                    weightGradient.withUnsafeMutableBufferPointer { dGamma in
                        biasGradient.withUnsafeMutableBufferPointer { dBeta in
                            context.parallelFor(shape.channels) { c in
                                let planes = ChannelPlanes(shape: shape, channel: c)
                                var sumG = 0.0, sumGX = 0.0
                                planes.forEachPair(g.baseAddress!, xHat.baseAddress!) { gv, xv in
                                    sumG += Double(gv)
                                    sumGX += Double(gv) * Double(xv)
                                }
                                dBeta[c] = Float(sumG)
                                dGamma[c] = Float(sumGX)
                                let factor = Float(Double(gamma[c]) * Double(cache.inverseDeviation[c]))
                                let (meanG, meanGX) = (Float(sumG / count), Float(sumGX / count))
                                planes.mapPair(g.baseAddress!, xHat.baseAddress!, into: dx.baseAddress!) { gv, xv in
                                    factor * (gv - meanG - xv * meanGX)
                                }
                            }
                        }
                    }
                }
            }
        }
        return Gradients(input: inputGradient, weight: Tensor(shape: [channels], values: weightGradient),
                         bias: Tensor(shape: [channels], values: biasGradient))
    }
}

/// The `N` planes `[H, W]` of one channel of an `[N, C, H, W]` buffer.
private struct ChannelPlanes {
    let shape: ImageBatchShape
    let channel: Int

    private func offsets(_ body: (Int) -> Void) {
        for n in 0..<shape.batch { body((n * shape.channels + channel) * shape.planeCount) }
    }

    func forEach(_ values: UnsafePointer<Float>, _ body: (Float) -> Void) {
        offsets { start in for i in start..<start + shape.planeCount { body(values[i]) } }
    }

    func forEachPair(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ body: (Float, Float) -> Void) {
        offsets { start in for i in start..<start + shape.planeCount { body(a[i], b[i]) } }
    }

    func map(_ values: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, _ transform: (Float) -> Float) {
        offsets { start in for i in start..<start + shape.planeCount { output[i] = transform(values[i]) } }
    }

    func mapPair(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                 _ transform: (Float, Float) -> Float) {
        offsets { start in for i in start..<start + shape.planeCount { output[i] = transform(a[i], b[i]) } }
    }
}
