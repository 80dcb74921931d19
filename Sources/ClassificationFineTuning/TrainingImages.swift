import Datasets
import FineTuning
import Foundation
import MedicalImaging
import Randomness
import TensorCore

/// Turns dataset items into model inputs `[B, 3, S, S]`: each item's picture is decoded, augmented when asked
/// (before the preprocessing, so that the crop is resized to the model size by the pipeline), and preprocessed.
///
/// The augmentation of an item in an epoch draws from a generator seeded by `(seed, epoch, item id)`, so that it
/// depends neither on the batch the item lands in nor on whether the run was resumed.
public struct TrainingImages: Sendable {
    public let pipeline: PreprocessingPipeline
    /// The training augmentation; nil for none.
    public let augmentation: Augmentation?
    public let seed: UInt64

    public init(pipeline: PreprocessingPipeline, augmentation: Augmentation?, seed: UInt64) {
        self.pipeline = pipeline
        self.augmentation = augmentation
        self.seed = seed
    }

    /// The inputs of `items`, augmented with the draws of `epoch` when it is given (training), plain otherwise.
    public func batch(_ items: [DatasetItem], epoch: Int?) throws -> Tensor {
        Tensor.concatenate(try items.map { item in
            var image = try Self.picture(of: item)
            if let augmentation, let epoch {
                var generator = SeededGenerator(seed: SeedDerivation.derive(seed, .augmentation, UInt64(epoch), Self.idHash(item.id)))
                image = try augmentation(image, mask: nil, using: &generator).0
            }
            return pipeline.tensor(image)
        })
    }

    /// The decoded picture of a 2D item; a volume is an error naming the item.
    static func picture(of item: DatasetItem) throws -> Image2D {
        guard case let .image(image) = try MedicalImageFile.read(contentsOf: item.url).content else {
            throw FineTuningError("item \(item.id) is a volume; fine-tuning takes 2D datasets (one picture per item)")
        }
        return image
    }

    /// FNV-1a of the id's UTF-8 bytes: a stable number per item.
    static func idHash(_ id: String) -> UInt64 {
        id.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
