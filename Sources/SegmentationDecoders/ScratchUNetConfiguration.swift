/// The shape of a `ScratchUNet`: input channels `C`, classes `K` and the base width `w`.
///
/// Channels per level: `w, 2w, 4w, 8w, 16w` (the last is the bottleneck); `w = 64` is the classic U-Net
/// (Ronneberger et al. 2015) of about 31 M parameters. Images must have sides that are multiples of
/// `2^depth = 16`, so every max-pool halves exactly and every up-convolution lands on its skip's size.
public struct ScratchUNetConfiguration: Sendable, Equatable {
    /// Max-pool steps (and up-blocks).
    public static let depth = 4

    /// `C`: 3 after the study's preprocessing (grey replicated), or 1.
    public let inputChannels: Int
    /// `K`.
    public let classes: Int
    /// `w`: channels of the first level.
    public let baseWidth: Int

    /// Throws unless every count is positive.
    public init(inputChannels: Int = 3, classes: Int, baseWidth: Int = 64) throws {
        guard inputChannels > 0, classes > 0, baseWidth > 0 else {
            throw SegmentationDecoderError("ScratchUNet: input channels \(inputChannels), classes \(classes) and base width \(baseWidth) must be positive")
        }
        self.inputChannels = inputChannels
        self.classes = classes
        self.baseWidth = baseWidth
    }

    /// `w · 2ˡ` for levels `l = 0 … depth`.
    public var levelChannels: [Int] { (0...Self.depth).map { baseWidth << $0 } }

    /// What the image sides must be multiples of: `2^depth`.
    public static var sideMultiple: Int { 1 << depth }
}
