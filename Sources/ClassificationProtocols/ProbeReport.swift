import Datasets
import Evaluation
import FileAccess
import Foundation

/// Where a probe's numbers come from: the feature store (its key and what decided it), the split file
/// (its method and the SHA-256 of its bytes), and the split items that had no stored row.
public struct ProbeProvenance: Codable, Sendable, Equatable {
    public let radprobeVersion: String
    public let store: String
    public let storeKey: String
    public let dataset: String
    public let checkpointSHA256: String
    public let preprocessing: String
    public let inputSize: Int
    public let storedBlocks: Int
    public let patchTokens: String
    public let splitFile: String
    public let splitMethod: String
    public let splitSHA256: String
    /// Split items without a store row (skipped during extraction), counted per part.
    public let missingRows: [String: Int]

    /// The provenance of `data`, read from `store` with the split in `splitFile`.
    public init(store: FeatureStore, splitFile: URL, split: DatasetSplit, data: ProbeDataset, radprobeVersion: String) throws {
        let key = store.plan.key
        self.radprobeVersion = radprobeVersion
        self.store = store.url.path
        storeKey = key.key
        dataset = store.plan.dataset
        checkpointSHA256 = key.checkpointSHA256
        preprocessing = key.preprocessing
        inputSize = key.inputSize
        storedBlocks = key.lastBlocks
        patchTokens = key.patchTokens.rawValue
        self.splitFile = splitFile.path
        splitMethod = split.method.record
        splitSHA256 = try SHA256.hex(contentsOf: splitFile)
        missingRows = Dictionary(uniqueKeysWithValues: data.missingRows.map { ($0.key.rawValue, $0.value.count) })
    }
}

/// Where the numbers of a probe on plain `.npy` arrays come from: each file by its role
/// (`train_features`, `train_labels`, …) with the SHA-256 of its bytes.
public struct ArrayProvenance: Codable, Sendable, Equatable {
    public let radprobeVersion: String
    /// Role → file path.
    public let files: [String: String]
    /// Role → SHA-256 of the file.
    public let sha256: [String: String]

    /// The provenance of the files given by role.
    public init(files: [String: String], radprobeVersion: String) throws {
        self.radprobeVersion = radprobeVersion
        self.files = files
        sha256 = try files.mapValues { try SHA256.hex(contentsOf: URL(fileURLWithPath: $0)) }
    }
}

/// Where a probe's data came from: a feature store with its split (and the opened store and split, for
/// protocols that draw from them), or plain arrays.
public enum ProbeSource: Sendable {
    case store(ProbeProvenance, DatasetSplit, FeatureStore)
    case arrays(ArrayProvenance)
}

/// What the probe commands write: where the data came from (`store` or `arrays`) and the protocol's
/// result, as JSON with sorted keys and snake_case names.
public struct ProbeReport<Result: Codable & Sendable>: Codable, Sendable {
    public let store: ProbeProvenance?
    public let arrays: ArrayProvenance?
    public let result: Result

    /// A report of `result` from the data of `source`.
    public init(source: ProbeSource, result: Result) {
        switch source {
        case .store(let provenance, _, _): (store, arrays) = (provenance, nil)
        case .arrays(let provenance): (store, arrays) = (nil, provenance)
        }
        self.result = result
    }

    /// The report's JSON bytes (sorted keys, pretty-printed, ending in a line feed).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self) + Data("\n".utf8)
    }
}
