import TensorCore

/// Moves the tensors of a state dict into a model's declared parameters.
///
/// The model's `visitParameters` declares every key and shape; binding first checks the whole
/// checkpoint and reports *all* missing keys, unused keys and shape mismatches in one error, then
/// assigns. Nothing is assigned when anything is wrong.
public enum Binder {
    /// Everything that keeps a checkpoint from binding to a model.
    public struct Mismatch: Error, CustomStringConvertible, Equatable {
        public var source: String
        public var missing: [String] = []
        public var unused: [String] = []
        public var wrongShape: [(key: String, model: [Int], checkpoint: [Int])] = []

        public var isEmpty: Bool { missing.isEmpty && unused.isEmpty && wrongShape.isEmpty }

        public var description: String {
            var lines = ["\(source): the checkpoint does not fit the model"]
            if !missing.isEmpty { lines.append("  missing keys (\(missing.count)): " + missing.joined(separator: ", ")) }
            if !unused.isEmpty { lines.append("  unused keys (\(unused.count)): " + unused.joined(separator: ", ")) }
            for entry in wrongShape {
                lines.append("  shape mismatch for \(entry.key): model expects \(describeShape(entry.model)), checkpoint has \(describeShape(entry.checkpoint))")
            }
            return lines.joined(separator: "\n")
        }

        public static func == (a: Mismatch, b: Mismatch) -> Bool { a.description == b.description }
    }

    /// Binds `stateDict` into `model`, or throws a `Mismatch` listing every problem.
    public static func bind<Model: ParameterContainer>(_ stateDict: StateDict, into model: inout Model) throws {
        var checker = Checker(tensors: stateDict.tensors)
        var probe = model
        probe.visitParameters(&checker, scope: ParameterScope())
        var mismatch = Mismatch(source: stateDict.source)
        mismatch.missing = checker.missing
        mismatch.wrongShape = checker.wrongShape
        mismatch.unused = stateDict.tensors.keys.filter { !checker.seen.contains($0) }.sorted()
        guard mismatch.isEmpty else { throw mismatch }
        var assigner = Assigner(tensors: stateDict.tensors)
        model.visitParameters(&assigner, scope: ParameterScope())
    }

    /// The model's parameters as a state dict (shared storage, no copies).
    public static func stateDict<Model: ParameterContainer>(of model: Model, source: String) -> StateDict {
        var collector = Collector()
        var copy = model
        copy.visitParameters(&collector, scope: ParameterScope())
        return StateDict(collector.tensors, source: source)
    }

    struct Checker: ParameterVisitor {
        let tensors: [String: Tensor]
        var seen: Set<String> = []
        var missing: [String] = []
        var wrongShape: [(key: String, model: [Int], checkpoint: [Int])] = []

        mutating func visit(_ key: String, _ parameter: inout Tensor) {
            guard let tensor = tensors[key] else { missing.append(key); return }
            seen.insert(key)
            if tensor.shape != parameter.shape { wrongShape.append((key, parameter.shape, tensor.shape)) }
        }
    }

    struct Assigner: ParameterVisitor {
        let tensors: [String: Tensor]
        mutating func visit(_ key: String, _ parameter: inout Tensor) { parameter = tensors[key]! }
    }

    struct Collector: ParameterVisitor {
        var tensors: [String: Tensor] = [:]
        mutating func visit(_ key: String, _ parameter: inout Tensor) { tensors[key] = parameter }
    }
}
