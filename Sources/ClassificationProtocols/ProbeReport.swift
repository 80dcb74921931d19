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

/// What `radprobe probe` writes: the provenance and the protocol's result, as JSON with sorted keys
/// and snake_case names.
public struct ProbeReport<Result: Codable & Sendable>: Codable, Sendable {
    public let provenance: ProbeProvenance
    public let result: Result

    /// A report of `result` from the data described by `provenance`.
    public init(provenance: ProbeProvenance, result: Result) {
        self.provenance = provenance
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
