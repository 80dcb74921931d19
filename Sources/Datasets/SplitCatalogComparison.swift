import Foundation
import MedicalImaging

/// How a split (typically read from a file) and a catalog (read from the data now) disagree: ids the
/// split holds that the catalog lacks, ids the catalog holds that the split lacks, and ids whose
/// patient differs. Each list is in the order of the side that holds the ids.
public struct SplitCatalogComparison: Equatable, Sendable {
    public let missingFromCatalog: [String]
    public let missingFromSplit: [String]
    public let patientChanged: [String]

    /// True when the split covers exactly the catalog's items with the same patients.
    public var matches: Bool { missingFromCatalog.isEmpty && missingFromSplit.isEmpty && patientChanged.isEmpty }

    /// One sentence per disagreement, with counts and up to three example ids each; empty when they match.
    public var summary: String {
        func line(_ ids: [String], _ what: String) -> String? {
            guard !ids.isEmpty else { return nil }
            let examples = ids.prefix(3).joined(separator: ", ") + (ids.count > 3 ? ", …" : "")
            return "\(ids.count) \(what) (\(examples))"
        }
        return [line(missingFromCatalog, "ids of the split are not in the catalog"),
                line(missingFromSplit, "ids of the catalog are not in the split"),
                line(patientChanged, "ids have a different patient in the catalog")]
            .compactMap { $0 }.joined(separator: "; ")
    }
}

extension DatasetSplit {
    /// Compares the split's ids and patients with `catalog`'s items.
    public func compare(with catalog: DatasetCatalog) -> SplitCatalogComparison {
        var catalogPatient: [String: String] = [:]
        for item in catalog.items { catalogPatient[item.id] = item.patient }
        let splitIDs = Set(assignments.map(\.id))
        return SplitCatalogComparison(
            missingFromCatalog: assignments.filter { catalogPatient[$0.id] == nil }.map(\.id),
            missingFromSplit: catalog.items.filter { !splitIDs.contains($0.id) }.map(\.id),
            patientChanged: assignments.filter { assignment in
                catalogPatient[assignment.id].map { $0 != assignment.patient } ?? false
            }.map(\.id))
    }

    /// Throws an `ImagingError` naming `file` (the split file, or another label) with the comparison's
    /// summary when the split and `catalog` disagree.
    public func verify(against catalog: DatasetCatalog, file: String) throws {
        let comparison = compare(with: catalog)
        guard comparison.matches else {
            throw ImagingError(file: file, problem: "does not match dataset \(catalog.name): \(comparison.summary)")
        }
    }
}
