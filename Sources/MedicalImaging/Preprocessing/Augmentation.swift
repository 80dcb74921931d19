import Foundation
import Randomness

/// Random crop keeping a fraction of the area: the fraction `f` is drawn uniformly from `scale`, the crop
/// keeps the image's aspect ratio (torchvision's `RandomResizedCrop` with `ratio` fixed to width/height):
/// `w = round(W · √f)`, `h = round(H · √f)` (halves to even, as Python's `round`; at least 1), then
/// `top` uniform in `0...H − h` and `left` in `0...W − w`. The crop is not resized: the preprocessing's
/// `Resize` brings it to the model size. Draws: `uniform()` for `f`, then `integer(below:)` for top and left.
public struct RandomScaleCrop: Hashable, Sendable, CustomStringConvertible {
    /// Range of the kept area fraction, within (0, 1].
    public var scale: ClosedRange<Double>

    /// A crop keeping between `scale.lowerBound` and `scale.upperBound` of the area.
    public init(scale: ClosedRange<Double> = 0.75...1) {
        precondition(scale.lowerBound > 0 && scale.upperBound <= 1, "area fraction \(scale) outside (0, 1]")
        self.scale = scale
    }

    /// `scalecrop[0.75,1]`.
    public var description: String { "scalecrop[\(recordNumber(scale.lowerBound)),\(recordNumber(scale.upperBound))]" }

    /// The image and mask cropped to the same window.
    func apply(_ image: Image2D, mask: Image2D?, using rng: inout SeededGenerator) -> (Image2D, Image2D?) {
        let side = rng.uniform(in: scale).squareRoot()
        let w = min(max(Int((Double(image.width) * side).rounded(.toNearestOrEven)), 1), image.width)
        let h = min(max(Int((Double(image.height) * side).rounded(.toNearestOrEven)), 1), image.height)
        let top = rng.integer(below: image.height - h + 1), left = rng.integer(below: image.width - w + 1)
        return (image.cropped(top: top, left: left, height: h, width: w),
                mask?.cropped(top: top, left: left, height: h, width: w))
    }
}

/// Left ↔ right mirror with probability `p` (one `uniform()` draw; flips when it is below `p`):
/// pixel (y, x) → (y, W − 1 − x).
public struct HorizontalFlip: Hashable, Sendable, CustomStringConvertible {
    /// Probability of flipping.
    public var p: Double

    /// A flip with probability `p` (0…1).
    public init(p: Double = 0.5) {
        precondition(p >= 0 && p <= 1, "probability \(p) outside 0…1")
        self.p = p
    }

    /// `hflip[0.5]`.
    public var description: String { "hflip[\(recordNumber(p))]" }

    func apply(_ image: Image2D, mask: Image2D?, using rng: inout SeededGenerator) -> (Image2D, Image2D?) {
        guard rng.uniform() < p else { return (image, mask) }
        return (image.flippedHorizontally(), mask?.flippedHorizontally())
    }
}

/// Top ↔ bottom mirror with probability `p` (one `uniform()` draw): pixel (y, x) → (H − 1 − y, x).
public struct VerticalFlip: Hashable, Sendable, CustomStringConvertible {
    /// Probability of flipping.
    public var p: Double

    /// A flip with probability `p` (0…1).
    public init(p: Double = 0.5) {
        precondition(p >= 0 && p <= 1, "probability \(p) outside 0…1")
        self.p = p
    }

    /// `vflip[0.25]`.
    public var description: String { "vflip[\(recordNumber(p))]" }

    func apply(_ image: Image2D, mask: Image2D?, using rng: inout SeededGenerator) -> (Image2D, Image2D?) {
        guard rng.uniform() < p else { return (image, mask) }
        return (image.flippedVertically(), mask?.flippedVertically())
    }
}

/// Rotation by an angle drawn uniformly from `−maxDegrees…maxDegrees` (one `uniform(in:)` draw),
/// counter-clockwise on screen for positive angles, about the image centre, same size, fill 0: bilinear
/// for the image, nearest for the mask (see `Image2D.rotated`).
public struct RandomRotation: Hashable, Sendable, CustomStringConvertible {
    /// Largest rotation either way, in degrees.
    public var maxDegrees: Double

    /// Rotations up to `maxDegrees` (≥ 0) either way.
    public init(maxDegrees: Double = 90) {
        precondition(maxDegrees >= 0, "maximum rotation \(maxDegrees) must not be negative")
        self.maxDegrees = maxDegrees
    }

    /// `rotate[90]`.
    public var description: String { "rotate[\(recordNumber(maxDegrees))]" }

    func apply(_ image: Image2D, mask: Image2D?, using rng: inout SeededGenerator) -> (Image2D, Image2D?) {
        let degrees = rng.uniform(in: -maxDegrees...maxDegrees)
        return (image.rotated(degrees: degrees, sampling: .bilinear), mask?.rotated(degrees: degrees, sampling: .nearest))
    }
}

/// One random augmentation.
public enum AugmentationStep: Hashable, Sendable, RecordedStep {
    case scaleCrop(RandomScaleCrop)
    case horizontalFlip(HorizontalFlip)
    case verticalFlip(VerticalFlip)
    case rotation(RandomRotation)

    /// The step's record, e.g. `hflip[0.5]`.
    public var description: String {
        switch self {
        case let .scaleCrop(step): step.description
        case let .horizontalFlip(step): step.description
        case let .verticalFlip(step): step.description
        case let .rotation(step): step.description
        }
    }

    /// The step parsed from its record; `nil` if the text is not one.
    public init?(record: String) {
        guard let (name, arguments) = parseRecord(record), let numbers = recordNumbers(arguments) else { return nil }
        switch (name, numbers.count) {
        case ("scalecrop", 2) where numbers[0] > 0 && numbers[0] <= numbers[1] && numbers[1] <= 1:
            self = .scaleCrop(RandomScaleCrop(scale: numbers[0]...numbers[1]))
        case ("hflip", 1) where numbers[0] >= 0 && numbers[0] <= 1: self = .horizontalFlip(HorizontalFlip(p: numbers[0]))
        case ("vflip", 1) where numbers[0] >= 0 && numbers[0] <= 1: self = .verticalFlip(VerticalFlip(p: numbers[0]))
        case ("rotate", 1) where numbers[0] >= 0: self = .rotation(RandomRotation(maxDegrees: numbers[0]))
        default: return nil
        }
    }

    func apply(_ image: Image2D, mask: Image2D?, using rng: inout SeededGenerator) -> (Image2D, Image2D?) {
        switch self {
        case let .scaleCrop(step): step.apply(image, mask: mask, using: &rng)
        case let .horizontalFlip(step): step.apply(image, mask: mask, using: &rng)
        case let .verticalFlip(step): step.apply(image, mask: mask, using: &rng)
        case let .rotation(step): step.apply(image, mask: mask, using: &rng)
        }
    }
}

/// Random augmentations applied in order to an image and its label mask in lockstep (the same crop,
/// flips and angle for both), driven by a `SeededGenerator` so that a seed reproduces the result.
/// Record: the steps joined by `" > "`, e.g. `scalecrop[0.75,1] > hflip[0.5]`.
public struct Augmentation: Hashable, Sendable, RecordedSteps {
    /// Steps, applied first to last.
    public var steps: [AugmentationStep]

    /// Augmentation by `steps` in order.
    public init(steps: [AugmentationStep]) { self.steps = steps }

    /// The study's classification augmentation: `scalecrop[0.75,1] > hflip[0.5]`.
    public static let classification = Augmentation(steps: [.scaleCrop(RandomScaleCrop(scale: 0.75...1)),
                                                            .horizontalFlip(HorizontalFlip(p: 0.5))])
    /// The study's segmentation augmentation: `hflip[0.25] > vflip[0.25] > rotate[90]`.
    public static let segmentation = Augmentation(steps: [.horizontalFlip(HorizontalFlip(p: 0.25)),
                                                          .verticalFlip(VerticalFlip(p: 0.25)),
                                                          .rotation(RandomRotation(maxDegrees: 90))])

    /// `image` and `mask` (same width and height; labels as values) transformed in lockstep.
    public func callAsFunction(_ image: Image2D, mask: Image2D?,
                               using rng: inout SeededGenerator) throws -> (Image2D, Image2D?) {
        if let mask, mask.width != image.width || mask.height != image.height {
            throw ImagingError(file: mask.source?.path ?? image.source?.path ?? "mask",
                               problem: "the mask is \(mask.width)×\(mask.height) but its image is \(image.width)×\(image.height)")
        }
        var pair = (image, mask)
        for step in steps { pair = step.apply(pair.0, mask: pair.1, using: &rng) }
        return pair
    }
}
