/// A pattern over dot-separated parameter keys such as `blocks.3.attn.qkv.weight`.
///
/// Rule: the pattern is split at dots into components; it matches a key when its components equal a
/// **contiguous run** of the key's components, where a `*` component matches any one key component.
/// So `qkv` matches every `….qkv.weight` and `….qkv.bias`; `blocks.*.attn.qkv.*` matches the qkv
/// parameters of every block; `blocks.1` matches everything in block 1 (not block 11); `bias` matches every
/// bias. Components are compared whole: `fc` does not match `fc1`.
public struct ParameterPattern: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The pattern's components; `"*"` is the wildcard.
    public let components: [String]

    /// Throws when the pattern is empty or has an empty component (`a..b`, a leading or trailing dot).
    public init(_ text: String) throws {
        let components = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !text.isEmpty, !components.contains(where: \.isEmpty) else {
            throw FineTuningError("parameter pattern '\(text)' must be non-empty dot-separated names or '*'")
        }
        self.components = components
    }

    /// A literal pattern; an invalid literal is a programming error.
    public init(stringLiteral value: String) {
        do { try self.init(value) } catch { preconditionFailure("\(error)") }
    }

    public var description: String { components.joined(separator: ".") }

    /// Whether the pattern's components equal a contiguous run of the key's components (`*` matches any one).
    public func matches(_ key: String) -> Bool {
        let keyComponents = key.split(separator: ".", omittingEmptySubsequences: false)
        guard keyComponents.count >= components.count else { return false }
        return (0...keyComponents.count - components.count).contains { start in
            zip(components, keyComponents[start...]).allSatisfy { $0 == "*" || $0 == $1 }
        }
    }
}

extension Array where Element == ParameterPattern {
    /// The keys matched by at least one pattern, in the order of `keys`. Throws when a pattern matches none of
    /// `keys`, naming the pattern and a few of the keys there are.
    public func selectKeys(from keys: [String]) throws -> [String] {
        for pattern in self where !keys.contains(where: pattern.matches) {
            let examples = keys.prefix(6).joined(separator: ", ")
            throw FineTuningError("parameter pattern '\(pattern)' matches none of the \(keys.count) keys (e.g. \(examples)\(keys.count > 6 ? ", …" : ""))")
        }
        return keys.filter { key in contains { $0.matches(key) } }
    }
}
