import TensorCore

extension VisionTransformer {
    /// The same weights with attention split into `heads` heads. A checkpoint does not record the head
    /// count, and `VisionTransformerConfiguration(inferringFrom:)` assumes width / 64 (DINOv2's rule);
    /// models made with another count (small test models) are read with it this way. Throws unless
    /// `heads` divides the width.
    public func withHeads(_ heads: Int) throws -> VisionTransformer {
        guard heads > 0, configuration.width % heads == 0 else {
            throw HeadCountError(heads: heads, width: configuration.width)
        }
        var source = self
        var collector = ParameterCollector()
        source.visitParameters(&collector, scope: ParameterScope())
        var changed = configuration
        changed.heads = heads
        var model = VisionTransformer(configuration: changed)
        var copier = ParameterCopier(values: collector.values)
        model.visitParameters(&copier, scope: ParameterScope())
        return model
    }
}

/// A head count that does not divide the model's width.
public struct HeadCountError: Error, CustomStringConvertible {
    public let heads: Int
    public let width: Int
    public var description: String { "\(heads) attention heads do not divide the width \(width)" }
}

/// Every parameter by key.
private struct ParameterCollector: ParameterVisitor {
    var values: [String: Tensor] = [:]
    mutating func visit(_ key: String, _ parameter: inout Tensor) { values[key] = parameter }
}

/// Sets every parameter from `values` (same keys and shapes, as both models share one architecture).
private struct ParameterCopier: ParameterVisitor {
    let values: [String: Tensor]
    mutating func visit(_ key: String, _ parameter: inout Tensor) {
        if let value = values[key] { parameter = value }
    }
}
