import TensorCore

/// The gradients of one backward pass of a decoder.
public struct DecoderGradients: Sendable {
    /// `∂L/∂parameter` for every trainable parameter, keyed as PyTorch's `state_dict` (no BatchNorm buffers).
    public let parameters: [String: Tensor]
    /// `∂L/∂input` for every input feature grid, shaped as the inputs; nil when not requested.
    public let inputs: [Tensor]?
}

/// State-dict access shared by the decoders: every parameter and buffer keyed as PyTorch names it
/// (`num_batches_tracked` is not kept). BatchNorm's `running_mean` and `running_var` are buffers; every
/// other key is a trainable parameter.
extension ParameterContainer {
    /// Whether `key` names a BatchNorm running statistic rather than a trainable parameter.
    static func isBuffer(_ key: String) -> Bool { key.hasSuffix("running_mean") || key.hasSuffix("running_var") }

    /// Replaces every parameter and buffer by the tensor of the same key in `stateDict`; throws, changing
    /// nothing, when a key is missing, shaped differently or unknown (`num_batches_tracked` is ignored).
    public mutating func load(stateDict: [String: Tensor]) throws {
        var loader = StateDictLoader(source: stateDict)
        var copy = self
        copy.visitParameters(&loader, scope: ParameterScope())
        if let problem = loader.problems.first { throw SegmentationDecoderError(problem) }
        let unknown = Set(stateDict.keys).subtracting(loader.used).filter { !$0.hasSuffix("num_batches_tracked") }
        guard unknown.isEmpty else { throw SegmentationDecoderError("unexpected state-dict keys: \(unknown.sorted().joined(separator: ", "))") }
        self = copy
    }

    /// Every parameter and buffer by key.
    public func stateDict() -> [String: Tensor] {
        var collector = TensorCollector()
        var copy = self
        copy.visitParameters(&collector, scope: ParameterScope())
        return Dictionary(uniqueKeysWithValues: collector.tensors)
    }

    /// The trainable parameters in declaration order with their keys (for an optimizer's parameter list).
    public func trainableParameters() -> (keys: [String], tensors: [Tensor]) {
        var collector = TensorCollector()
        var copy = self
        copy.visitParameters(&collector, scope: ParameterScope())
        let trainable = collector.tensors.filter { !Self.isBuffer($0.key) }
        return (trainable.map(\.key), trainable.map(\.tensor))
    }

    /// Sets the trainable parameters from `tensors` in the order of `trainableParameters()`.
    public mutating func setTrainableParameters(_ tensors: [Tensor]) throws {
        let keys = trainableParameters().keys
        guard keys.count == tensors.count else {
            throw SegmentationDecoderError("the decoder has \(keys.count) trainable parameters; got \(tensors.count) tensors")
        }
        try load(stateDict: stateDict().merging(zip(keys, tensors)) { _, new in new })
    }
}

/// Reads every visited parameter from `source`, recording what is missing or misshapen.
private struct StateDictLoader: ParameterVisitor {
    let source: [String: Tensor]
    var used: Set<String> = []
    var problems: [String] = []

    mutating func visit(_ key: String, _ parameter: inout Tensor) {
        guard let tensor = source[key] else { problems.append("state dict has no \(key)"); return }
        guard tensor.shape == parameter.shape else {
            problems.append("state-dict key \(key) is \(describeShape(tensor.shape)); the decoder needs \(describeShape(parameter.shape))")
            return
        }
        used.insert(key)
        parameter = tensor
    }
}

/// Every visited parameter with its key, in order.
private struct TensorCollector: ParameterVisitor {
    var tensors: [(key: String, tensor: Tensor)] = []

    mutating func visit(_ key: String, _ parameter: inout Tensor) { tensors.append((key, parameter)) }
}
