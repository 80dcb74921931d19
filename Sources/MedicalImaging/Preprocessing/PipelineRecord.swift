import Foundation

/// The text form of pipeline and augmentation records: steps joined by `" > "`, each `name` or
/// `name[arg,arg,…]`.

/// The steps of a record, split at `>` and trimmed; an empty record has none.
func splitRecord(_ record: String) -> [String] {
    record.split(separator: ">").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// `name[a,b]` → (`name`, [`a`, `b`]); `name` → (`name`, []); `nil` for unbalanced brackets.
func parseRecord(_ step: String) -> (name: String, arguments: [String])? {
    guard let open = step.firstIndex(of: "[") else {
        return step.contains("]") || step.isEmpty ? nil : (step, [])
    }
    guard step.last == "]", step.firstIndex(of: "]") == step.index(before: step.endIndex) else { return nil }
    let inside = step[step.index(after: open) ..< step.index(before: step.endIndex)]
    return (String(step[..<open]), inside.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
}

/// The arguments as numbers, `nil` if one is not a finite number.
func recordNumbers(_ arguments: [String]) -> [Double]? {
    let numbers = arguments.compactMap { Double($0) }.filter(\.isFinite)
    return numbers.count == arguments.count ? numbers : nil
}
