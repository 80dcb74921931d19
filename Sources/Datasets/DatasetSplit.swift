import Foundation
import MedicalImaging

/// One item's place in a split: its id, its patient and its part.
public struct SplitAssignment: Equatable, Sendable {
    public let id: String
    public let patient: String
    public let part: SplitPart

    public init(id: String, patient: String, part: SplitPart) {
        self.id = id
        self.patient = patient
        self.part = part
    }
}

/// A patient-level split of a dataset: every item id of a `DatasetCatalog` assigned to train,
/// validation or test, all items of one patient in the same part, in the catalog's item order.
/// Made by `DatasetSplit(catalog:method:)`, stored by `SplitFile`.
public struct DatasetSplit: Equatable, Sendable {
    /// The catalog's name (`DatasetCatalog.name`).
    public let dataset: String
    /// How the parts were chosen.
    public let method: SplitMethod
    /// One assignment per item, in the catalog's order.
    public let assignments: [SplitAssignment]

    /// A split whose assignments are known to be patient-consistent and free of duplicate ids.
    init(checkedDataset dataset: String, method: SplitMethod, assignments: [SplitAssignment]) {
        self.dataset = dataset
        self.method = method
        self.assignments = assignments
    }

    /// Splits `catalog` by `method` (see `SplitMethod` for each rule). Throws an `ImagingError` naming
    /// the dataset for duplicate item ids, fractions outside [0, 1] (or adding up to more than 1),
    /// multiClass items without a class index (stratified), and for `.official` when the catalog has
    /// no official parts, some items lack one, or the official parts put one patient on two parts.
    public init(catalog: DatasetCatalog, method: SplitMethod) throws {
        try method.checkFractions(dataset: catalog.name)
        var seen = Set<String>()
        for item in catalog.items where !seen.insert(item.id).inserted {
            throw ImagingError(file: catalog.name, problem: "item id \(item.id) occurs more than once")
        }
        let patients = PatientGroups(catalog.items)
        let parts: [SplitPart]
        switch method {
        case .systematic(let validation, let test):
            parts = SplitAllocation.systematic(patientCount: patients.groups.count, validation: validation, test: test)
        case .stratified(let seed, let validation, let test):
            parts = SplitAllocation.stratified(patients: patients.groups.map(\.patient),
                                               classes: try patients.patientClasses(catalog.labelSpace, dataset: catalog.name),
                                               seed: seed, validation: validation, test: test)
        case .official(let seed, let validation):
            parts = try Self.officialParts(catalog, patients: patients, seed: seed, validation: validation)
        }
        var assignments = [SplitAssignment?](repeating: nil, count: catalog.items.count)
        for (group, part) in zip(patients.groups, parts) {
            for position in group.itemPositions {
                let item = catalog.items[position]
                assignments[position] = SplitAssignment(id: item.id, patient: item.patient, part: part)
            }
        }
        self.init(checkedDataset: catalog.name, method: method, assignments: assignments.compactMap { $0 })
    }

    /// Each patient's official part; when no item is officially validation, a `validation` fraction
    /// of the official train patients becomes validation by the stratified rule (fraction and class
    /// strata computed over the train patients only).
    private static func officialParts(_ catalog: DatasetCatalog, patients: PatientGroups, seed: UInt64,
                                      validation: Double) throws -> [SplitPart] {
        let unassigned = catalog.items.filter { $0.officialPart == nil }
        guard unassigned.count < catalog.items.count || catalog.items.isEmpty else {
            throw ImagingError(file: catalog.name, problem: "has no official split; choose the systematic or stratified method")
        }
        if let first = unassigned.first {
            throw ImagingError(file: catalog.name, problem: "\(unassigned.count) items have no official part (first: \(first.id))")
        }
        var parts = try patients.groups.map { group -> SplitPart in
            let groupParts = Set(group.itemPositions.compactMap { catalog.items[$0].officialPart })
            guard groupParts.count == 1, let part = groupParts.first else {
                throw ImagingError(file: catalog.name, problem: "the official split puts patient \(group.patient) on "
                    + SplitPart.allCases.filter(groupParts.contains).map(\.rawValue).joined(separator: " and "))
            }
            return part
        }
        guard !parts.contains(.validation) else { return parts }
        let trainGroups = parts.indices.filter { parts[$0] == .train }
        let trainPatients = PatientGroups(trainGroups.flatMap { patients.groups[$0].itemPositions.map { catalog.items[$0] } })
        let carved = SplitAllocation.stratified(patients: trainPatients.groups.map(\.patient),
                                                classes: try trainPatients.patientClasses(catalog.labelSpace, dataset: catalog.name),
                                                seed: seed, validation: validation, test: 0)
        for (group, part) in zip(trainGroups, carved) { parts[group] = part }
        return parts
    }

    /// Each item id's part (built on each call: keep the dictionary for many look-ups).
    public func partsByID() -> [String: SplitPart] {
        Dictionary(assignments.map { ($0.id, $0.part) }, uniquingKeysWith: { first, _ in first })
    }

    /// The ids of the items in `part`, in the catalog's order.
    public func ids(in part: SplitPart) -> [String] {
        assignments.filter { $0.part == part }.map(\.id)
    }

    /// The patients with items in `part`, each once, in byte-wise order.
    public func patients(in part: SplitPart) -> [String] {
        Set(assignments.filter { $0.part == part }.map(\.patient)).sorted { $0.precedesByBytes($1) }
    }
}
