

/// Receives every parameter of a module with its full checkpoint key (e.g. `blocks.3.attn.qkv.weight`).
/// Binding a checkpoint, saving one and counting parameters are all visitors.
public protocol ParameterVisitor {
    mutating func visit(_ key: String, _ parameter: inout Tensor)
}

/// A dotted key prefix such as `blocks.3.attn.`; `scope("qkv")` descends one level.
public struct ParameterScope: Sendable {
    public let prefix: String

    public init(_ prefix: String = "") { self.prefix = prefix }

    /// The scope of a child module.
    public func scope(_ name: String) -> ParameterScope { ParameterScope(prefix + name + ".") }

    /// The full key of a parameter in this scope.
    public func key(_ name: String) -> String { prefix + name }
}

/// A module whose parameters can be visited; the key names written in `visitParameters` are the only
/// place a checkpoint key appears in the model code.
public protocol ParameterContainer {
    mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope)
}

/// Lists parameter keys and shapes without changing anything.
public struct ParameterShapeCollector: ParameterVisitor {
    public private(set) var shapes: [(key: String, shape: [Int])] = []
    public init() {}
    public mutating func visit(_ key: String, _ parameter: inout Tensor) { shapes.append((key, parameter.shape)) }
}

extension ParameterContainer {
    /// `(key, shape)` of every parameter, in declaration order.
    public func parameterShapes() -> [(key: String, shape: [Int])] {
        var copy = self
        var collector = ParameterShapeCollector()
        copy.visitParameters(&collector, scope: ParameterScope())
        return collector.shapes
    }

    /// Total number of parameter elements.
    public var parameterCount: Int { parameterShapes().reduce(0) { $0 + Tensor.elementCount($1.shape) } }
}
