import Checkpoints
import Convolution
import Foundation
import TensorCore

/// The tensors of a torchvision state dict as the model builders take them, keeping track of the keys
/// used so that anything left over is reported.
///
/// Keys are normalised first: a `module.` prefix (a model saved inside `DataParallel`) is dropped, and
/// DenseNet's legacy names in torchvision's released checkpoints (`denselayer1.norm.1.weight`,
/// `conv.2.weight`) become the module names (`norm1.weight`, `conv2.weight`), as torchvision's loader
/// renames them. Batch norm's `num_batches_tracked` counters are not needed for inference.
struct CheckpointTensors {
    let source: String
    let tensors: [String: Tensor]
    private var used: Set<String> = []

    init(_ stateDict: StateDict) {
        source = stateDict.source
        tensors = Dictionary(stateDict.tensors.map { (Self.normalisedKey($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// The checkpoint key as torchvision's current modules name it.
    static func normalisedKey(_ key: String) -> String {
        var key = key.hasPrefix("module.") ? String(key.dropFirst("module.".count)) : key
        if let match = key.firstMatch(of: /(denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$/) {
            key.replaceSubrange(match.range, with: match.output.1 + match.output.2)
        }
        return key
    }

    /// The tensor at `key`, of rank `rank`, marked as used.
    mutating func take(_ key: String, rank: Int) throws -> Tensor {
        guard let tensor = tensors[key] else { throw ConvolutionalNetworkError("\(source): missing key \(key)") }
        guard tensor.rank == rank else {
            throw ConvolutionalNetworkError("\(source): \(key) has shape \(describeShape(tensor.shape)), expected rank \(rank)")
        }
        used.insert(key)
        return tensor
    }

    /// A convolution's `<prefix>.weight` `[O, C, kh, kw]` (square kernel `kernel`, `C = inChannels`) and
    /// `<prefix>.bias` `[O]` when `hasBias`.
    mutating func convolution(_ prefix: String, inChannels: Int, kernel: Int, hasBias: Bool) throws -> (weight: Tensor, bias: Tensor?) {
        let weight = try take(prefix + ".weight", rank: 4)
        guard weight.shape[1] == inChannels, weight.shape[2] == kernel, weight.shape[3] == kernel, weight.shape[0] > 0 else {
            throw ConvolutionalNetworkError("\(source): \(prefix).weight has shape \(describeShape(weight.shape)), expected [out, \(inChannels), \(kernel), \(kernel)]")
        }
        let bias = hasBias ? try vector(prefix + ".bias", count: weight.shape[0]) : nil
        return (weight, bias)
    }

    /// The inference transform of the batch norm at `prefix` over `channels` channels.
    mutating func batchNorm(_ prefix: String, channels: Int) throws -> ChannelAffine {
        let parts = try ["weight", "bias", "running_mean", "running_var"].map { try vector("\(prefix).\($0)", count: channels) }
        if tensors["\(prefix).num_batches_tracked"] != nil { used.insert("\(prefix).num_batches_tracked") }
        return ChannelAffine(weight: parts[0], bias: parts[1], runningMean: parts[2], runningVariance: parts[3])
    }

    /// A `Linear`'s `<prefix>.weight` `[out, inFeatures]` and `<prefix>.bias` `[out]`.
    mutating func linear(_ prefix: String, inFeatures: Int) throws -> (weight: Tensor, bias: Tensor) {
        let weight = try take(prefix + ".weight", rank: 2)
        guard weight.shape[1] == inFeatures else {
            throw ConvolutionalNetworkError("\(source): \(prefix).weight has shape \(describeShape(weight.shape)), expected [out, \(inFeatures)]")
        }
        return (weight, try vector(prefix + ".bias", count: weight.shape[0]))
    }

    private mutating func vector(_ key: String, count: Int) throws -> Tensor {
        let tensor = try take(key, rank: 1)
        guard tensor.count == count else {
            throw ConvolutionalNetworkError("\(source): \(key) has shape \(describeShape(tensor.shape)), expected [\(count)]")
        }
        return tensor
    }

    /// The elements of the tensors used so far, batch-norm running statistics and counters excluded: the
    /// learned parameters of the backbone as the checkpoint stores them (before batch norm is folded).
    var usedParameterCount: Int {
        used.filter { !$0.hasSuffix(".running_mean") && !$0.hasSuffix(".running_var") && !$0.hasSuffix(".num_batches_tracked") }
            .reduce(0) { $0 + tensors[$1]!.count }
    }

    /// Throws when a key other than those under `ignoredPrefixes` (the classifier head) and the
    /// `num_batches_tracked` counters was not used.
    func requireAllUsed(ignoring ignoredPrefixes: [String]) throws {
        let unused = tensors.keys.filter { key in
            !used.contains(key) && !key.hasSuffix(".num_batches_tracked") && !ignoredPrefixes.contains { key.hasPrefix($0) }
        }.sorted()
        guard unused.isEmpty else {
            throw ConvolutionalNetworkError("\(source): unexpected keys (\(unused.count)): \(unused.prefix(5).joined(separator: ", "))\(unused.count > 5 ? ", …" : "")")
        }
    }
}
