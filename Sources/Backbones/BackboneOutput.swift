import TensorCore

/// What a backbone gives for a batch of `B` images: the final CLS-like vector and patch tokens, and the
/// outputs of chosen blocks.
///
/// - Vision Transformers: `cls` the normed class token `[B, D]`, `patches` the normed patch tokens
///   `[B, N, D]`, `registers` `[B, R, D]` (DINOv2 with registers); `layers` the chosen blocks' class and
///   patch tokens, with the final norm when asked (`get_intermediate_layers`).
/// - SAM: `cls` the mean of the neck output over the grid `[B, 256]`, `patches` the neck tokens
///   `[B, N, 256]`; one layer, the neck.
/// - ResNet, DenseNet, VGG: `cls` the pooled features `[B, D]`, `patches` the last stage's map as
///   tokens `[B, h·w, C]`; one layer holding the same.
public struct BackboneOutput: Sendable {
    /// One selected block's (or level's) class-like vector `[B, D]` and patch tokens `[B, N, C]`.
    public struct Layer: Sendable {
        public var index: Int
        public var cls: Tensor
        public var patches: Tensor

        public init(index: Int, cls: Tensor, patches: Tensor) {
            self.index = index
            self.cls = cls
            self.patches = patches
        }
    }

    public var cls: Tensor
    public var patches: Tensor
    public var registers: Tensor?
    public var layers: [Layer]
}
