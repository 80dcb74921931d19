import FileAccess
import Foundation
import MedicalImaging

/// Everything that decides a backbone's features, and its digest `key`: two feature stores with
/// different keys hold features that must never be mixed.
///
/// `canonicalText` is one `name=value` line per field, each ending in `\n`, in this order:
/// ```
/// radprobe-feature-store
/// format_version=1
/// checkpoint_sha256=<64 hex digits of the checkpoint file's bytes>
/// preprocessing=<PreprocessingPipeline record, e.g. minmax > grey3 > resize[224,square,bilinear-aa] > imagenet>
/// input_size=224
/// blocks=last4
/// blocks_normed=true
/// patch_tokens=mean
/// ```
/// and `key` is the SHA-256 of its UTF-8 bytes, as 64 lowercase hex digits.
public struct FeatureStoreKey: Equatable, Hashable, Sendable {
    /// The store layout version this code writes; a change of layout changes every key.
    public static let currentFormatVersion = 1

    /// What a store keeps of the patch tokens, besides the class token of each block.
    public enum PatchTokens: String, CaseIterable, Sendable, Codable {
        /// Nothing: only `cls`.
        case none
        /// Their mean per block: `patch_mean`.
        case mean
        /// All of them, of the last block, in raster order: `patch_grid`.
        case grid
    }

    /// SHA-256 of the checkpoint file's bytes (64 lowercase hex digits).
    public let checkpointSHA256: String
    /// The preprocessing record (`PreprocessingPipeline.description`).
    public let preprocessing: String
    /// The side of the square model input, in pixels.
    public let inputSize: Int
    /// How many of the last transformer blocks are kept (`L` in the feature shapes).
    public let lastBlocks: Int
    /// Whether block outputs go through the backbone's final norm.
    public let normed: Bool
    /// What is kept of the patch tokens.
    public let patchTokens: PatchTokens
    /// The store layout version.
    public let formatVersion: Int

    /// A key from its fields; a checksum that is not 64 hex digits, a record holding a line break, or
    /// a size or block count below 1 is a `FileError` naming `checkpointLabel`.
    public init(checkpointSHA256: String, preprocessing: String, inputSize: Int, lastBlocks: Int, normed: Bool,
                patchTokens: PatchTokens, formatVersion: Int = FeatureStoreKey.currentFormatVersion,
                checkpointLabel: String = "feature store key") throws {
        let hexDigits = Set("0123456789abcdef")
        guard checkpointSHA256.count == 64, checkpointSHA256.allSatisfy(hexDigits.contains) else {
            throw FileError(file: checkpointLabel, problem: "checkpoint checksum '\(checkpointSHA256)' is not 64 lowercase hex digits")
        }
        guard !preprocessing.contains(where: \.isNewline) else {
            throw FileError(file: checkpointLabel, problem: "preprocessing record holds a line break: \(preprocessing.debugDescription)")
        }
        guard inputSize >= 1, lastBlocks >= 1, formatVersion >= 1 else {
            throw FileError(file: checkpointLabel, problem: "input size (\(inputSize)), block count (\(lastBlocks)) and format version (\(formatVersion)) must be at least 1")
        }
        self.checkpointSHA256 = checkpointSHA256
        self.preprocessing = preprocessing
        self.inputSize = inputSize
        self.lastBlocks = lastBlocks
        self.normed = normed
        self.patchTokens = patchTokens
        self.formatVersion = formatVersion
    }

    /// The key of the checkpoint at `checkpoint` (hashed in blocks, so any size works) with `preprocessing`.
    public init(checkpoint: URL, preprocessing: PreprocessingPipeline, inputSize: Int, lastBlocks: Int, normed: Bool,
                patchTokens: PatchTokens) throws {
        try self.init(checkpointSHA256: SHA256.hex(contentsOf: checkpoint), preprocessing: preprocessing.description,
                      inputSize: inputSize, lastBlocks: lastBlocks, normed: normed, patchTokens: patchTokens,
                      checkpointLabel: checkpoint.path)
    }

    /// The fields as text, one `name=value` line each (see the type's documentation).
    public var canonicalText: String {
        """
        radprobe-feature-store
        format_version=\(formatVersion)
        checkpoint_sha256=\(checkpointSHA256)
        preprocessing=\(preprocessing)
        input_size=\(inputSize)
        blocks=last\(lastBlocks)
        blocks_normed=\(normed)
        patch_tokens=\(patchTokens.rawValue)

        """
    }

    /// SHA-256 of `canonicalText`, 64 lowercase hex digits.
    public var key: String { SHA256.hex(Array(canonicalText.utf8)) }
}
