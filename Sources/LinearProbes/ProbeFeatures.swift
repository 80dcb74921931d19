import TensorCore
import Training

/// Frozen features of `count` items as a feature store keeps them: the class token `[count, L, D]` and,
/// when the store kept them, the mean patch token `[count, L, C]` of each of the last `L` blocks, oldest
/// block first (`C = D` but for backbones whose patch tokens are narrower than their pooled vector, e.g.
/// VGG's pool5 512 against 4096).
///
/// A head reading the last `b` blocks, with or without the patch mean, sees the row
/// `concat(cls[L−b], …, cls[L−1], patchMean[L−1])` of width `b·D (+ C)`: as DINOv2's
/// `create_linear_input`, whose average pool uses only the last block's patch tokens.
public struct ProbeFeatures: Sendable {
    /// `[count, L, D]` class tokens.
    public let classTokens: Tensor
    /// `[count, L, C]` mean patch tokens, or nil when only class tokens were kept.
    public let patchMeans: Tensor?

    /// Checks that the tensors are `[count, L, D]` and `[count, L, C]` and hold only finite values.
    public init(classTokens: Tensor, patchMeans: Tensor?) throws {
        guard classTokens.rank == 3, patchMeans.map({ $0.rank == 3 && $0.shape.prefix(2) == classTokens.shape.prefix(2) && $0.shape[2] > 0 }) ?? true else {
            throw TrainingError("class tokens \(classTokens.shape) and patch means \(patchMeans?.shape ?? []) must be [items, blocks, width] of the same items and blocks")
        }
        guard classTokens.shape[1] > 0, classTokens.shape[2] > 0 else { throw TrainingError("features \(classTokens.shape) have no blocks or no width") }
        for (name, tensor) in [("class tokens", classTokens)] + (patchMeans.map { [("patch means", $0)] } ?? []) {
            if let bad = tensor.withUnsafeBufferPointer({ $0.firstIndex { !$0.isFinite } }) {
                throw TrainingError("\(name) hold a non-finite value at item \(bad / (tensor.count / tensor.shape[0]))")
            }
        }
        self.classTokens = classTokens
        self.patchMeans = patchMeans
    }

    /// Number of items.
    public var count: Int { classTokens.shape[0] }
    /// Stored blocks `L`.
    public var blocks: Int { classTokens.shape[1] }
    /// Class-token width `D`.
    public var width: Int { classTokens.shape[2] }
    /// Patch-mean width `C` (0 without patch means).
    public var patchWidth: Int { patchMeans?.shape[2] ?? 0 }

    /// The items of `self` followed by those of `other` (same `L` and `D`).
    public func appending(_ other: ProbeFeatures) throws -> ProbeFeatures {
        guard (patchMeans == nil) == (other.patchMeans == nil) else {
            throw TrainingError("cannot join features with patch means and features without")
        }
        guard other.blocks == blocks, other.width == width, other.patchWidth == patchWidth else {
            throw TrainingError("cannot join features of \(blocks) blocks × \(width) (+ \(patchWidth)) with \(other.blocks) blocks × \(other.width) (+ \(other.patchWidth))")
        }
        return try ProbeFeatures(classTokens: .concatenate([classTokens, other.classTokens]),
                                 patchMeans: patchMeans.flatMap { mine in other.patchMeans.map { .concatenate([mine, $0]) } })
    }

    /// Throws unless a head of `configuration` can read these features: at most `blocks` blocks, and
    /// patch means present when it uses them.
    func check(_ configuration: LinearProbeConfiguration) throws {
        guard configuration.blocks <= blocks else {
            throw TrainingError("head \(configuration) reads \(configuration.blocks) blocks; the features hold \(blocks)")
        }
        guard !configuration.usesPatchMean || patchMeans != nil else {
            throw TrainingError("head \(configuration) reads the mean patch token, which the features do not hold (extract with --patch-tokens mean)")
        }
    }

    /// The head input of every item as one matrix `[count, blocks · D (+ C)]`: the class tokens of
    /// the last `blocks` blocks, then the last block's mean patch token when `usesPatchMean` (what kNN
    /// and logistic regression take). Throws as a head of that input would (`check`).
    public func matrix(blocks: Int, usesPatchMean: Bool) throws -> Tensor {
        try check(LinearProbeConfiguration(blocks: blocks, usesPatchMean: usesPatchMean, learningRate: 1))
        let input = ProbeInput(blocks: blocks, usesPatchMean: usesPatchMean)
        return Tensor(uninitializedShape: [count, inputWidth(input)]) { output in
            Array(0..<count).withUnsafeBufferPointer { gather($0, input, into: output.baseAddress!) }
        }
    }

    /// The items at `indices`, in that order.
    public func rows(_ indices: [Int]) throws -> ProbeFeatures {
        func pick(_ tensor: Tensor) -> Tensor {
            let itemCount = blocks * tensor.shape[2]
            return Tensor(uninitializedShape: [indices.count, blocks, tensor.shape[2]]) { output in
                tensor.withUnsafeBufferPointer { source in
                    for (row, index) in indices.enumerated() {
                        (output.baseAddress! + row * itemCount).update(from: source.baseAddress! + index * itemCount, count: itemCount)
                    }
                }
            }
        }
        guard indices.allSatisfy({ (0..<count).contains($0) }) else { throw TrainingError("row indices outside 0..<\(count)") }
        return try ProbeFeatures(classTokens: pick(classTokens), patchMeans: patchMeans.map(pick))
    }

    /// Width of the head input for `input`.
    func inputWidth(_ input: ProbeInput) -> Int { input.blocks * width + (input.usesPatchMean ? patchWidth : 0) }

    /// Writes the head inputs of `items` as rows `[items.count, inputWidth(input)]` into `output`.
    func gather(_ items: UnsafeBufferPointer<Int>, _ input: ProbeInput, into output: UnsafeMutablePointer<Float>) {
        let rowWidth = inputWidth(input)
        let firstBlock = blocks - input.blocks
        classTokens.withUnsafeBufferPointer { cls in
            for (row, item) in items.enumerated() {
                let itemOffset = item * blocks * width
                (output + row * rowWidth).update(from: cls.baseAddress! + itemOffset + firstBlock * width, count: input.blocks * width)
            }
        }
        guard input.usesPatchMean, let patchMeans else { return }
        let patchWidth = patchWidth
        patchMeans.withUnsafeBufferPointer { patches in
            for (row, item) in items.enumerated() {
                (output + row * rowWidth + input.blocks * width).update(from: patches.baseAddress! + (item * blocks + blocks - 1) * patchWidth,
                                                                         count: patchWidth)
            }
        }
    }
}

/// What a head reads: the class tokens of the last `blocks` blocks, and the last block's patch mean or not.
struct ProbeInput: Hashable, Sendable {
    let blocks: Int
    let usesPatchMean: Bool
}
