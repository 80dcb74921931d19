import Foundation
import TensorCore

/// One deterministic preprocessing step.
public enum PreprocessingStep: Hashable, Sendable, RecordedStep {
    /// Clip to a fixed window (CT HU).
    case window(IntensityWindow)
    /// Clip to percentiles (MRI).
    case percentileClip(PercentileClip)
    /// Scale to [0, 1].
    case minMax(MinMaxScale)
    /// Grey → 3 channels.
    case greyToRGB(GreyToRGB)
    /// Resize to the model's input size.
    case resize(Resize)
    /// Per-channel mean/std normalisation (ImageNet's, CLIP's, …).
    case normalize(ChannelNormalize)

    /// The step's record, e.g. `window[-1024,600]`, `resize[224,square,bilinear-aa]`.
    public var description: String {
        switch self {
        case let .window(step): step.description
        case let .percentileClip(step): step.description
        case let .minMax(step): step.description
        case let .greyToRGB(step): step.description
        case let .resize(step): step.description
        case let .normalize(step): step.description
        }
    }

    /// The step parsed from its record; `nil` if the text is not one.
    public init?(record: String) {
        guard let (name, arguments) = parseRecord(record) else { return nil }
        switch (name, arguments.count) {
        case ("minmax", 0): self = .minMax(MinMaxScale())
        case ("grey3", 0): self = .greyToRGB(GreyToRGB())
        case (let name, 0) where ChannelNormalize.Statistics(rawValue: name) != nil:
            self = .normalize(ChannelNormalize(ChannelNormalize.Statistics(rawValue: name)!))
        case ("window", 2):
            guard let n = recordNumbers(arguments), n[0] <= n[1] else { return nil }
            self = .window(IntensityWindow(lower: Float(n[0]), upper: Float(n[1])))
        case ("percentile", 2):
            guard let n = recordNumbers(arguments), n[0] >= 0, n[0] <= n[1], n[1] <= 100 else { return nil }
            self = .percentileClip(PercentileClip(lower: n[0], upper: n[1]))
        case ("resize", 3):
            guard let size = Int(arguments[0]), size > 0,
                  let interpolation = Resize.Interpolation(rawValue: arguments[2]) else { return nil }
            let fit: Resize.Fit
            if arguments[1] == "square" {
                fit = .square
            } else if arguments[1].hasPrefix("short"), arguments[1].hasSuffix("-crop"),
                      let shorter = Int(arguments[1].dropFirst(5).dropLast(5)), shorter >= size {
                fit = .shorterSideThenCenterCrop(shorterSide: shorter)
            } else {
                return nil
            }
            self = .resize(Resize(size: size, fit: fit, interpolation: interpolation))
        default: return nil
        }
    }

    /// Whether the step clips intensities (and so, leading a pipeline, is applied to a whole volume).
    public var clipsIntensities: Bool {
        switch self {
        case .window, .percentileClip: true
        default: false
        }
    }

    /// The step applied to one image.
    public func apply(_ image: Image2D) -> Image2D {
        switch self {
        case let .window(step): step.apply(image)
        case let .percentileClip(step): step.apply(image)
        case let .minMax(step): step.apply(image)
        case let .greyToRGB(step): step.apply(image)
        case let .resize(step): step.apply(image)
        case let .normalize(step): step.apply(image)
        }
    }
}

/// An ordered list of preprocessing steps turning an image (or the slices of a volume) into a model input,
/// recorded with results as text: the steps' records joined by `" > "`, e.g.
/// `window[-1024,600] > minmax > grey3 > resize[224,square,bilinear-aa] > imagenet`; `Codable` as that string.
///
/// Volumes: the leading intensity-clipping steps (window, percentile) are applied to the whole volume
/// (so percentiles are those of the volume), then each slice goes through the remaining steps.
/// Masks go only through the `Resize` steps, with nearest-neighbour sampling (`mask(_:)`).
public struct PreprocessingPipeline: Hashable, Sendable, RecordedSteps {
    /// How a modality's raw intensities are clipped before scaling (DESIGN.md §6).
    public enum Modality: String, CaseIterable, Hashable, Sendable {
        /// Computed tomography: the HU window `[−1024, 600]`.
        case ct
        /// Magnetic resonance: 5th–95th percentile clipping.
        case mri
        /// Radiography: no clipping.
        case xray
        /// Anything else: no clipping.
        case other

        /// The modality of a DICOM Modality (0008,0060) value: `CT` → `.ct`, `MR` → `.mri`,
        /// `CR`/`DX`/`DR`/`RG`/`MG` → `.xray`, anything else `.other`.
        public init(dicomModality: String) {
            switch dicomModality.trimmingCharacters(in: .whitespaces).uppercased() {
            case "CT": self = .ct
            case "MR": self = .mri
            case "CR", "DX", "DR", "RG", "MG": self = .xray
            default: self = .other
            }
        }

        /// The clipping step of the modality, if any.
        public var intensityStep: PreprocessingStep? {
            switch self {
            case .ct: .window(.ct)
            case .mri: .percentileClip(.mri)
            case .xray, .other: nil
            }
        }
    }

    /// Steps, applied first to last.
    public var steps: [PreprocessingStep]

    /// A pipeline of `steps` in order.
    public init(steps: [PreprocessingStep]) { self.steps = steps }

    /// A model's evaluation transform: the modality's clipping, then min–max to [0, 1] over all samples
    /// and channels, grey replicated to 3 channels, a resize to `size` × `size` (`fit`, `interpolation`),
    /// and the channel normalisation with `normalization`'s statistics. `tensor(_:)` of an image gives
    /// `[1, 3, size, size]`.
    public static func evaluation(size: Int, fit: Resize.Fit = .square, interpolation: Resize.Interpolation = .bilinearAntialiased,
                                  normalization: ChannelNormalize.Statistics = .imagenet, modality: Modality) -> PreprocessingPipeline {
        PreprocessingPipeline(steps: (modality.intensityStep.map { [$0] } ?? []) + [
            .minMax(MinMaxScale()), .greyToRGB(GreyToRGB()),
            .resize(Resize(size: size, fit: fit, interpolation: interpolation)), .normalize(ChannelNormalize(normalization)),
        ])
    }

    /// The DINOv2-on-radiology study's pipeline: a square resize to `size` (antialiased bilinear by
    /// default: torch's `interpolate(mode="bilinear", align_corners=False, antialias=True)`, as
    /// torchvision's tensor `Resize` and PIL's `BILINEAR`) and ImageNet mean/std:
    /// `minmax > grey3 > resize[size,square,…] > imagenet` after the modality's clipping.
    public static func study(size: Int = 224, modality: Modality,
                             interpolation: Resize.Interpolation = .bilinearAntialiased) -> PreprocessingPipeline {
        evaluation(size: size, interpolation: interpolation, modality: modality)
    }

    /// DINOv2's evaluation transform after the modality's clipping and min–max scaling: shorter side to
    /// `shorterSide` (bicubic, antialiased as torchvision's tensor `Resize(antialias=True)`), centre crop
    /// `size`, ImageNet normalisation.
    public static func dinov2Evaluation(size: Int = 224, shorterSide: Int = 256, modality: Modality) -> PreprocessingPipeline {
        evaluation(size: size, fit: .shorterSideThenCenterCrop(shorterSide: shorterSide), interpolation: .bicubicAntialiased, modality: modality)
    }

    /// `image` through every step.
    ///
    /// Two reorderings save work without changing the result beyond float rounding: a `grey3` directly
    /// followed by a `resize` runs after it (resizing three identical planes gives three identical
    /// planes, sample for sample, for a third of the work); and a `minmax` directly followed by a
    /// `resize` finds the minimum and maximum of the full image, lets the resize run on the raw samples
    /// and scales its output (every resize kernel's weights sum to 1, so scaling commutes with it) —
    /// on an image whose samples are all finite, as the scaling of NaN and ±∞ does not commute.
    public func callAsFunction(_ image: Image2D) -> Image2D {
        var order = steps
        for index in order.indices.dropLast() {
            if case .greyToRGB = order[index], case .resize = order[index + 1] { order.swapAt(index, index + 1) }
        }
        var result = image, index = 0
        while index < order.count {
            if case .minMax(let scale) = order[index], index + 1 < order.count, case .resize(let resize) = order[index + 1],
               let (lo, hi) = scale.finiteRange(of: result) {
                result = scale.scaled(resize.apply(result), lo: lo, hi: hi)
                index += 2
            } else {
                result = order[index].apply(result)
                index += 1
            }
        }
        return result
    }

    /// The model input for `image`: `[1, C, H, W]` (`[1, 3, S, S]` for the study's pipelines).
    public func tensor(_ image: Image2D) -> Tensor {
        let output = self(image)
        return Tensor(shape: [1, output.channels, output.height, output.width], values: output.pixels)
    }

    /// A label mask through the geometric steps only (`Resize` with nearest-neighbour sampling).
    public func mask(_ mask: Image2D) -> Image2D {
        steps.reduce(mask) { image, step in
            if case let .resize(resize) = step { return resize.resizedMask(image) }
            return image
        }
    }

    /// The slices of `volume` along `axis` (frame `frame`), each through the pipeline: the leading
    /// intensity-clipping steps act on the whole volume first, the rest on each slice.
    public func slices(of volume: Volume, axis: VolumeSlicer.Axis, frame: Int = 0) throws -> [Image2D] {
        let (clipped, perSlice) = clippingWholeVolume(volume)
        return try VolumeSlicer(axis: axis).slices(of: clipped, frame: frame).map { perSlice($0) }
    }

    /// The model inputs of a file's content: a 2D image through every step, or every slice of frame
    /// `frame` of a volume along `axis` (`slices(of:axis:frame:)`).
    public func images(of content: ImageContent, axis: VolumeSlicer.Axis = .axial, frame: Int = 0) throws -> [Image2D] {
        switch content {
        case .image(let image): [self(image)]
        case .volume(let volume): try slices(of: volume, axis: axis, frame: frame)
        }
    }

    /// Slice `index` (display order) of `volume` along `axis`, through the pipeline as `slices(of:axis:frame:)`
    /// would give it (percentiles and windows still computed over the whole volume).
    public func slice(_ index: Int, of volume: Volume, axis: VolumeSlicer.Axis, frame: Int = 0) throws -> Image2D {
        let (clipped, perSlice) = clippingWholeVolume(volume)
        return perSlice(try clipped.slice(index, axis: axis, frame: frame))
    }

    /// The volume after the leading clipping steps, and the pipeline of the steps that remain.
    func clippingWholeVolume(_ volume: Volume) -> (Volume, PreprocessingPipeline) {
        let leading = steps.prefix { $0.clipsIntensities }
        var clipped = volume
        for step in leading {
            switch step {
            case let .window(window): clipped = window.apply(clipped)
            case let .percentileClip(clip): clipped = clip.apply(clipped)
            default: break
            }
        }
        return (clipped, PreprocessingPipeline(steps: Array(steps.dropFirst(leading.count))))
    }
}
