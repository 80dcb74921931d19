import Foundation
import Results

/// The methods note under a table: the protocols, the metric, what the intervals are, and the configuration
/// settings its results share (the settings that differ between them named as varying), read from the stored
/// configurations.
enum MethodsNote {
    /// Configuration keys that the table's layout already shows.
    static let shownByLayout: Set<String> = ["model", "dataset", "protocol"]

    static func make(protocols: [String], metric: String, interval: String, records: [ResultRecord]) -> String {
        var sentences = ["Protocol: \(protocols.map(StudyProtocol.label).joined(separator: ", ")).", "Metric: \(metric).", interval]
        let objects = records.map(\.configurationObject)
        let keys = Set(objects.flatMap(\.keys)).subtracting(shownByLayout).sorted()
        var shared: [String] = [], varying: [String] = []
        for key in keys {
            let values = Set(objects.map { $0[key].map(render) ?? "absent" })
            if values.count == 1, let value = values.first, value != "absent" { shared.append("\(key) = \(value)") } else { varying.append(key) }
        }
        if !shared.isEmpty { sentences.append("Settings shared by its \(records.count) results: \(shared.joined(separator: "; ")).") }
        if !varying.isEmpty { sentences.append("Varying: \(varying.joined(separator: ", ")).") }
        return sentences.joined(separator: " ")
    }

    /// A configuration value as compact JSON with sorted keys.
    static func render(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]) else {
            return "\(value)"
        }
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    static let bootstrapInterval = "Intervals: the 95% bootstrap confidence intervals stored with each result (none shown where none was computed)."
}
