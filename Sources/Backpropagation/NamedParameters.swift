import TensorCore

/// Collects every parameter with its checkpoint key.
struct NamedParameterCollector: ParameterVisitor {
    var parameters: [(key: String, value: Tensor)] = []
    mutating func visit(_ key: String, _ parameter: inout Tensor) { parameters.append((key, parameter)) }
}

extension ParameterContainer {
    /// Every parameter (or, on a gradient returned by a backward pass, every gradient) with its checkpoint key,
    /// e.g. `blocks.3.attn.qkv.weight`, in declaration order: select them by pattern for an optimiser or freezing.
    public func namedParameters() -> [(key: String, value: Tensor)] {
        var copy = self
        var collector = NamedParameterCollector()
        copy.visitParameters(&collector, scope: ParameterScope())
        return collector.parameters
    }
}
