import FileAccess
import Foundation
import Yams

extension Experiment {
    /// Reads and checks the experiment file at `url` (see docs/experiments.md). Every problem is an
    /// `ExperimentFileError` naming the file, and the line and column where there is one.
    public static func read(contentsOf url: URL, vocabulary: ExperimentVocabulary) throws -> Experiment {
        let data: Data
        do { data = try FileBytes.read(contentsOf: url) } catch {
            throw ExperimentFileError(file: url.path, problem: "cannot be read (\(error))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ExperimentFileError(file: url.path, problem: "is not UTF-8 text, so not a YAML experiment file")
        }
        return try parse(text, file: url, vocabulary: vocabulary)
    }

    /// The experiment in YAML `text`, read from `file` (relative paths are resolved against its folder).
    public static func parse(_ text: String, file: URL, vocabulary: ExperimentVocabulary) throws -> Experiment {
        let reader = YAMLNodeReader(file: file.path)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw reader.failure(at: nil, "is empty; an experiment file is a YAML mapping") }
            root = node
        } catch let error as ExperimentFileError {
            throw error
        } catch let error as YamlError {
            throw reader.yamlFailure(error)
        }
        let folder = file.deletingLastPathComponent()
        func path(_ node: Node, _ key: String) throws -> URL {
            let text = try reader.string(node, key)
            guard !text.isEmpty else { throw reader.failure(at: node, "'\(key)' must not be empty") }
            return URL(fileURLWithPath: text, relativeTo: folder).standardizedFileURL
        }
        let top = try reader.mapping(root, what: "the experiment", allowed: ["output", "models", "datasets", "sizes", "protocols", "seeds", "bootstrap"],
                                     required: ["output", "models", "datasets", "sizes", "protocols"])
        func sizeList(_ node: Node) throws -> [Int] {
            try reader.list(node, "sizes").map { node in
                let size = try reader.int(node, "sizes")
                guard size > 0 else { throw reader.failure(at: node, "an input size must be positive (got \(size))") }
                return size
            }
        }
        func protocolList(_ node: Node) throws -> [ExperimentProtocol] {
            try reader.list(node, "protocols").map {
                ExperimentProtocol(rawValue: try reader.choice($0, "protocols", among: ExperimentProtocol.allCases.map(\.rawValue)))!
            }
        }
        let models = try reader.list(top["models"]!, "models").map { node -> Model in
            let entry = try reader.mapping(node, what: "a model", allowed: ["name", "checkpoint", "preset", "protocols", "sizes"], required: ["name"])
            guard entry["checkpoint"] != nil || entry["preset"] != nil else {
                throw reader.failure(at: node, "a model needs a 'checkpoint', a 'preset' (its file in the download cache), or both")
            }
            return Model(name: try reader.name(entry["name"]!), checkpoint: try entry["checkpoint"].map { try path($0, "checkpoint") },
                         preset: try entry["preset"].map { try reader.choice($0, "preset", among: vocabulary.presets) },
                         protocols: try entry["protocols"].map(protocolList), sizes: try entry["sizes"].map(sizeList))
        }
        try reader.refuseDuplicates(models.map(\.name), in: top["models"]!, what: "model")
        let datasets = try reader.list(top["datasets"]!, "datasets").map { node -> Dataset in
            let entry = try reader.mapping(node, what: "a dataset", allowed: ["name", "label", "root", "split", "protocols", "uncertain", "modality"],
                                           required: ["name", "root", "split"])
            return Dataset(name: try reader.choice(entry["name"]!, "name", among: vocabulary.datasets), label: try entry["label"].map(reader.name),
                           root: try path(entry["root"]!, "root"),
                           split: try reader.split(entry["split"]!, methods: vocabulary.splitMethods, path: path),
                           protocols: try entry["protocols"].map(protocolList),
                           uncertain: try entry["uncertain"].map { try reader.choice($0, "uncertain", among: vocabulary.uncertainPolicies) },
                           modality: try entry["modality"].map { try reader.choice($0, "modality", among: vocabulary.modalities) })
        }
        try reader.refuseDuplicates(datasets.map(\.key), in: top["datasets"]!, what: "dataset (give each a distinct label)")
        let sizes = try sizeList(top["sizes"]!)
        let seeds = try top["seeds"].map { try reader.list($0, "seeds").map { try reader.int($0, "seeds") } } ?? [0]
        let bootstrap = try top["bootstrap"].map { node in
            let value = try reader.int(node, "bootstrap")
            guard value >= 1 else { throw reader.failure(at: node, "'bootstrap' must be at least 1 (got \(value))") }
            return value
        } ?? 1000
        let names = ExperimentProtocol.allCases.map(\.rawValue)
        let protocolEntries = try reader.mapping(top["protocols"]!, what: "protocols", allowed: names)
        guard !protocolEntries.isEmpty else { throw reader.failure(at: top["protocols"], "protocols names none of \(names.joined(separator: ", "))") }
        let protocols = try ExperimentProtocol.allCases.compactMap { kind in
            try protocolEntries[kind.rawValue].map { ProtocolGrid(kind: kind, settings: try reader.settings($0, of: kind)) }
        }
        return Experiment(file: file, output: try path(top["output"]!, "output"), models: models, datasets: datasets, sizes: sizes,
                          protocols: protocols, seeds: seeds, bootstrap: bootstrap)
    }
}

extension YAMLNodeReader {
    /// A name usable in results and paths: letters, digits, `.`, `_` and `-`.
    func name(_ node: Node) throws -> String {
        let text = try string(node, "name")
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !text.isEmpty, text.allSatisfy(allowed.contains), !text.hasPrefix(".") else {
            throw failure(at: node, "a name holds letters, digits, '.', '_' and '-' only (got '\(text)')")
        }
        return text
    }

    func refuseDuplicates(_ names: [String], in node: Node, what: String) throws {
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted { throw failure(at: node, "\(what) '\(name)' is listed twice") }
    }

    /// `{file: PATH}` or `{method: NAME, seed: S, validation: F, test: F}`.
    func split(_ node: Node, methods: [String], path: (Node, String) throws -> URL) throws -> Experiment.Split {
        let entry = try mapping(node, what: "a split", allowed: ["file", "method", "seed", "validation", "test"])
        switch (entry["file"], entry["method"]) {
        case (.some(let file), nil):
            if let extra = ["seed", "validation", "test"].first(where: { entry[$0] != nil }) {
                throw failure(at: entry[extra], "'\(extra)' applies to a split method, not to a split file")
            }
            return .file(try path(file, "file"))
        case (nil, .some(let method)):
            let validation = try entry["validation"].map { try fraction($0, "validation") } ?? 0.1
            let test = try entry["test"].map { try fraction($0, "test") } ?? 0.2
            let seed = try entry["seed"].map { node -> UInt64 in
                guard let value = UInt64(try string(node, "seed")) else { throw failure(at: node, "'seed' must be a non-negative integer") }
                return value
            } ?? 0
            return .method(name: try choice(method, "method", among: methods), seed: seed, validation: validation, test: test)
        default:
            throw failure(at: node, "a split names either a 'file' or a 'method' (\(methods.joined(separator: ", ")))")
        }
    }

    func fraction(_ node: Node, _ key: String) throws -> Double {
        let value = try double(node, key)
        guard (0..<1).contains(value) else { throw failure(at: node, "'\(key)' must be a fraction in [0, 1) (got \(value))") }
        return value
    }

    /// A protocol's settings: every key of its schema, given or defaulted, typed.
    func settings(_ node: Node, of kind: ExperimentProtocol) throws -> [String: ConfigurationValue] {
        let schema = kind.settings
        let what = "protocol \(kind.rawValue)"
        let entries = try mapping(node, what: what, allowed: schema.map(\.key), required: schema.filter { $0.defaultValue == nil }.map(\.key))
        var settings: [String: ConfigurationValue] = [:]
        for setting in schema {
            guard let value = entries[setting.key] else { settings[setting.key] = setting.defaultValue; continue }
            settings[setting.key] = try self.value(value, setting)
        }
        return settings
    }

    func value(_ node: Node, _ setting: SettingSchema) throws -> ConfigurationValue {
        let key = setting.key
        func positive(_ value: Int, _ at: Node) throws -> Int {
            guard value >= 1 else { throw failure(at: at, "'\(key)' must be at least 1 (got \(value))") }
            return value
        }
        switch setting.kind {
        case .int: return .int(try positive(try int(node, key), node))
        case .count:
            let value = try int(node, key)
            guard value >= 0 else { throw failure(at: node, "'\(key)' must not be negative (got \(value))") }
            return .int(value)
        case .double:
            let value = try double(node, key)
            guard value >= 0 else { throw failure(at: node, "'\(key)' must not be negative (got \(value))") }
            return .double(value)
        case .bool: return .bool(try bool(node, key))
        case .choice(let choices): return .string(try choice(node, key, among: choices))
        case .intList: return .list(try list(node, key).map { .int(try positive(try int($0, key), $0)) })
        case .doubleList:
            return .list(try list(node, key).map { item in
                let value = try double(item, key)
                guard value > 0 else { throw failure(at: item, "'\(key)' holds positive numbers (got \(value))") }
                return .double(value)
            })
        case .choiceList(let choices): return .list(try list(node, key).map { .string(try choice($0, key, among: choices)) })
        }
    }

    /// A Yams error as a problem at its position.
    func yamlFailure(_ error: YamlError) -> ExperimentFileError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ExperimentFileError(file: file, line: mark.line, column: mark.column, problem: "is not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ExperimentFileError(file: file, line: context.mark.line, column: context.mark.column,
                                       problem: "key '\(duplicates.joined(separator: ", "))' is given twice")
        default:
            return ExperimentFileError(file: file, problem: "is not valid YAML: \(error)")
        }
    }
}
