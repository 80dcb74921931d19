import Yams

/// Typed reading of a composed YAML document (Yams' node API), every problem an `ExperimentFileError`
/// at the offending node's line and column.
struct YAMLNodeReader {
    let file: String

    func failure(at node: Node?, _ problem: String) -> ExperimentFileError {
        ExperimentFileError(file: file, line: node?.mark?.line, column: node?.mark?.column, problem: problem)
    }

    /// The entries of a mapping by key, refusing a key outside `allowed` (naming the allowed ones), a key
    /// given twice, and a missing key of `required`. `what` names the mapping in messages.
    func mapping(_ node: Node, what: String, allowed: [String], required: [String] = []) throws -> [String: Node] {
        guard case .mapping(let mapping) = node else { throw failure(at: node, "\(what) must be a mapping (key: value lines)") }
        var entries: [String: Node] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else { throw failure(at: key, "a key of \(what) must be a plain name") }
            guard allowed.contains(scalar.string) else {
                throw failure(at: key, "unknown key '\(scalar.string)' in \(what); allowed: \(allowed.joined(separator: ", "))")
            }
            guard entries[scalar.string] == nil else { throw failure(at: key, "key '\(scalar.string)' is given twice in \(what)") }
            entries[scalar.string] = value
        }
        for key in required where entries[key] == nil {
            throw failure(at: node, "\(what) is missing the required key '\(key)'")
        }
        return entries
    }

    /// A plain scalar's text.
    func string(_ node: Node, _ key: String) throws -> String {
        guard case .scalar(let scalar) = node else { throw failure(at: node, "'\(key)' must be a single value, not a list or mapping") }
        return scalar.string
    }

    /// One of `choices`.
    func choice(_ node: Node, _ key: String, among choices: [String]) throws -> String {
        let text = try string(node, key)
        guard choices.contains(text) else {
            throw failure(at: node, "'\(key)' must be one of \(choices.joined(separator: ", ")) (got '\(text)')")
        }
        return text
    }

    func int(_ node: Node, _ key: String) throws -> Int {
        guard let value = Int(try string(node, key)) else { throw failure(at: node, "'\(key)' must be an integer (got '\(try string(node, key))')") }
        return value
    }

    func double(_ node: Node, _ key: String) throws -> Double {
        let text = try string(node, key)
        guard let value = Double(text), value.isFinite else { throw failure(at: node, "'\(key)' must be a number (got '\(text)')") }
        return value
    }

    func bool(_ node: Node, _ key: String) throws -> Bool {
        let text = try string(node, key)
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw failure(at: node, "'\(key)' must be true or false (got '\(text)')")
        }
    }

    /// The items of a non-empty sequence; a single scalar counts as a list of one.
    func list(_ node: Node, _ key: String) throws -> [Node] {
        switch node {
        case .sequence(let sequence):
            guard !sequence.isEmpty else { throw failure(at: node, "'\(key)' must not be empty") }
            return Array(sequence)
        case .scalar: return [node]
        default: throw failure(at: node, "'\(key)' must be a list")
        }
    }
}
