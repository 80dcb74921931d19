import Foundation
import TensorCore

/// Which parameter gradients a backward pass computes: all of them (the default), none (adapters and the input
/// only, as LoRA trains), or those of a set of checkpoint keys (`blocks.3.attn.qkv.bias`: BitFit's biases, say).
///
/// A parameter left out is not computed: a frozen Linear skips its weight-gradient GEMM (`dW = dyᵀ·x`) and its bias
/// sum, a frozen LayerNorm its two column sums, and blocks below the lowest wanted gradient are not visited at all
/// when no adapter acts and no input gradient is asked for. Its place in the returned gradients holds zeros.
/// Wanted gradients equal those of the full computation exactly.
public struct GradientSelection: Sendable {
    /// nil: every parameter.
    let keys: Set<String>?

    /// Every parameter's gradient.
    public static let all = GradientSelection(keys: nil)
    /// No parameter's gradient (adapters' gradients and the input gradient are still computed).
    public static let none = GradientSelection(keys: [])

    /// The gradients of the parameters with these checkpoint keys (as `namedParameters()` names them).
    public init(keys: some Sequence<String>) { self.keys = Set(keys) }

    private init(keys: Set<String>?) { self.keys = keys }

    /// Whether the gradient of `key` is computed.
    public func contains(_ key: String) -> Bool { keys?.contains(key) ?? true }

    /// Whether the gradient of some parameter under the module `prefix` (`blocks.3`) is computed.
    func containsAny(under prefix: String) -> Bool {
        guard let keys else { return true }
        let dotted = prefix + "."
        return keys.contains { $0.hasPrefix(dotted) }
    }
}

/// Zero tensors by shape; every request for a shape returns the same storage (copy-on-write keeps it zero).
final class ZeroTensors: @unchecked Sendable {
    private let lock = NSLock()
    private var tensors: [[Int]: Tensor] = [:]

    func tensor(shape: [Int]) -> Tensor {
        lock.withLock {
            if let tensor = tensors[shape] { return tensor }
            let tensor = Tensor(shape: shape)
            tensors[shape] = tensor
            return tensor
        }
    }
}

/// Where a layer sits in the model (`blocks.3.attn`) for the gradient selection.
public struct GradientScope: Sendable {
    /// The module key; empty at the root.
    public let key: String
    public let selection: GradientSelection
    /// The zero tensors standing in for gradients not computed, one per shape, shared by the whole pass.
    let zeros: ZeroTensors

    /// Every gradient, at the root.
    public static let all = GradientScope(selection: .all)

    /// The root scope of a backward pass with `selection`.
    public init(selection: GradientSelection) {
        self.init(key: "", selection: selection, zeros: ZeroTensors())
    }

    private init(key: String, selection: GradientSelection, zeros: ZeroTensors) {
        self.key = key
        self.selection = selection
        self.zeros = zeros
    }

    /// The scope of the sub-module `name`; with `.all` the key is not built.
    public func child(_ name: String) -> GradientScope {
        guard selection.keys != nil else { return self }
        return GradientScope(key: key.isEmpty ? name : key + "." + name, selection: selection, zeros: zeros)
    }

    /// The gradient of parameter `name` from `compute` when it is wanted, else zeros of `shape`.
    func gradient(_ name: String, shape: [Int], _ compute: () throws -> Tensor) rethrows -> Tensor {
        try wants(name) ? compute() : zeros.tensor(shape: shape)
    }

    /// Whether the gradient of this module's parameter `name` (`weight`) is computed.
    public func wants(_ name: String) -> Bool {
        guard selection.keys != nil else { return true }
        return selection.contains(key.isEmpty ? name : key + "." + name)
    }
}
