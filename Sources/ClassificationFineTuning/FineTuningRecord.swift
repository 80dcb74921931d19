import Foundation

/// What a fine-tuning run's results depend on besides its configuration, compared before a run resumes.
public struct FineTuningIdentity: Codable, Equatable, Sendable {
    /// The dataset adapter's name.
    public let dataset: String
    /// The class or finding names, in label order.
    public let classNames: [String]
    /// SHA-256 of the split file's bytes.
    public let splitSha256: String
    /// SHA-256 of the starting checkpoint's bytes.
    public let checkpointSha256: String
    /// The square input size.
    public let inputSize: Int
    /// The preprocessing's record (`minmax > grey3 > resize[…] > imagenet`).
    public let preprocessing: String

    public init(dataset: String, classNames: [String], splitSha256: String, checkpointSha256: String, inputSize: Int, preprocessing: String) {
        self.dataset = dataset
        self.classNames = classNames
        self.splitSha256 = splitSha256
        self.checkpointSha256 = checkpointSha256
        self.inputSize = inputSize
        self.preprocessing = preprocessing
    }

    /// The fields that differ from `earlier` (a saved run), as `name: earlier before, this now`.
    func differences(from earlier: FineTuningIdentity) -> [String] {
        let fields: [(String, String, String)] = [
            ("dataset", dataset, earlier.dataset), ("class names", classNames.joined(separator: ","), earlier.classNames.joined(separator: ",")),
            ("split file (sha256)", splitSha256, earlier.splitSha256), ("checkpoint (sha256)", checkpointSha256, earlier.checkpointSha256),
            ("input size", "\(inputSize)", "\(earlier.inputSize)"), ("preprocessing", preprocessing, earlier.preprocessing),
        ]
        return fields.filter { $0.1 != $0.2 }.map { "\($0.0): \($0.2) before, \($0.1) now" }
    }
}

/// One epoch's entry of the training curves.
public struct EpochRecord: Codable, Equatable, Sendable {
    /// 1-based.
    public let epoch: Int
    /// The mean of the epoch's step losses.
    public let trainLoss: Double
    /// The loss over the whole validation part (as in training, without augmentation or dropout).
    public let validationLoss: Double
    /// The validation macro AUROC over the classes it is defined for; nil when it is defined for none.
    public let validationAurocMacro: Double?
    /// Each class's validation AUROC (one-vs-rest for multi-class data); nil where a class has one label value.
    public let validationAurocPerClass: [Double?]
    /// The learning rates (head, backbone) of the epoch's last update.
    public let headLearningRate: Double
    public let backboneLearningRate: Double
}

/// The progress of a run, saved with its state after every epoch: what it is, how far it got, the curves and the
/// best epoch so far (by validation macro AUROC, an undefined one below any; on equal AUROC the lower validation
/// loss, then the earlier epoch).
public struct FineTuningRecord: Codable, Equatable, Sendable {
    public let identity: FineTuningIdentity
    public let configuration: FineTuningConfiguration
    public internal(set) var curves: [EpochRecord] = []
    /// The epoch whose weights are in `best.safetensors`; nil before the first epoch ends.
    public internal(set) var bestEpoch: Int?
    /// Optimiser updates taken.
    public internal(set) var steps = 0

    public var epochsCompleted: Int { curves.count }

    /// Whether `record` beats the best epoch so far.
    func improves(on record: EpochRecord) -> Bool {
        guard let bestEpoch else { return true }
        let best = curves[bestEpoch - 1]
        let (auroc, bestAUROC) = (record.validationAurocMacro ?? -.infinity, best.validationAurocMacro ?? -.infinity)
        return auroc > bestAUROC || (auroc == bestAUROC && record.validationLoss < best.validationLoss)
    }

    func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    static func decode(jsonText: String) throws -> FineTuningRecord {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(FineTuningRecord.self, from: Data(jsonText.utf8))
    }
}
