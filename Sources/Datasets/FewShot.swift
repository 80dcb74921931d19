import Foundation
import MedicalImaging
import Randomness

/// One few-shot training subset: whole patients from the train part, and all their train items.
public struct FewShotDraw: Equatable, Sendable {
    /// The drawn patients, byte-wise sorted.
    public let patients: [String]
    /// The item ids of those patients, in the catalog's order.
    public let ids: [String]
}

extension DatasetSplit {
    /// `draws` seeded few-shot subsets of the train part; validation and test items are never used,
    /// so they stay the held-out sets of the full split. Each draw takes, from one
    /// `SeededGenerator(seed:)` shared by the draws in turn:
    /// - multiClass: `patientsPerClass` patients of each class (a patient's class is its majority
    ///   class), classes in index order;
    /// - multiLabel: for each finding in index order, `patientsPerClass` patients positive for it
    ///   (some item with value 1), the draw being their union — so each finding has at least that many
    ///   positive patients;
    /// - segmentation: `patientsPerClass` patients in all.
    /// A pool (byte-wise sorted patients) is drawn from by a partial Fisher–Yates shuffle. Throws when
    /// the split does not match `catalog`, or a class has fewer train patients than asked for.
    public func fewShot(from catalog: DatasetCatalog, patientsPerClass: Int, draws: Int, seed: UInt64) throws -> [FewShotDraw] {
        guard patientsPerClass > 0, draws > 0 else {
            throw ImagingError(file: dataset, problem: "few-shot draws need at least one patient per class and one draw "
                + "(got \(patientsPerClass) patients, \(draws) draws)")
        }
        try verify(against: catalog, file: dataset)
        let trainIDs = Set(ids(in: .train))
        let train = PatientGroups(catalog.items.filter { trainIDs.contains($0.id) })
        let pools = try fewShotPools(train, labelSpace: catalog.labelSpace)
        for (name, pool) in pools where pool.count < patientsPerClass {
            throw ImagingError(file: dataset, problem: "\(name) has \(pool.count) train patients, fewer than the "
                + "\(patientsPerClass) a few-shot draw needs")
        }
        var rng = SeededGenerator(seed: seed)
        return (0..<draws).map { _ in
            var chosen = Set<Int>()
            for (_, pool) in pools {
                var candidates = pool
                for rank in 0..<patientsPerClass {
                    candidates.swapAt(rank, rank + rng.integer(below: candidates.count - rank))
                }
                chosen.formUnion(candidates.prefix(patientsPerClass))
            }
            let patients = chosen.map { train.groups[$0].patient }.sorted { $0.precedesByBytes($1) }
            let ids = chosen.sorted().flatMap { train.groups[$0].itemPositions }.sorted().map { train.items[$0].id }
            return FewShotDraw(patients: patients, ids: ids)
        }
    }

    /// The named pools of train patients (group indices, byte-wise sorted by patient) to draw from.
    private func fewShotPools(_ train: PatientGroups, labelSpace: LabelSpace) throws -> [(name: String, pool: [Int])] {
        let byPatient = { (pool: [Int]) in pool.sorted { train.groups[$0].patient.precedesByBytes(train.groups[$1].patient) } }
        switch labelSpace {
        case .multiClass(let classes):
            let classOf = try train.patientClasses(labelSpace, dataset: dataset)
            return classes.indices.map { label in
                ("class \(classes[label])", byPatient(train.groups.indices.filter { classOf[$0] == label }))
            }
        case .multiLabel(let findings):
            let positives = train.groups.map { train.positiveFindings(of: $0, findingCount: findings.count) }
            return findings.indices.map { finding in
                ("finding \(findings[finding])", byPatient(train.groups.indices.filter { positives[$0][finding] }))
            }
        case .segmentation:
            return [("the dataset", byPatient(Array(train.groups.indices)))]
        }
    }
}
