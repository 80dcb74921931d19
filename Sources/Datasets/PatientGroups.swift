import Foundation
import MedicalImaging

/// The patients of a list of items, each with the positions of its items, in the order the patients
/// first appear. Splits and few-shot draws work on these groups so that a patient is never divided.
struct PatientGroups {
    /// One patient and the positions (in the item list) of its items.
    struct Group {
        let patient: String
        var itemPositions: [Int]
    }

    let items: [DatasetItem]
    private(set) var groups: [Group] = []

    /// Groups `items` by `DatasetItem.patient`.
    init(_ items: [DatasetItem]) {
        self.items = items
        var positionOfPatient: [String: Int] = [:]
        for (position, item) in items.enumerated() {
            if let group = positionOfPatient[item.patient] {
                groups[group].itemPositions.append(position)
            } else {
                positionOfPatient[item.patient] = groups.count
                groups.append(Group(patient: item.patient, itemPositions: [position]))
            }
        }
    }

    /// Each patient's class for stratification and few-shot draws, `nil` for "none":
    /// - multiClass: the majority class of its items (ties to the lower class index);
    /// - multiLabel: its rarest positive finding (a finding is positive for a patient when any of its
    ///   items has value 1; rarest = fewest positive patients among these groups, ties to the lower
    ///   finding index), `nil` when it has none;
    /// - segmentation: `nil` (one stratum).
    /// Throws when a multiClass item's label is not a class index.
    func patientClasses(_ labelSpace: LabelSpace, dataset: String) throws -> [Int?] {
        switch labelSpace {
        case .multiClass(let classes):
            return try groups.map { group in
                var counts = [Int](repeating: 0, count: classes.count)
                for position in group.itemPositions {
                    let item = items[position]
                    guard item.labels.count == 1, let label = item.labels.first, label.isFinite,
                          label == label.rounded(), label >= 0, Int(label) < classes.count else {
                        throw ImagingError(file: dataset, problem: "item \(item.id) has no class index among the "
                            + "\(classes.count) classes (labels \(item.labels))")
                    }
                    counts[Int(label)] += 1
                }
                return counts.indices.max { counts[$0] < counts[$1] || (counts[$0] == counts[$1] && $0 > $1) }
            }
        case .multiLabel(let findings):
            let positives = groups.map { positiveFindings(of: $0, findingCount: findings.count) }
            let patientsPerFinding = findings.indices.map { finding in positives.filter { $0[finding] }.count }
            return positives.map { positive in
                findings.indices.filter { positive[$0] }
                    .min { (patientsPerFinding[$0], $0) < (patientsPerFinding[$1], $1) }
            }
        case .segmentation:
            return groups.map { _ in nil }
        }
    }

    /// Which findings are positive for a patient: some item of it has the value 1 for the finding.
    func positiveFindings(of group: Group, findingCount: Int) -> [Bool] {
        (0..<findingCount).map { finding in
            group.itemPositions.contains { position in
                let labels = items[position].labels
                return finding < labels.count && labels[finding] == 1
            }
        }
    }
}

extension String {
    /// Byte-wise (UTF-8) order: the same on every platform and Swift version, unlike `<`, which
    /// follows Unicode canonical equivalence.
    func precedesByBytes(_ other: String) -> Bool { utf8.lexicographicallyPrecedes(other.utf8) }
}
