import Foundation

/// Clips intensities to `[lower, upper]`: `x' = min(max(x, lower), upper)`; NaN becomes `lower` (so a
/// later min–max scaling maps it to 0). Applied to a whole volume before slicing, or to one image.
/// CT default `[−1024, 600]` HU (`.ct`).
public struct IntensityWindow: Hashable, Sendable, CustomStringConvertible {
    /// Lowest value kept.
    public var lower: Float
    /// Highest value kept.
    public var upper: Float

    /// The window `[lower, upper]` (`lower ≤ upper`).
    public init(lower: Float, upper: Float) {
        precondition(lower <= upper, "window [\(lower), \(upper)] is empty")
        self.lower = lower
        self.upper = upper
    }

    /// The window of a DICOM-style centre and width: `[center − width/2, center + width/2]`
    /// (the plain centre ± half width, not DICOM's `c − 0.5 ± (w − 1)/2` display edges); `nil` unless
    /// both are finite and `width > 0`.
    public init?(center: Float, width: Float) {
        guard center.isFinite, width.isFinite, width > 0 else { return nil }
        self.init(lower: center - width / 2, upper: center + width / 2)
    }

    /// The study's CT window, `[−1024, 600]` HU.
    public static let ct = IntensityWindow(lower: -1024, upper: 600)

    /// `window[-1024,600]`.
    public var description: String { "window[\(recordNumber(lower)),\(recordNumber(upper))]" }

    /// The image clipped.
    public func apply(_ image: Image2D) -> Image2D { image.replacingPixels(clip(image.pixels)) }

    /// The volume clipped (every voxel of every frame).
    public func apply(_ volume: Volume) -> Volume { volume.replacingVoxels(clip(volume.voxels), storedType: "float32") }

    func clip(_ values: [Float]) -> [Float] {
        let lower = lower, upper = upper
        return values.map { $0.isNaN ? lower : min(max($0, lower), upper) }
    }
}

/// Clips intensities to the `lower`-th and `upper`-th percentiles of the non-NaN values, then as
/// `IntensityWindow` (NaN becomes the lower bound). Percentiles as `numpy.nanpercentile` with the
/// default linear method: sorted non-NaN values `a[0…n−1]`, position `v = (n − 1) · p/100` (in double),
/// `i = ⌊v⌋`, `g = v − i`, value `a[i] + (a[i+1] − a[i]) · g` (`a[i+1] − (a[i+1] − a[i]) · (1 − g)` when
/// `g ≥ 0.5`, numpy's `_lerp`; here in double, where numpy may round to float32 on the way: the bounds
/// agree to an ulp). The two order statistics are found by selection, O(n) in the voxel count. Computed over the whole volume (all voxels, all frames) when applied to a
/// volume, over the image otherwise. All-NaN input becomes all zeros. MRI default 5–95 (`.mri`).
public struct PercentileClip: Hashable, Sendable, CustomStringConvertible {
    /// Lower percentile, 0…100.
    public var lower: Double
    /// Upper percentile, 0…100.
    public var upper: Double

    /// Clipping between the `lower`-th and `upper`-th percentiles (`0 ≤ lower ≤ upper ≤ 100`).
    public init(lower: Double = 5, upper: Double = 95) {
        precondition(lower >= 0 && lower <= upper && upper <= 100, "percentiles \(lower)–\(upper) outside 0…100")
        self.lower = lower
        self.upper = upper
    }

    /// The study's MRI clipping, 5th–95th percentile.
    public static let mri = PercentileClip(lower: 5, upper: 95)

    /// `percentile[5,95]`.
    public var description: String { "percentile[\(recordNumber(lower)),\(recordNumber(upper))]" }

    /// The image clipped to its own percentiles.
    public func apply(_ image: Image2D) -> Image2D { image.replacingPixels(clip(image.pixels)) }

    /// The volume clipped to the percentiles of all its voxels.
    public func apply(_ volume: Volume) -> Volume { volume.replacingVoxels(clip(volume.voxels), storedType: "float32") }

    /// The window between the two percentiles of `values`, `nil` when every value is NaN.
    public func window(of values: [Float]) -> IntensityWindow? {
        var finite = values.filter { !$0.isNaN }
        guard !finite.isEmpty else { return nil }
        let (lowerRank, _) = Self.ranks(lower, count: finite.count)
        let low = Self.percentile(lower, of: &finite, from: 0)
        let high = Self.percentile(upper, of: &finite, from: lowerRank)
        return IntensityWindow(lower: Float(low), upper: Float(high))
    }

    /// The ranks (0-based, ascending) of the two values percentile `p` interpolates between, and the
    /// weight of the upper one: numpy's `(n − 1) · p / 100` split into whole and fractional parts.
    static func ranks(_ p: Double, count: Int) -> (below: Int, gamma: Double) {
        let position = Double(count - 1) * (p / 100)
        let below = min(max(Int(position.rounded(.down)), 0), count - 1)
        return (below, position - Double(below))
    }

    /// numpy's linear percentile `p` of the non-NaN `values`, found by selection (O(n)); `values` are
    /// reordered, and ranks below `start` must already hold the smallest values (a previous selection).
    static func percentile(_ p: Double, of values: inout [Float], from start: Int) -> Double {
        let (below, gamma) = ranks(p, count: values.count)
        let a = Double(OrderStatistics.select(below, in: &values, range: start..<values.count))
        let b = below + 1 < values.count ? Double(OrderStatistics.minimum(of: values, in: below + 1 ..< values.count)) : a
        return interpolate(a, b, gamma)
    }

    /// numpy's linear percentile `p` (0…100) of ascending non-NaN `sorted` values, in double.
    public static func percentile(_ p: Double, ofSorted sorted: [Float]) -> Double {
        precondition(!sorted.isEmpty, "percentile of no values")
        let (below, gamma) = ranks(p, count: sorted.count)
        return interpolate(Double(sorted[below]), Double(sorted[min(below + 1, sorted.count - 1)]), gamma)
    }

    /// numpy's `_lerp`: `a + (b − a) · γ`, or `b − (b − a) · (1 − γ)` when `γ ≥ 0.5`.
    static func interpolate(_ a: Double, _ b: Double, _ gamma: Double) -> Double {
        let difference = b - a
        return gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma
    }

    private func clip(_ values: [Float]) -> [Float] {
        guard let window = window(of: values) else { return [Float](repeating: 0, count: values.count) }
        return window.clip(values)
    }
}

/// Min–max scaling to [0, 1] over all samples and channels together: `x' = (x − min) / (max − min)`,
/// min and max over the finite samples; all zeros when `max = min` (or no sample is finite); NaN
/// becomes 0 and ±∞ are clamped to 1 and 0. The result has `bitDepth` 32.
public struct MinMaxScale: Hashable, Sendable, CustomStringConvertible {
    /// The scaling.
    public init() {}

    /// `minmax`.
    public var description: String { "minmax" }

    /// The image scaled to [0, 1].
    public func apply(_ image: Image2D) -> Image2D {
        var lo = Float.infinity, hi = -Float.infinity
        for v in image.pixels where v.isFinite {
            lo = min(lo, v)
            hi = max(hi, v)
        }
        let range = hi - lo
        let scaled = range > 0 ? image.pixels.map { $0.isNaN ? 0 : (min(max($0, lo), hi) - lo) / range }
                               : [Float](repeating: 0, count: image.pixels.count)
        return image.replacingPixels(scaled, bitDepth: 32)
    }

    /// `(x − lo) / (hi − lo)` for every sample of `image`, without clamping (all zeros when `hi = lo`):
    /// the scaling of finite samples whose minimum and maximum were found beforehand, e.g. on the image
    /// before it was resized.
    func scaled(_ image: Image2D, lo: Float, hi: Float) -> Image2D {
        let range = hi - lo
        let scaled = range > 0 ? image.pixels.map { ($0 - lo) / range } : [Float](repeating: 0, count: image.pixels.count)
        return image.replacingPixels(scaled, bitDepth: 32)
    }

    /// The minimum and maximum sample of `image` in one vectorised pass, or nil when a sample is not
    /// finite (NaN or ±∞, which `apply(_:)` treats specially).
    func finiteRange(of image: Image2D) -> (lo: Float, hi: Float)? {
        image.pixels.withUnsafeBufferPointer { values -> (lo: Float, hi: Float)? in
            typealias Lanes = SIMD16<Float>
            var lo = Lanes(repeating: .infinity), hi = Lanes(repeating: -.infinity)
            var finite = SIMDMask<SIMD16<Int32>>(repeating: true)
            let whole = values.count / Lanes.scalarCount * Lanes.scalarCount
            let raw = UnsafeRawPointer(values.baseAddress!)
            for start in stride(from: 0, to: whole, by: Lanes.scalarCount) {
                let v = raw.loadUnaligned(fromByteOffset: start * MemoryLayout<Float>.stride, as: Lanes.self)
                finite .&= v - v .== Lanes(repeating: 0) // false for NaN and ±∞
                lo = lo.replacing(with: v, where: v .< lo)
                hi = hi.replacing(with: v, where: v .> hi)
            }
            var low = lo.min(), high = hi.max(), allFinite = all(finite)
            for v in values[whole...] {
                allFinite = allFinite && v.isFinite
                low = min(low, v)
                high = max(high, v)
            }
            return allFinite && !values.isEmpty ? (low, high) : nil
        }
    }
}

/// Grey replicated to three identical channels (R = G = B); an RGB image is kept as it is.
public struct GreyToRGB: Hashable, Sendable, CustomStringConvertible {
    /// The replication.
    public init() {}

    /// `grey3`.
    public var description: String { "grey3" }

    /// A 3-channel image.
    public func apply(_ image: Image2D) -> Image2D {
        guard image.channels == 1 else { return image }
        return image.derived(width: image.width, height: image.height, channels: 3,
                             pixels: image.pixels + image.pixels + image.pixels, bitDepth: image.bitDepth,
                             pixelSpacing: image.pixelSpacing)
    }
}

/// Per-channel normalisation with a model family's statistics: `x' = (x − mean[c]) / std[c]` for R, G, B;
/// a grey image is replicated to three channels first.
///
/// - `imagenet`: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225) — DINOv2, torchvision, MAE, MSN, and
///   SAM (whose 0–255 statistics are the same values × 255);
/// - `clip`: mean (0.48145466, 0.4578275, 0.40821073), std (0.26862954, 0.26130258, 0.27577711) — OpenAI
///   CLIP and OpenCLIP;
/// - `inception`: mean 0.5, std 0.5 per channel — Google's ViT on ImageNet-21k.
public struct ChannelNormalize: Hashable, Sendable, CustomStringConvertible {
    /// The named statistics; the raw value is the step's record.
    public enum Statistics: String, CaseIterable, Hashable, Sendable {
        case imagenet, clip, inception

        /// Channel means (R, G, B).
        public var mean: [Float] {
            switch self {
            case .imagenet: [0.485, 0.456, 0.406]
            case .clip: [0.48145466, 0.4578275, 0.40821073]
            case .inception: [0.5, 0.5, 0.5]
            }
        }

        /// Channel standard deviations (R, G, B).
        public var std: [Float] {
            switch self {
            case .imagenet: [0.229, 0.224, 0.225]
            case .clip: [0.26862954, 0.26130258, 0.27577711]
            case .inception: [0.5, 0.5, 0.5]
            }
        }
    }

    public let statistics: Statistics

    /// The normalisation with `statistics` (ImageNet's unless given).
    public init(_ statistics: Statistics = .imagenet) { self.statistics = statistics }

    /// The statistics' name: `imagenet`, `clip` or `inception`.
    public var description: String { statistics.rawValue }

    /// The 3-channel normalised image.
    public func apply(_ image: Image2D) -> Image2D {
        let rgb = GreyToRGB().apply(image)
        let plane = rgb.width * rgb.height
        var out = rgb.pixels
        let (means, deviations) = (statistics.mean, statistics.std)
        for c in 0..<3 {
            let mean = means[c], std = deviations[c]
            for i in c * plane ..< (c + 1) * plane { out[i] = (out[i] - mean) / std }
        }
        return rgb.replacingPixels(out, bitDepth: 32)
    }
}

/// A number as the pipeline record writes it: integers without a fraction (`600`, `-1024`), other values
/// in Swift's shortest round-trip form (`0.75`).
func recordNumber<Value: BinaryFloatingPoint & LosslessStringConvertible>(_ value: Value) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}
