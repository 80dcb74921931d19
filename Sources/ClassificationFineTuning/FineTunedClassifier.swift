import Checkpoints
import Foundation
import Layers
import Models
import TensorCore
import TensorKernels

/// A fine-tuned classifier at inference: a plain DINOv2 backbone (LoRA already merged) and the linear head on its
/// final normed CLS token, `logits = cls·Wᵀ + b` (`W` `[K, D]`).
public struct FineTunedClassifier: Sendable {
    public let backbone: VisionTransformer
    public let head: Linear
    public let task: ClassificationTask

    public init(backbone: VisionTransformer, head: Linear, task: ClassificationTask) {
        self.backbone = backbone
        self.head = head
        self.task = task
    }

    /// Logits `[B, K]` of images `[B, 3, H, W]`.
    public func logits(images: Tensor, context: ComputeContext) throws -> Tensor {
        head(try backbone.features(images, context: context).cls, context: context)
    }

    /// Probabilities `[B, K]`: softmax rows (multi-class) or one sigmoid per finding (multi-label).
    public func probabilities(images: Tensor, context: ComputeContext) throws -> Tensor {
        Self.probabilities(fromLogits: try logits(images: images, context: context), task: task)
    }

    /// Softmax rows or elementwise sigmoid of `logits` `[B, K]`.
    static func probabilities(fromLogits logits: Tensor, task: ClassificationTask) -> Tensor {
        var result = logits
        let (rows, columns) = (logits.shape[0], logits.shape[1])
        result.withUnsafeMutableBufferPointer { values in
            switch task {
            case .multiClass: RowKernels.softmaxInPlace(values.baseAddress!, rows: rows, width: columns)
            case .multiLabel: for index in values.indices { values[index] = 1 / (1 + exp(-values[index])) }
            }
        }
        return result
    }

    /// The backbone under DINOv2's official keys (readable by `LoadedBackbone`, which leaves the head out) plus
    /// `head.weight` `[K, D]` and `head.bias` `[K]`.
    public func stateDict(source: String) -> StateDict {
        var stateDict = Binder.stateDict(of: backbone, source: source)
        stateDict[FineTuner.headPrefix + "weight"] = head.weight
        stateDict[FineTuner.headPrefix + "bias"] = head.bias
        return stateDict
    }

    /// Writes `stateDict` as safetensors, atomically, with `metadata` and the backbone's architecture settings
    /// (family DINOv2, heads, eps, activation, position interpolation), so that the backbone reads back exactly.
    public func write(to url: URL, metadata: [String: String]) throws {
        let all = metadata.merging(backbone.configuration.metadata(family: .dinov2)) { $1 }
        try SafetensorsFile.write(stateDict(source: url.path), to: url, metadata: all)
    }

    /// A classifier read back from a file `write` made: the backbone by `LoadedBackbone` (with `heads` attention
    /// heads when given: checkpoints do not record it) and the head's tensors.
    public static func read(contentsOf url: URL, task: ClassificationTask, heads: Int? = nil) throws -> FineTunedClassifier {
        var backbone = try LoadedBackbone(contentsOf: url).model
        if let heads { backbone = try backbone.withHeads(heads) }
        let tensors = try SafetensorsFile.read(contentsOf: url)
        guard let weight = tensors[FineTuner.headPrefix + "weight"], let bias = tensors[FineTuner.headPrefix + "bias"] else {
            throw CheckpointError(file: url.path, "holds no head.weight and head.bias (not a fine-tuned classifier)")
        }
        return FineTunedClassifier(backbone: backbone, head: Linear(weight: weight, bias: bias), task: task)
    }
}
