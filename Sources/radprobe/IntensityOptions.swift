import ArgumentParser
import MedicalImaging

/// How raw intensities are clipped before min–max scaling: an explicit window or percentiles, else
/// the modality's default (CT: [−1024, 600] HU; MRI: 5th–95th percentiles; X-ray and others: none).
struct IntensityOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Clip to a window given as LEVEL,WIDTH (e.g. 40,400; the study's CT window [-1024, 600] HU is --window=-212,1624: use = when LEVEL is negative).",
                               valueName: "level,width"))
    var window: String?

    @Option(help: ArgumentHelp("Clip to percentiles LOW,HIGH of the whole image or volume, NaN ignored (the study's MRI default is 5,95).",
                               valueName: "low,high"))
    var percentile: String?

    @Option(help: "Modality deciding the default clipping: ct, mri, xray, other (default: the file's DICOM Modality, else other).")
    var modality: PreprocessingPipeline.Modality?

    func validate() throws {
        if window != nil && percentile != nil { throw ValidationError("Give at most one of --window and --percentile.") }
        _ = try explicitStep()
    }

    /// The step `--window` or `--percentile` asks for, if either is given.
    func explicitStep() throws -> PreprocessingStep? {
        if let window {
            guard let numbers = Self.pair(window), let step = IntensityWindow(center: Float(numbers.0), width: Float(numbers.1)) else {
                throw ValidationError("--window must be LEVEL,WIDTH with a positive width, e.g. 40,400 (got \(window)).")
            }
            return .window(step)
        }
        if let percentile {
            guard let numbers = Self.pair(percentile), numbers.0 >= 0, numbers.0 < numbers.1, numbers.1 <= 100 else {
                throw ValidationError("--percentile must be LOW,HIGH with 0 ≤ LOW < HIGH ≤ 100, e.g. 5,95 (got \(percentile)).")
            }
            return .percentileClip(PercentileClip(lower: numbers.0, upper: numbers.1))
        }
        return nil
    }

    /// The modality in force: `--modality`, else the file's DICOM Modality, else `.other`.
    func modality(of file: MedicalImageFile) -> PreprocessingPipeline.Modality {
        modality ?? file.modality.map(PreprocessingPipeline.Modality.init(dicomModality:)) ?? .other
    }

    static func pair(_ text: String) -> (Double, Double)? {
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let a = parts[0], let b = parts[1], a.isFinite, b.isFinite else { return nil }
        return (a, b)
    }
}

extension PreprocessingPipeline.Modality: ExpressibleByArgument {}
extension VolumeSlicer.Axis: ExpressibleByArgument {}
