import TensorCore

/// Concatenation of NCHW tensors along the channels, as `torch.cat(parts, dim=1)`: parts `[N, Cᵢ, H, W]`
/// → `[N, ΣCᵢ, H, W]`, part `i` at channels `C₀ + … + Cᵢ₋₁ ..< C₀ + … + Cᵢ`. The backward splits the
/// output gradient back into those channel ranges.
public enum ChannelConcatenation {
    /// What `backward` needs from `forward`.
    public struct Cache: Sendable {
        /// `Cᵢ` of every part, in order.
        public let channelCounts: [Int]
    }

    /// `[N, ΣCᵢ, H, W]` and the cache for `backward`; throws unless every part is `[N, Cᵢ, H, W]` with the
    /// same `N`, `H` and `W`.
    public static func forward(_ parts: [Tensor]) throws -> (output: Tensor, cache: Cache) {
        guard let first = parts.first else { throw ConvolutionError("ChannelConcatenation: no tensors to concatenate") }
        let shape = try first.imageBatchShape("ChannelConcatenation", "part 0")
        let shapes = try parts.enumerated().map { index, part in
            let partShape = try part.imageBatchShape("ChannelConcatenation", "part \(index)")
            guard partShape.batch == shape.batch, partShape.height == shape.height, partShape.width == shape.width else {
                throw ConvolutionError("ChannelConcatenation: part \(index) is \(describeShape(part.shape)) but part 0 is \(describeShape(first.shape)); only the channels may differ")
            }
            return partShape
        }
        let counts = shapes.map(\.channels)
        let total = counts.reduce(0, +)
        let output = Tensor(uninitializedShape: [shape.batch, total, shape.height, shape.width]) { out in
            var channelOffset = 0
            for (part, partShape) in zip(parts, shapes) {
                part.withUnsafeBufferPointer { source in
                    for n in 0..<shape.batch {
                        (out.baseAddress! + (n * total + channelOffset) * shape.planeCount)
                            .update(from: source.baseAddress! + n * partShape.itemCount, count: partShape.itemCount)
                    }
                }
                channelOffset += partShape.channels
            }
        }
        return (output, Cache(channelCounts: counts))
    }

    /// The gradient of every part, `[N, Cᵢ, H, W]`, cut from `outputGradient` `[N, ΣCᵢ, H, W]`.
    public static func backward(_ outputGradient: Tensor, cache: Cache) throws -> [Tensor] {
        let shape = try outputGradient.imageBatchShape("ChannelConcatenation", "output gradient")
        let total = cache.channelCounts.reduce(0, +)
        guard shape.channels == total else {
            throw ConvolutionError("ChannelConcatenation: output gradient \(describeShape(outputGradient.shape)) has \(shape.channels) channels but the parts had \(total)")
        }
        var channelOffset = 0
        return outputGradient.withUnsafeBufferPointer { g in
            cache.channelCounts.map { channels in
                defer { channelOffset += channels }
                let itemCount = channels * shape.planeCount
                return Tensor(uninitializedShape: [shape.batch, channels, shape.height, shape.width]) { part in
                    for n in 0..<shape.batch {
                        (part.baseAddress! + n * itemCount)
                            .update(from: g.baseAddress! + (n * total + channelOffset) * shape.planeCount, count: itemCount)
                    }
                }
            }
        }
    }
}
