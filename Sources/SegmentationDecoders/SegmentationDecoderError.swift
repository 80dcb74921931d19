/// A decoder input that cannot be used: the wrong number of feature grids, grids of different shapes,
/// a channel count unlike the configuration, a state dict with missing, unexpected or misshapen keys.
/// `message` says what and where.
public struct SegmentationDecoderError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, in words.
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
