import Layers
import Models
import TensorCore
import TensorKernels

extension VisionTransformer {
    /// The final-norm outputs of a training forward pass.
    public struct TrainingOutput: Sendable {
        public var cls: Tensor // [B, D]
        public var registers: Tensor? // [B, R, D]
        public var patches: Tensor // [B, N, D]
    }

    /// What a block keeps for the backward pass: its whole cache, or only its input when activations are
    /// recomputed (activation checkpointing: the block's forward runs again during the backward pass).
    public enum BlockCache: Sendable {
        case stored(TransformerBlock.TrainingCache)
        case recompute(input: Tensor) // [B, T, D]
    }

    /// What `backward` needs from `trainingForward`.
    public struct TrainingCache: Sendable {
        public let patchEmbedding: PatchEmbedding.TrainingCache
        public let positionMap: PositionEmbeddingMap
        public let blocks: [BlockCache]
        public let norm: LayerNorm.TrainingCache
        /// The adapters of the forward pass (used again when blocks are recomputed).
        public let adapters: (any LinearAdapters)?
    }

    /// The gradients of a backward pass.
    public struct Gradients: Sendable {
        /// Every parameter's gradient, in a model of the same shape (read them by key with `namedParameters()`).
        public let parameters: VisionTransformer
        /// The gradient of the images `[B, C, H, W]`, when asked for.
        public let input: Tensor?
        /// The gradients of the adapters' parameters by key (`blocks.3.attn.qkv.lora_A.weight`); empty without adapters.
        public let adapters: [String: Tensor]
    }

    /// Throws unless backpropagation supports this model: not yet a LayerNorm before the blocks (`norm_pre`, CLIP)
    /// nor a quick-GELU MLP (OpenAI CLIP). Patch embeddings without a bias are supported.
    public func requireTrainable() throws {
        var unsupported: [String] = []
        if configuration.preNorm { unsupported.append("a LayerNorm before the blocks (norm_pre)") }
        if case .mlp(_, .quickGELU) = configuration.feedForward { unsupported.append("a quick-GELU MLP") }
        guard unsupported.isEmpty else {
            throw BackpropagationError("training does not support this \(configuration.sizeName) model: it has \(unsupported.joined(separator: " and "))")
        }
    }

    /// The key scope of block `index`: `blocks.<index>`.
    func blockScope(_ index: Int, adapters: (any LinearAdapters)?) -> LinearScope {
        LinearScope(key: "blocks.\(index)", adapters: adapters)
    }

    /// The training forward pass over images `[B, C, H, W]`: patch embedding, `[CLS + P₀, registers, patches + P₁…]`
    /// with `P` the (resized) position embedding, the blocks, the final norm. Equals `forward` (same kernels).
    /// With `recomputeBlocks`, each block keeps only its input and `backward` recomputes it (identical gradients,
    /// one block's activations in memory instead of all of them). `adapters` add to the blocks' Linears, each
    /// called with its checkpoint key (`blocks.3.attn.qkv`); their caches are kept with the Linears' caches.
    public func trainingForward(_ images: Tensor, recomputeBlocks: Bool = false, adapters: (any LinearAdapters)? = nil,
                                context: ComputeContext) throws -> (output: TrainingOutput, cache: TrainingCache) {
        try requireTrainable()
        let c = configuration
        let embedded = try patchEmbedding.forward(images, context: context) // validates the shape
        let (height, width) = (images.shape[2], images.shape[3])
        let position = try positionEmbedding(gridHeight: height / c.patchSize, gridWidth: width / c.patchSize, square: height == width)
        let positionMap = try PositionEmbeddingMap(model: self, gridHeight: height / c.patchSize, gridWidth: width / c.patchSize,
                                                   square: height == width)
        var x = assembleTokens(embedded.output, position: position)
        var blockCaches: [BlockCache] = []
        for (index, block) in blocks.enumerated() {
            let result = try block.forward(x, scope: blockScope(index, adapters: adapters), context: context)
            blockCaches.append(recomputeBlocks ? .recompute(input: x) : .stored(result.cache))
            x = result.output
        }
        let normed = try norm.forward(x, context: context)
        let output = TrainingOutput(cls: tokenRange(normed.output, 0..<1).reshaped([x.shape[0], c.width]),
                                    registers: c.registers > 0 ? tokenRange(normed.output, 1..<1 + c.registers) : nil,
                                    patches: tokenRange(normed.output, 1 + c.registers..<x.shape[1]))
        return (output, TrainingCache(patchEmbedding: embedded.cache, positionMap: positionMap, blocks: blockCaches, norm: normed.cache,
                                           adapters: adapters))
    }

    /// The backward pass from the gradients of the outputs (`cls` `[B, D]`, `patches` `[B, N, D]`, `registers`
    /// `[B, R, D]`; nil ones are zero). Returns a `VisionTransformer` whose every parameter holds its gradient
    /// (read them by key with `namedParameters()`; `mask_token`, unused in this pass, gets zeros), and the
    /// gradient of the images `[B, C, H, W]` when `inputGradient`.
    ///
    /// Token assembly backward: `dcls = Σ_b dx[b, 0]`, `dregisters = Σ_b dx[b, 1…R]`, position rows
    /// `dP₀ = Σ_b dx[b, 0]`, `dP₁… = Σ_b dx[b, patches]`, then `dE = Aᵀ·dP` (`PositionEmbeddingMap`).
    public func backward(cls: Tensor?, patches: Tensor?, registers: Tensor? = nil, cache: TrainingCache, inputGradient: Bool = false,
                         context: ComputeContext) throws -> (parameters: VisionTransformer, input: Tensor?) {
        let result = try backpropagate(cls: cls, patches: patches, registers: registers, cache: cache, inputGradient: inputGradient,
                                       context: context)
        return (result.parameters, result.input)
    }

    /// As `backward`, with the gradients of the adapters' parameters (those of `trainingForward`) as well. `gradients`
    /// chooses the parameter gradients computed (see `GradientSelection`; the others are zeros): `.none` for LoRA, the
    /// bias keys for BitFit. Blocks below the lowest wanted gradient are skipped when no adapters acted and no
    /// `inputGradient` is asked for.
    public func backpropagate(cls: Tensor?, patches: Tensor?, registers: Tensor? = nil, cache: TrainingCache, inputGradient: Bool = false,
                              gradients selection: GradientSelection = .all, context: ComputeContext) throws -> Gradients {
        let c = configuration
        let tokensShape = cache.norm.input.shape
        let (batch, tokens, d) = (tokensShape[0], tokensShape[1], tokensShape[2])
        let r = c.registers, patchCount = tokens - 1 - r
        var normedGradient = Tensor(shape: tokensShape)
        let parts: [(Tensor?, Range<Int>, [Int], String)] = [
            (cls, 0..<1, [batch, d], "CLS gradient"), (registers, 1..<1 + r, [batch, r, d], "register gradient"),
            (patches, 1 + r..<tokens, [batch, patchCount, d], "patch gradient"),
        ]
        for (gradient, range, shape, name) in parts {
            guard let gradient else { continue }
            try BackpropagationError.require(gradient, shape: shape, name)
            normedGradient.withUnsafeMutableBufferPointer { out in
                for b in 0..<batch {
                    (out.baseAddress! + (b * tokens + range.lowerBound) * d).update(from: gradient.storage.pointer + b * range.count * d,
                                                                                     count: range.count * d)
                }
            }
        }
        let root = GradientScope(selection: selection)
        var gradients = self
        var zeroFiller = ZeroFiller(zeros: root.zeros) // what is not computed below stays zero
        gradients.visitParameters(&zeroFiller, scope: ParameterScope())
        let normed = try norm.backward(normedGradient, cache: cache.norm, gradients: root.child("norm"), adding: nil, context: context)
        gradients.norm = normed.parameters
        var x = normed.input
        var adapterGradients: [String: Tensor] = [:]
        let embeddingKeys = ["cls_token", "register_tokens", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias"]
        let embeddingsWanted = embeddingKeys.contains(where: selection.contains)
        for index in blocks.indices.reversed() {
            let below = inputGradient || embeddingsWanted || cache.adapters != nil
                || (0...index).contains { selection.containsAny(under: "blocks.\($0)") }
            guard below else { return Gradients(parameters: gradients, input: nil, adapters: adapterGradients) }
            let blockCache: TransformerBlock.TrainingCache
            switch cache.blocks[index] {
            case let .stored(stored): blockCache = stored
            case let .recompute(input):
                blockCache = try blocks[index].forward(input, scope: blockScope(index, adapters: cache.adapters), context: context).cache
            }
            let result = try blocks[index].backward(x, cache: blockCache, adapterGradients: &adapterGradients,
                                                    gradients: root.child("blocks").child("\(index)"), context: context)
            gradients.blocks[index] = result.parameters
            x = result.input
        }
        guard embeddingsWanted || inputGradient else { return Gradients(parameters: gradients, input: nil, adapters: adapterGradients) }
        let sums = tokenSums(x) // [T, D]: Σ over the batch
        if selection.contains("cls_token") {
            gradients.clsToken = Tensor(shape: [1, 1, d]) { $0.baseAddress!.update(from: sums.storage.pointer, count: d) }
        }
        if r > 0, selection.contains("register_tokens") {
            gradients.registerTokens = Tensor(shape: [1, r, d]) { $0.baseAddress!.update(from: sums.storage.pointer + d, count: r * d) }
        }
        if selection.contains("pos_embed") {
            let positionGradient = Tensor(shape: [1 + patchCount, d]) { out in
                out.baseAddress!.update(from: sums.storage.pointer, count: d)
                (out.baseAddress! + d).update(from: sums.storage.pointer + (1 + r) * d, count: patchCount * d)
            }
            gradients.positionEmbedding = cache.positionMap.backward(positionGradient, context: context)
        }
        let embedded = try patchEmbedding.backward(tokenRange(x, 1 + r..<tokens), cache: cache.patchEmbedding, inputGradient: inputGradient,
                                                   gradients: root.child("patch_embed").child("proj"), context: context)
        gradients.patchEmbedding = embedded.parameters
        return Gradients(parameters: gradients, input: embedded.input, adapters: adapterGradients)
    }

    /// `[B, N, D]` patch tokens and `position` `[1 + N, D]` → `[B, 1 + R + N, D]`: `[cls + P₀, registers, patches + P₁…]`.
    func assembleTokens(_ patches: Tensor, position: Tensor) -> Tensor {
        let (batch, count, d) = (patches.shape[0], patches.shape[1], patches.shape[2])
        let r = configuration.registers, tokens = 1 + r + count
        let (cp, pp, sp) = (clsToken.storage.pointer, position.storage.pointer, patches.storage.pointer)
        return Tensor(uninitializedShape: [batch, tokens, d]) { out in
            for b in 0..<batch {
                let item = out.baseAddress! + b * tokens * d
                for j in 0..<d { item[j] = cp[j] + pp[j] }
                if let registerTokens { (item + d).update(from: registerTokens.storage.pointer, count: r * d) }
                for i in 0..<count * d { item[(1 + r) * d + i] = sp[b * count * d + i] + pp[d + i] }
            }
        }
    }

    /// `Σ_b x[b]` of `[B, T, D]` → `[T, D]`.
    func tokenSums(_ x: Tensor) -> Tensor {
        let (batch, rowLength) = (x.shape[0], x.shape[1] * x.shape[2])
        return Tensor(shape: [x.shape[1], x.shape[2]]) { out in
            for b in 0..<batch {
                for i in 0..<rowLength { out[i] += x.storage.pointer[b * rowLength + i] }
            }
        }
    }

    /// Tokens `range` of every item: `[B, T, D]` → `[B, range.count, D]`.
    func tokenRange(_ x: Tensor, _ range: Range<Int>) -> Tensor {
        let (batch, count, d) = (x.shape[0], x.shape[1], x.shape[2])
        return Tensor(uninitializedShape: [batch, range.count, d]) { out in
            for b in 0..<batch {
                (out.baseAddress! + b * range.count * d).update(from: x.storage.pointer + (b * count + range.lowerBound) * d, count: range.count * d)
            }
        }
    }
}

/// Replaces every parameter with zeros (shared per shape).
struct ZeroFiller: ParameterVisitor {
    let zeros: ZeroTensors
    mutating func visit(_ key: String, _ parameter: inout Tensor) { parameter = zeros.tensor(shape: parameter.shape) }
}
