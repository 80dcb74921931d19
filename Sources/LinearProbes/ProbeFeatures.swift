import TensorCore
import Training

/// Frozen features of `count` items as a feature store keeps them: the class token `[count, L, D]` and
/// the mean patch token `[count, L, D]` of each of the last `L` blocks, oldest block first.
///
/// A head reading the last `b` blocks, with or without the patch mean, sees the row
/// `concat(cls[L−b], …, cls[L−1], patchMean[L−1])` of width `b·D (+ D)`: as DINOv2's
/// `create_linear_input`, whose average pool uses only the last block's patch tokens.
public struct ProbeFeatures: Sendable {
    /// `[count, L, D]` class tokens.
    public let classTokens: Tensor
    /// `[count, L, D]` mean patch tokens.
    public let patchMeans: Tensor

    /// Checks that both tensors are `[count, L, D]` of equal shape and hold only finite values.
    public init(classTokens: Tensor, patchMeans: Tensor) throws {
        guard classTokens.rank == 3, classTokens.shape == patchMeans.shape else {
            throw TrainingError("class tokens \(classTokens.shape) and patch means \(patchMeans.shape) must both be [items, blocks, width]")
        }
        guard classTokens.shape[1] > 0, classTokens.shape[2] > 0 else { throw TrainingError("features \(classTokens.shape) have no blocks or no width") }
        for (name, tensor) in [("class tokens", classTokens), ("patch means", patchMeans)] {
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
    /// Token width `D`.
    public var width: Int { classTokens.shape[2] }

    /// The items of `self` followed by those of `other` (same `L` and `D`).
    public func appending(_ other: ProbeFeatures) throws -> ProbeFeatures {
        guard other.blocks == blocks, other.width == width else {
            throw TrainingError("cannot join features of \(blocks) blocks × \(width) with \(other.blocks) blocks × \(other.width)")
        }
        return try ProbeFeatures(classTokens: .concatenate([classTokens, other.classTokens]),
                                 patchMeans: .concatenate([patchMeans, other.patchMeans]))
    }

    /// Width of the head input for `input`.
    func inputWidth(_ input: ProbeInput) -> Int { (input.blocks + (input.usesPatchMean ? 1 : 0)) * width }

    /// Writes the head inputs of `items` as rows `[items.count, inputWidth(input)]` into `output`.
    func gather(_ items: UnsafeBufferPointer<Int>, _ input: ProbeInput, into output: UnsafeMutablePointer<Float>) {
        let rowWidth = inputWidth(input)
        let firstBlock = blocks - input.blocks
        classTokens.withUnsafeBufferPointer { cls in
            patchMeans.withUnsafeBufferPointer { patches in
                for (row, item) in items.enumerated() {
                    let destination = output + row * rowWidth
                    let itemOffset = item * blocks * width
                    destination.update(from: cls.baseAddress! + itemOffset + firstBlock * width, count: input.blocks * width)
                    if input.usesPatchMean {
                        (destination + input.blocks * width).update(from: patches.baseAddress! + itemOffset + (blocks - 1) * width,
                                                                    count: width)
                    }
                }
            }
        }
    }
}

/// What a head reads: the class tokens of the last `blocks` blocks, and the last block's patch mean or not.
struct ProbeInput: Hashable, Sendable {
    let blocks: Int
    let usesPatchMean: Bool
}
