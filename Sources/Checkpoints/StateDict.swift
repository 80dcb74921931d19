import TensorCore

/// A flat mapping from parameter keys to `Float` tensors, as read from a checkpoint file.
///
/// Readers produce it with the key names of their source; adapters rename keys; the binder
/// moves the tensors into a model. `source` names the file for error messages.
public struct StateDict: Sendable {
    /// Tensors by key.
    public var tensors: [String: Tensor]
    /// The file (or description) the tensors came from.
    public var source: String
    /// Free-form string metadata stored with the tensors (safetensors `__metadata__`), if any.
    public var metadata: [String: String]

    public init(_ tensors: [String: Tensor] = [:], source: String, metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.source = source
        self.metadata = metadata
    }

    /// Keys in sorted order (deterministic output for reports and files).
    public var sortedKeys: [String] { tensors.keys.sorted() }

    /// Total number of elements over all tensors.
    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }

    public subscript(key: String) -> Tensor? {
        get { tensors[key] }
        set { tensors[key] = newValue }
    }
}
