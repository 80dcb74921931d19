import Convolution
import SegmentationDecoders
import TensorCore
import TensorKernels

/// What a trainable segmentation model reads.
public enum SegmentationInputKind: Sendable, Equatable, CustomStringConvertible {
    /// The normed patch grids `[B, D, h, w]` of the frozen backbone's last `lastBlocks` blocks, oldest first.
    case featureGrids(lastBlocks: Int)
    /// The preprocessed images `[B, 3, S, S]` themselves (a model trained from scratch).
    case images

    public var description: String {
        switch self {
        case .featureGrids(let blocks): "patch grids of the last \(blocks) normed block\(blocks == 1 ? "" : "s")"
        case .images: "images"
        }
    }
}

/// A trainable model mapping its inputs (see `inputKind`) to class logits `[B, K, H, W]` at any requested
/// image size, with a forward/backward pair for training and the state-dict API of the decoders.
/// `SegmentationTrainer` runs any conforming type; a model taking images needs only this conformance.
public protocol SegmentationHead: Sendable {
    /// What `backward` needs from `forwardTraining`.
    associatedtype Cache

    /// The inputs the model takes.
    var inputKind: SegmentationInputKind { get }
    /// Training mode (BatchNorm on batch statistics): logits `[B, K, imageSize]` and the cache.
    mutating func forwardTraining(_ inputs: [Tensor], imageSize: Size2D, context: ComputeContext) throws -> (output: Tensor, cache: Cache)
    /// Evaluation mode: logits `[B, K, imageSize]`.
    func forwardInference(_ inputs: [Tensor], imageSize: Size2D, context: ComputeContext) throws -> Tensor
    /// `∂L/∂parameter` by state-dict key for `outputGradient` `[B, K, H, W]`.
    func parameterGradients(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> [String: Tensor]
    /// The trainable parameters in a fixed order with their keys.
    func trainableParameters() -> (keys: [String], tensors: [Tensor])
    /// Replaces the trainable parameters (order of `trainableParameters()`).
    mutating func setTrainableParameters(_ tensors: [Tensor]) throws
    /// Every parameter and buffer, keyed as PyTorch's `state_dict`.
    func stateDict() -> [String: Tensor]
}

extension LinearDecoder: SegmentationHead {
    public var inputKind: SegmentationInputKind { .featureGrids(lastBlocks: 1) }

    public mutating func forwardTraining(_ inputs: [Tensor], imageSize: Size2D, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        try forward(try Self.singleGrid(inputs), imageSize: imageSize, context: context)
    }

    public func forwardInference(_ inputs: [Tensor], imageSize: Size2D, context: ComputeContext) throws -> Tensor {
        try forward(try Self.singleGrid(inputs), imageSize: imageSize, context: context).output
    }

    public func parameterGradients(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> [String: Tensor] {
        try backward(outputGradient, cache: cache, context: context).parameters
    }

    private static func singleGrid(_ inputs: [Tensor]) throws -> Tensor {
        guard inputs.count == 1 else { throw SegmentationDecoderError("LinearDecoder: needs the last block's grid, got \(inputs.count) grids") }
        return inputs[0]
    }
}

extension UNetDecoder: SegmentationHead {
    public var inputKind: SegmentationInputKind { .featureGrids(lastBlocks: UNetDecoderConfiguration.inputCount) }

    public func parameterGradients(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> [String: Tensor] {
        try backward(outputGradient, cache: cache, context: context).parameters
    }
}

extension ScratchUNet: SegmentationHead {
    public var inputKind: SegmentationInputKind { .images }

    /// Training on images of `imageSize` (the labels' size): logits at the input's own size.
    public mutating func forwardTraining(_ inputs: [Tensor], imageSize: Size2D, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        let images = try Self.images(inputs)
        guard images.shape[2] == imageSize.height, images.shape[3] == imageSize.width else {
            throw SegmentationDecoderError("ScratchUNet: trains on images of the labels' size \(imageSize), got \(describeShape(images.shape))")
        }
        return try forwardTraining(images, context: context)
    }

    /// Logits at the input's size, bilinearly resized to `imageSize` when that differs (as the decoders upsample theirs).
    public func forwardInference(_ inputs: [Tensor], imageSize: Size2D, context: ComputeContext) throws -> Tensor {
        let logits = try forwardInference(try Self.images(inputs), context: context)
        guard logits.shape[2] != imageSize.height || logits.shape[3] != imageSize.width else { return logits }
        return try BilinearResize(outputHeight: imageSize.height, outputWidth: imageSize.width).forward(logits, context: context).output
    }

    public func parameterGradients(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> [String: Tensor] {
        try backward(outputGradient, cache: cache, context: context).parameters
    }

    /// The one image batch `[B, C, H, W]` of `inputs`.
    private static func images(_ inputs: [Tensor]) throws -> Tensor {
        guard inputs.count == 1, inputs[0].rank == 4 else {
            throw SegmentationDecoderError("ScratchUNet: needs one image batch [B, C, H, W], got \(inputs.map(\.shape))")
        }
        return inputs[0]
    }
}
