import Foundation
import MedicalImaging
import Models
import TensorCore
import TensorKernels

/// The patch features a backbone gives for image files, as `PatchFeatureMap`s for the PCA figure.
///
/// Each file is read with the medical-image readers (a volume gives its middle axial slice), preprocessed
/// with the study's pipeline (`PreprocessingPipeline.study(size:modality:)`, the modality taken from the file
/// when it names one) and run through the model; the features are the last block's patch tokens after the
/// final norm, `[(size / patch)², D]`.
public struct PatchFeatureReader: Sendable {
    public let model: VisionTransformer
    public let size: Int

    public init(model: VisionTransformer, size: Int) throws {
        guard size > 0, size % model.configuration.patchSize == 0 else {
            throw ReportError("the input size \(size) is not a positive multiple of the model's patch size \(model.configuration.patchSize)")
        }
        self.model = model
        self.size = size
    }

    /// The feature map of the image in `url`.
    public func featureMap(of url: URL, context: ComputeContext) throws -> PatchFeatureMap {
        let file = try MedicalImageFile.read(contentsOf: url)
        let pipeline = PreprocessingPipeline.study(size: size, modality: file.modality.map(PreprocessingPipeline.Modality.init(dicomModality:)) ?? .other)
        let input: Image2D
        switch file.content {
        case .image(let image): input = pipeline(image)
        case .volume(let volume): input = try pipeline.slice(try volume.sliceCount(axis: .axial) / 2, of: volume, axis: .axial)
        }
        let tensor = Tensor(shape: [1, input.channels, input.height, input.width], values: input.pixels)
        let patches = try model.features(tensor, context: context).patches // [1, N, D]
        let grid = size / model.configuration.patchSize
        return try PatchFeatureMap(features: patches.reshaped([patches.shape[1], patches.shape[2]]), gridHeight: grid, gridWidth: grid)
    }

    /// The PCA figure of `urls` as PNG bytes, each patch drawn as a `patchSize`² block.
    public func pcaPNG(of urls: [URL], threshold: Double = PCAFigure.defaultThreshold, context: ComputeContext) throws -> Data {
        let figure = try PCAFigure(maps: urls.map { try featureMap(of: $0, context: context) }, threshold: threshold)
        return try PNGWriter.encode(figure.image(pixelsPerPatch: model.configuration.patchSize))
    }
}
