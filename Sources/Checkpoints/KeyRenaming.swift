import TensorCore

/// Declared renaming of checkpoint keys, shared by the key adapters.
///
/// A pattern is a key prefix in which `{i}` stands for a block index (a run of digits), e.g.
/// `encoder.layer.{i}.layernorm_before.` → `blocks.{i}.norm1.`.
public enum KeyRenaming {
    /// Matches `key` against `pattern` (optional `{i}`); returns `replacement` with the same index and the
    /// rest of the key, or nil when the key does not match.
    public static func rename(_ key: String, from pattern: String, to replacement: String) -> String? {
        guard let marker = pattern.range(of: "{i}") else {
            guard key.hasPrefix(pattern) else { return nil }
            return replacement + key.dropFirst(pattern.count)
        }
        let head = String(pattern[..<marker.lowerBound]), tail = String(pattern[marker.upperBound...])
        guard key.hasPrefix(head) else { return nil }
        let rest = key.dropFirst(head.count)
        let digits = rest.prefix(while: \.isNumber)
        guard !digits.isEmpty, rest.dropFirst(digits.count).hasPrefix(tail) else { return nil }
        return replacement.replacingOccurrences(of: "{i}", with: String(digits)) + rest.dropFirst(digits.count + tail.count)
    }

    /// `key` without any of `prefixes` in front, removed as often as they appear (`module.backbone.x` → `x`).
    static func strippingPrefixes(_ key: String, _ prefixes: [String]) -> String {
        var key = key
        while let prefix = prefixes.first(where: { key.hasPrefix($0) }) { key.removeFirst(prefix.count) }
        return key
    }

    /// The first of `renames` that matches `key`, applied.
    static func firstRename(of key: String, in renames: [(String, String)]) -> String? {
        renames.lazy.compactMap { rename(key, from: $0.0, to: $0.1) }.first
    }

    /// Separate projections by target key (`blocks.3.attn.qkv.weight`) and role (`query`, `key`, `value`),
    /// concatenated along the output dimension in the order of `roles`: `[3·out, …]`.
    static func concatenate(_ projections: [String: [String: Tensor]], roles: [String], source: String) throws -> [String: Tensor] {
        var fused: [String: Tensor] = [:]
        for (target, parts) in projections {
            let tensors = roles.compactMap { parts[$0] }
            guard tensors.count == roles.count else {
                throw CheckpointError(file: source, "has an incomplete \(roles.joined(separator: "/")) set for \(target) (found \(parts.keys.sorted().joined(separator: ", ")))")
            }
            guard tensors.allSatisfy({ $0.shape == tensors[0].shape }) else {
                throw CheckpointError(file: source, "\(roles.joined(separator: "/")) shapes differ for \(target): \(tensors.map { describeShape($0.shape) }.joined(separator: ", "))")
            }
            let rows = tensors[0].shape[0]
            fused[target] = Tensor(shape: [roles.count * rows] + tensors[0].shape.dropFirst()) { out in
                for (i, part) in tensors.enumerated() {
                    part.withUnsafeBufferPointer { (out.baseAddress! + i * part.count).update(from: $0.baseAddress!, count: part.count) }
                }
            }
        }
        return fused
    }
}

/// Separate query/key/value projections `<pattern><role>.<weight|bias>` that become the fused
/// `blocks.{i}.attn.qkv.<weight|bias>` (concatenated in the order of `roles`).
struct QKVProjection: Sendable {
    let pattern: String
    let roles: [String]

    /// Hugging Face `Dinov2Model` and `ViTModel`: `encoder.layer.{i}.attention.attention.{query,key,value}`.
    static let huggingFace = QKVProjection(pattern: "encoder.layer.{i}.attention.attention.", roles: ["query", "key", "value"])
    /// Hugging Face `CLIPVisionModel`: `encoder.layers.{i}.self_attn.{q,k,v}_proj`.
    static let huggingFaceCLIP = QKVProjection(pattern: "encoder.layers.{i}.self_attn.", roles: ["q_proj", "k_proj", "v_proj"])

    /// The fused target key and the role of `key`, or nil when `key` is not one of these projections.
    func target(of key: String) -> (target: String, role: String)? {
        guard let renamed = KeyRenaming.rename(key, from: pattern, to: "blocks.{i}.attn.qkv.") else { return nil }
        let parts = renamed.split(separator: ".") // blocks, i, attn, qkv, role, kind
        guard parts.count == 6, roles.contains(String(parts[4])) else { return nil }
        return ("blocks.\(parts[1]).attn.qkv.\(parts[5])", String(parts[4]))
    }
}
