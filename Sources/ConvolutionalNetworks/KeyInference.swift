/// Which torchvision layout a state dict's keys (normalised as `CheckpointTensors` does) describe:
///
/// - ResNet: `conv1.weight` and `layer1.0.conv1.weight`; Bottleneck blocks when `layer1.0.conv3.weight`
///   exists; the blocks of stage `s` are the indices `i` with `layer<s>.<i>.conv1.weight` (e.g.
///   `layer3.35.conv1.weight` → 36 blocks, ResNet-152).
/// - DenseNet: `features.conv0.weight` and `features.denseblock<b>.denselayer<l>.conv1.weight`
///   (`denseblock4.denselayer32` → DenseNet-201).
/// - VGG: `features.0.weight` and `classifier.0.weight`; the convolutions are the `features.<n>.weight`
///   of rank-4 tensors, batch norm when `features.<n+1>.running_mean` exists; a gap of one module index
///   more than a convolution takes (its ReLU, and batch norm) is a max pool, which closes a stage.
extension ConvolutionalArchitecture {
    /// The layout of a checkpoint whose tensors have `shapes` (by key, as stored), or `preset` when given
    /// and the keys fit it; throws when they fit no family, or naming the preset, what the keys look like
    /// and a key that differs. `source` names the checkpoint in messages.
    public init(inferringFrom shapes: [String: [Int]], preset: ConvolutionalArchitecture? = nil, source: String) throws {
        let normalised = Dictionary(shapes.map { (CheckpointTensors.normalisedKey($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        self = try Self.resolve(preset: preset, keys: Set(normalised.keys), rank: { normalised[$0]?.count }, source: source)
    }

    /// The layout of a checkpoint with `keys` (and, for VGG, the ranks of `features.<n>.weight`), or nil.
    static func infer(keys: Set<String>, rank: (String) -> Int?) -> ConvolutionalArchitecture? {
        if keys.contains("conv1.weight"), keys.contains("layer1.0.conv1.weight") {
            let block: ResidualBlock = keys.contains("layer1.0.conv3.weight") ? .bottleneck : .basic
            let blocks = counts(from: 1) { stage in runLength(from: 0) { keys.contains("layer\(stage).\($0).conv1.weight") } }
            return .resnet(block: block, blocks: blocks)
        }
        if keys.contains("features.conv0.weight") {
            let layers = counts(from: 1) { block in runLength(from: 1) { keys.contains("features.denseblock\(block).denselayer\($0).conv1.weight") } }
            return layers.isEmpty ? nil : .densenet(layers: layers)
        }
        if keys.contains("features.0.weight"), keys.contains("classifier.0.weight") {
            return inferVGG(keys: keys, rank: rank)
        }
        return nil
    }

    private static func inferVGG(keys: Set<String>, rank: (String) -> Int?) -> ConvolutionalArchitecture? {
        let convolutionIndices = keys.compactMap { key -> Int? in
            guard let match = key.wholeMatch(of: /features\.(\d+)\.weight/), rank(key) == 4 else { return nil }
            return Int(match.output.1)
        }.sorted()
        let batchNorm = keys.contains("features.1.running_mean")
        let step = batchNorm ? 3 : 2
        var stages: [Int] = [], current = 0, next = 0
        for index in convolutionIndices {
            if index == next + 1, current > 0 {
                stages.append(current)
                current = 0
                next += 1
            }
            guard index == next else { return nil }
            current += 1
            next += step
        }
        stages.append(current)
        return .vgg(convolutions: stages, batchNorm: batchNorm)
    }

    /// `count(start), count(start + 1), …` up to the first that is zero.
    private static func counts(from start: Int, _ count: (Int) -> Int) -> [Int] {
        var result: [Int] = [], index = start
        while case let value = count(index), value > 0 {
            result.append(value)
            index += 1
        }
        return result
    }

    /// How many of `start, start + 1, …` satisfy `holds` before the first that does not.
    private static func runLength(from start: Int, _ holds: (Int) -> Bool) -> Int {
        var index = start
        while holds(index) { index += 1 }
        return index - start
    }

    /// The architecture to build for a checkpoint with `keys`: the inferred one, or `preset` when given
    /// and the keys fit it. Throws when the keys fit no family, or naming the preset, what the keys look
    /// like, and a key the preset needs that is missing and one the checkpoint has that it does not use.
    static func resolve(preset: ConvolutionalArchitecture?, keys: Set<String>, rank: (String) -> Int?,
                        source: String) throws -> ConvolutionalArchitecture {
        let inferred = infer(keys: keys, rank: rank)
        guard let preset else {
            guard let inferred else {
                let sample = keys.sorted().prefix(3).joined(separator: ", ")
                throw ConvolutionalNetworkError("\(source): the keys fit no torchvision ResNet, DenseNet or VGG (expected conv1.weight and layer1.0.conv1.weight, features.conv0.weight and features.denseblock1.…, or features.0.weight and classifier.0.weight; found \(sample)\(keys.count > 3 ? ", …" : ""))")
            }
            return inferred
        }
        guard inferred != preset else { return preset }
        let required = preset.requiredKeys, requiredSet = Set(required)
        var differences: [String] = []
        if let missing = required.first(where: { !keys.contains($0) }) { differences.append("missing key \(missing)") }
        if let unexpected = keys.sorted().first(where: { key in
            !requiredSet.contains(key) && !key.hasSuffix(".num_batches_tracked") && !preset.headPrefixes.contains { key.hasPrefix($0) }
        }) {
            differences.append("unexpected key \(unexpected)")
        }
        let looksLike = inferred.map { "its keys look like \($0)" } ?? "its keys fit no torchvision ResNet, DenseNet or VGG"
        throw ConvolutionalNetworkError("\(source) does not fit preset \(preset): \(looksLike) (\(differences.joined(separator: "; ")))")
    }
}
