import FileAccess
import Foundation
import MedicalImaging
import Metrics

/// The files a segmentation run writes, in one place: the per-case metrics table, the predicted label
/// maps (NIfTI with the source affine for volumes, tinted PNG overlays for 2D images) and the JSON summary.
public enum SegmentationReport {
    /// The per-case table: one row per case, `case,mean_dice,mean_jaccard,score,mean_hd95_mm`, then
    /// `dice_<class>,jaccard_<class>,hd95_mm_<class>` per foreground class; an undefined value (a class
    /// absent from both maps; HD95 when either map lacks the class) is an empty field. Six decimals.
    public static func caseTable(_ cases: [(id: String, scores: SegmentationScores)], classes: [String]) -> String {
        let foreground = classes.dropFirst()
        var header = ["case", "mean_dice", "mean_jaccard", "score", "mean_hd95_mm"]
        for name in foreground { header += ["dice_\(name)", "jaccard_\(name)", "hd95_mm_\(name)"] }
        var lines = [header.map(csvField).joined(separator: ",")]
        for (id, scores) in cases {
            var fields = [csvField(id)] + [scores.meanDice, scores.meanJaccard, scores.studyScore, scores.meanHausdorff].map(number)
            for label in foreground.indices {
                let classScores = scores[label: label]
                fields += [classScores.dice, classScores.jaccard, classScores.hausdorff].map(number)
            }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `prediction` of `item` into `folder`: `<id>.nii.gz` (uint8/int16 labels on the volume's
    /// affine) for a volume, `<id>.png` (the image with its predicted classes tinted) for a 2D image.
    /// Returns the file written. Ids with `/` are flattened to `_`.
    @discardableResult
    public static func writePrediction(_ prediction: LabelMap, of item: SegmentationCase, into folder: URL) throws -> URL {
        let name = item.id.replacingOccurrences(of: "/", with: "_")
        switch item.geometry {
        case .volume(let size, let spacing, let affine, _):
            let url = folder.appendingPathComponent("\(name).nii.gz")
            let volume = Volume(size: size, voxels: prediction.labels.map(Float.init), spacing: spacing, affine: affine, storedType: "uint8")
            try NIfTIWriter.writeLabelMap(volume, to: url)
            return url
        case .image(let source):
            guard case .image(let image) = try MedicalImageFile.read(contentsOf: source).content else {
                throw ImagingError(file: source.path, problem: "is no longer a 2D image")
            }
            let url = folder.appendingPathComponent("\(name).png")
            try PNGWriter.write(overlay(image, labels: prediction.labels), to: url)
            return url
        }
    }

    /// Class colours (RGB) of the overlays, class 1 first; repeated past the last.
    public static let palette: [[Float]] = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                                            [145, 30, 180], [70, 240, 240], [240, 50, 230]]
    /// The weight of a class colour in a tinted pixel.
    public static let tint: Float = 0.4

    /// `image` min–max scaled to 0…255 in RGB, each pixel of class `c > 0` blended as
    /// `(1 − tint) · pixel + tint · palette[c − 1]`.
    public static func overlay(_ image: Image2D, labels: [Int32]) -> Image2D {
        let finite = image.pixels.filter(\.isFinite)
        let low = finite.min() ?? 0, high = finite.max() ?? 1
        let scale: Float = high > low ? 255 / (high - low) : 0
        let plane = image.width * image.height
        var pixels = [Float](repeating: 0, count: 3 * plane)
        for channel in 0..<3 {
            let source = (image.channels == 3 ? channel : 0) * plane
            for pixel in 0..<plane {
                let value = image.pixels[source + pixel]
                var out = value.isFinite ? (value - low) * scale : 0
                let label = Int(labels[pixel])
                if label > 0 { out = (1 - tint) * out + tint * palette[(label - 1) % palette.count][channel] }
                pixels[channel * plane + pixel] = out.rounded()
            }
        }
        return Image2D(width: image.width, height: image.height, channels: 3, pixels: pixels, bitDepth: 8)
    }

    /// Per foreground class (label order): the mean over test cases of its Dice, Jaccard and HD95 (each
    /// over the cases where it is defined) and how many cases have a Dice.
    public static func classMeans(_ cohort: SegmentationCohortScores, classes: [String]) -> [[String: Any]] {
        classes.indices.dropFirst().map { label in
            ["label": label, "name": classes[label], "mean_dice": json(cohort.meanDice(label: label)),
             "mean_jaccard": json(cohort.meanJaccard(label: label)), "mean_hd95_mm": json(cohort.meanHausdorff(label: label)),
             "cases_with_dice": cohort.cases.filter { $0[label: label].dice != nil }.count]
        }
    }

    /// The test means of `cohort`: cases, mean Dice, mean Jaccard, the study's score and mean HD95 (the
    /// mean over cases of each case's class mean).
    public static func testMeans(_ cohort: SegmentationCohortScores) -> [String: Any] {
        ["cases": cohort.cases.count, "mean_dice": json(cohort.meanDice), "mean_jaccard": json(cohort.meanJaccard),
         "score": json(cohort.studyScore), "mean_hd95_mm": json(meanOfDefined(cohort.cases.map(\.meanHausdorff)))]
    }

    /// `value` for JSONSerialization: `NSNull` for nil.
    public static func json(_ value: Double?) -> Any { value.map { $0 as Any } ?? NSNull() }

    /// The trials as JSON objects.
    public static func trials(_ trials: [LearningRateTrial]) -> [[String: Any]] {
        trials.map { ["learning_rate": $0.learningRate, "validation_mean_dice": json($0.validationDice),
                      "epoch_losses": $0.epochLosses.map(Double.init), "seconds": $0.seconds] }
    }

    /// Pretty-printed JSON with sorted keys, ending in a newline.
    public static func encode(_ object: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
    }

    private static func meanOfDefined(_ values: [Double?]) -> Double? {
        let defined = values.compactMap { $0 }
        return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
    }

    private static func number(_ value: Double?) -> String { value.map { String(format: "%.6f", $0) } ?? "" }

    private static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
