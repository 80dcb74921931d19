import Datasets
import Foundation
import MedicalImaging
import Randomness
import TestSupport
import XCTest

/// Random catalogs for split tests: patients `P0000…` with 1–3 items each, items sorted by id.
enum SyntheticCatalog {
    /// multiClass weights, multiLabel prevalences.
    static let classWeights: [Double] = [0.6, 0.3, 0.1]
    static let findingPrevalence: [Double] = [0.3, 0.15, 0.05]

    /// A catalog of `patients` patients. multiClass: each patient has a class drawn by `classWeights`
    /// and each of its items that class, or (one time in five) another; multiLabel: each item's finding
    /// is 1 with its prevalence; segmentation: no labels. `official` gives a patient's official part.
    static func make(_ labelSpace: LabelSpace, patients: Int, seed: UInt64,
                     official: (Int) -> SplitPart? = { _ in nil }) -> DatasetCatalog {
        var rng = SeededGenerator(seed: seed)
        var items: [DatasetItem] = []
        for patient in 0..<patients {
            let name = String(format: "P%04d", patient)
            let patientClass = draw(classWeights, &rng)
            for image in 0..<(1 + rng.integer(below: 3)) {
                let labels: [Float] = switch labelSpace {
                case .multiClass: [Float(rng.integer(below: 5) == 0 ? rng.integer(below: classWeights.count) : patientClass)]
                case .multiLabel: findingPrevalence.map { rng.uniform() < $0 ? 1 : 0 }
                case .segmentation: []
                }
                let id = "\(name)/image-\(image).png"
                items.append(DatasetItem(id: id, url: URL(fileURLWithPath: "/dataset").appendingPathComponent(id),
                                         labels: labels, patient: name, officialPart: official(patient)))
            }
        }
        return DatasetCatalog(name: "synthetic", modality: .xray, labelSpace: labelSpace, items: items)
    }

    static let multiClass = LabelSpace.multiClass(classes: ["normal", "benign", "malignant"])
    static let multiLabel = LabelSpace.multiLabel(findings: ["effusion", "nodule", "hernia"])
    static let segmentation = LabelSpace.segmentation(classes: ["background", "lung"])

    private static func draw(_ weights: [Double], _ rng: inout SeededGenerator) -> Int {
        var u = rng.uniform()
        for (index, weight) in weights.enumerated() {
            if u < weight { return index }
            u -= weight
        }
        return weights.count - 1
    }
}

final class SplitTests: XCTestCase {
    // MARK: Helpers

    /// Fails unless every catalog item is assigned once, in order, with its patient, and every patient
    /// lies in one part.
    func assertPatientLevel(_ split: DatasetSplit, _ catalog: DatasetCatalog, _ context: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(split.assignments.map(\.id), catalog.items.map(\.id), context, file: file, line: line)
        XCTAssertEqual(split.assignments.map(\.patient), catalog.items.map(\.patient), context, file: file, line: line)
        var partOfPatient: [String: SplitPart] = [:]
        for assignment in split.assignments {
            let part = partOfPatient[assignment.patient, default: assignment.part]
            XCTAssertEqual(part, assignment.part, "\(context): patient \(assignment.patient) on two parts", file: file, line: line)
            partOfPatient[assignment.patient] = part
        }
    }

    /// Each patient's majority class as the split documents it (ties to the lower class).
    func majorityClass(_ catalog: DatasetCatalog) -> [String: Int] {
        var counts: [String: [Int]] = [:]
        for item in catalog.items { counts[item.patient, default: [0, 0, 0]][Int(item.labels[0])] += 1 }
        return counts.mapValues { $0.firstIndex(of: $0.max()!)! }
    }

    /// A split file with the given header fields around `rows`, its checksum computed over the body.
    func splitFileData(rows: [String], dataset: String = "synthetic", method: String = "systematic;validation=0.2;test=0.2",
                       items: Int? = nil, version: String = "v1") -> Data {
        let body = (["id,patient,part"] + rows).map { $0 + "\n" }.joined()
        let header = "# radprobe split \(version) dataset=\(dataset) method=\(method) items=\(items ?? rows.count) "
            + "sha256=\(SHA256.hex(Array(body.utf8)))\n"
        return Data((header + body).utf8)
    }

    func assertDecodeFails(_ data: Data, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SplitFile.decode(data, file: "splits/synthetic.csv"), file: file, line: line) { error in
            let description = "\(error)"
            XCTAssertTrue(description.hasPrefix("splits/synthetic.csv: "), description, file: file, line: line)
            XCTAssertTrue(description.contains(expected), "\(description) lacks '\(expected)'", file: file, line: line)
        }
    }

    // MARK: Leakage

    func testNoPatientIsEverOnTwoParts() throws {
        for seed in UInt64(0)..<40 {
            var rng = SeededGenerator(seed: 1000 + seed)
            let validation = rng.uniform(in: 0...0.4), test = rng.uniform(in: 0...0.4)
            for labelSpace in [SyntheticCatalog.multiClass, SyntheticCatalog.multiLabel, SyntheticCatalog.segmentation] {
                let catalog = SyntheticCatalog.make(labelSpace, patients: 20 + rng.integer(below: 60), seed: seed)
                for method in [SplitMethod.stratified(seed: seed, validation: validation, test: test),
                               .systematic(validation: validation, test: test)] {
                    assertPatientLevel(try DatasetSplit(catalog: catalog, method: method), catalog, "\(method)")
                }
                let officialCatalog = SyntheticCatalog.make(labelSpace, patients: 30, seed: seed) { $0 % 4 == 0 ? .test : .train }
                let official = try DatasetSplit(catalog: officialCatalog, method: .official(seed: seed, validation: validation))
                assertPatientLevel(official, officialCatalog, "official, seed \(seed)")
            }
        }
    }

    // MARK: Stratified

    func testStratifiedSplitKeepsClassProportions() throws {
        let catalog = SyntheticCatalog.make(SyntheticCatalog.multiClass, patients: 600, seed: 5)
        let split = try DatasetSplit(catalog: catalog, method: .stratified(seed: 11, validation: 0.15, test: 0.25))
        let classOf = majorityClass(catalog)
        let overall = (0..<3).map { label in Double(classOf.values.filter { $0 == label }.count) / 600 }
        XCTAssertEqual(split.patients(in: .validation).count, 90)
        XCTAssertEqual(split.patients(in: .test).count, 150)
        for part in SplitPart.allCases {
            let patients = split.patients(in: part)
            for label in 0..<3 {
                let share = Double(patients.filter { classOf[$0] == label }.count) / Double(patients.count)
                XCTAssertEqual(share, overall[label], accuracy: 0.01, "class \(label) in \(part)")
            }
        }
    }

    func testStratifiedSplitSpreadsTheRarestFinding() throws {
        let catalog = SyntheticCatalog.make(SyntheticCatalog.multiLabel, patients: 800, seed: 9)
        let split = try DatasetSplit(catalog: catalog, method: .stratified(seed: 3, validation: 0.1, test: 0.2))
        let herniaPatients = Set(catalog.items.filter { $0.labels[2] == 1 }.map(\.patient))
        XCTAssertGreaterThan(herniaPatients.count, 40)
        for (part, fraction) in [(SplitPart.validation, 0.1), (.test, 0.2)] {
            let inPart = split.patients(in: part).filter(herniaPatients.contains).count
            XCTAssertEqual(Double(inPart), fraction * Double(herniaPatients.count), accuracy: 1, "hernia patients in \(part)")
        }
    }

    func testSameSeedGivesSameBytesAndSeedsDiffer() throws {
        let catalog = SyntheticCatalog.make(SyntheticCatalog.multiClass, patients: 40, seed: 2)
        func bytes(_ seed: UInt64) throws -> Data {
            try SplitFile.encode(DatasetSplit(catalog: catalog, method: .stratified(seed: seed, validation: 0.2, test: 0.2)), file: "s")
        }
        XCTAssertEqual(try bytes(7), try bytes(7))
        XCTAssertNotEqual(try bytes(7), try bytes(8))
        // The digest scripts/split_reference.py computes with an independent implementation of the
        // documented rule; it depends only on SplitMix64 and IEEE doubles, so it holds on every platform.
        XCTAssertEqual(SHA256.hex(Array(try bytes(7))), "1687b11004c8f056e06065a3b7e47f3cb44216add04ad44a33b706ed01f92911")
    }

    func testStratifiedRejectsBadFractionsAndLabels() {
        let catalog = SyntheticCatalog.make(SyntheticCatalog.multiClass, patients: 10, seed: 1)
        XCTAssertThrowsError(try DatasetSplit(catalog: catalog, method: .stratified(seed: 1, validation: 0.6, test: 0.5)))
        XCTAssertThrowsError(try DatasetSplit(catalog: catalog, method: .systematic(validation: -0.1, test: 0.2)))
        let unlabelled = DatasetCatalog(name: "bad", modality: .xray, labelSpace: SyntheticCatalog.multiClass, items: [
            DatasetItem(id: "a", url: URL(fileURLWithPath: "/dataset/a"), labels: [3], patient: "p"),
        ])
        XCTAssertThrowsError(try DatasetSplit(catalog: unlabelled, method: .stratified(seed: 1, validation: 0.2, test: 0.2))) {
            XCTAssertTrue("\($0)".contains("item a has no class index"), "\($0)")
        }
        let duplicated = DatasetCatalog(name: "dup", modality: .xray, labelSpace: SyntheticCatalog.segmentation, items: [
            DatasetItem(id: "a", url: URL(fileURLWithPath: "/dataset/a"), patient: "p"),
            DatasetItem(id: "a", url: URL(fileURLWithPath: "/dataset/a"), patient: "q"),
        ])
        XCTAssertThrowsError(try DatasetSplit(catalog: duplicated, method: .systematic(validation: 0.2, test: 0.2)))
    }

    // MARK: Systematic

    func testSystematicReproducesTheStudysPicks() throws {
        // The study's Brain Tumor split: 233 patients, 70 test then 50 validation of the other 163.
        // Positions from numpy 1.24: np.arange(0, 233, 233/70).round() and np.arange(0, 163, 163/50).round().
        let testPositions = [0, 3, 7, 10, 13, 17, 20, 23, 27, 30, 33, 37, 40, 43, 47, 50, 53, 57, 60, 63, 67, 70, 73, 77,
                             80, 83, 87, 90, 93, 97, 100, 103, 107, 110, 113, 116, 120, 123, 126, 130, 133, 136, 140, 143,
                             146, 150, 153, 156, 160, 163, 166, 170, 173, 176, 180, 183, 186, 190, 193, 196, 200, 203, 206,
                             210, 213, 216, 220, 223, 226, 230]
        let validationPositions = [0, 3, 7, 10, 13, 16, 20, 23, 26, 29, 33, 36, 39, 42, 46, 49, 52, 55, 59, 62, 65, 68, 72,
                                   75, 78, 82, 85, 88, 91, 95, 98, 101, 104, 108, 111, 114, 117, 121, 124, 127, 130, 134,
                                   137, 140, 143, 147, 150, 153, 156, 160]
        // Patients in catalog order (not sorted): item ids descend while patients ascend.
        let items = (0..<233).flatMap { patient in
            (0..<(patient % 3 + 1)).map { image in
                DatasetItem(id: String(format: "%06d", 999_999 - patient * 10 - image),
                            url: URL(fileURLWithPath: "/dataset/\(patient)"), patient: "pid\(patient)")
            }
        }
        let catalog = DatasetCatalog(name: "brain", modality: .mri, labelSpace: SyntheticCatalog.segmentation, items: items)
        let split = try DatasetSplit(catalog: catalog, method: .systematic(validation: 50.0 / 233, test: 70.0 / 233))
        assertPatientLevel(split, catalog, "systematic")
        var partOfPatient: [Int: SplitPart] = [:]
        for assignment in split.assignments { partOfPatient[Int(assignment.patient.dropFirst(3))!] = assignment.part }
        XCTAssertEqual((0..<233).filter { partOfPatient[$0] == .test }, testPositions)
        let remaining = (0..<233).filter { partOfPatient[$0] != .test }
        XCTAssertEqual(remaining.indices.filter { partOfPatient[remaining[$0]] == .validation }, validationPositions)
    }

    // MARK: Official

    func testOfficialSplitKeepsPublishedParts() throws {
        let parts: [SplitPart] = [.train, .validation, .test]
        let catalog = SyntheticCatalog.make(SyntheticCatalog.multiClass, patients: 30, seed: 4) { parts[$0 % 3] }
        let split = try DatasetSplit(catalog: catalog, method: .official(seed: 1, validation: 0.5))
        XCTAssertEqual(split.assignments.map(\.part), catalog.items.map(\.officialPart))
    }

    func testOfficialSplitCarvesValidationFromTrainOnly() throws {
        // NIH ChestX-ray14 publishes train_val and test only.
        let catalog = SyntheticCatalog.make(SyntheticCatalog.multiLabel, patients: 200, seed: 6) { $0 % 5 == 0 ? .test : .train }
        let split = try DatasetSplit(catalog: catalog, method: .official(seed: 9, validation: 0.1))
        for (assignment, item) in zip(split.assignments, catalog.items) {
            if item.officialPart == .test {
                XCTAssertEqual(assignment.part, .test, item.id)
            } else {
                XCTAssertNotEqual(assignment.part, .test, item.id)
            }
        }
        XCTAssertEqual(split.patients(in: .validation).count, 16) // round(0.1 · 160 train patients)
        XCTAssertEqual(split.patients(in: .test).count, 40)
        let again = try DatasetSplit(catalog: catalog, method: .official(seed: 10, validation: 0.1))
        XCTAssertNotEqual(again.patients(in: .validation), split.patients(in: .validation))
    }

    func testOfficialSplitErrors() {
        let none = SyntheticCatalog.make(SyntheticCatalog.multiClass, patients: 5, seed: 1)
        XCTAssertThrowsError(try DatasetSplit(catalog: none, method: .official(seed: 1, validation: 0.1))) {
            XCTAssertEqual("\($0)", "synthetic: has no official split; choose the systematic or stratified method")
        }
        let partial = SyntheticCatalog.make(SyntheticCatalog.multiClass, patients: 5, seed: 1) { $0 == 2 ? nil : .train }
        XCTAssertThrowsError(try DatasetSplit(catalog: partial, method: .official(seed: 1, validation: 0.1))) {
            XCTAssertTrue("\($0)".contains("have no official part (first: P0002/image-0.png)"), "\($0)")
        }
        let leaking = DatasetCatalog(name: "leaky", modality: .xray, labelSpace: SyntheticCatalog.segmentation, items: [
            DatasetItem(id: "a", url: URL(fileURLWithPath: "/dataset/a"), patient: "p1", officialPart: .train),
            DatasetItem(id: "b", url: URL(fileURLWithPath: "/dataset/b"), patient: "p1", officialPart: .test),
        ])
        XCTAssertThrowsError(try DatasetSplit(catalog: leaking, method: .official(seed: 1, validation: 0.1))) {
            XCTAssertEqual("\($0)", "leaky: the official split puts patient p1 on train and test")
        }
    }

    // MARK: Few-shot

    func testFewShotDrawsComeFromTrainOnly() throws {
        let catalog = SyntheticCatalog.make(SyntheticCatalog.multiClass, patients: 300, seed: 8)
        let split = try DatasetSplit(catalog: catalog, method: .stratified(seed: 1, validation: 0.2, test: 0.2))
        let draws = try split.fewShot(from: catalog, patientsPerClass: 4, draws: 5, seed: 21)
        let classOf = majorityClass(catalog)
        let trainPatients = Set(split.patients(in: .train))
        let parts = split.partsByID()
        XCTAssertEqual(draws.count, 5)
        XCTAssertEqual(Set(draws.map(\.patients)).count, 5, "the draws differ")
        for draw in draws {
            XCTAssertTrue(Set(draw.patients).isSubset(of: trainPatients))
            XCTAssertEqual((0..<3).map { label in draw.patients.filter { classOf[$0] == label }.count }, [4, 4, 4])
            XCTAssertEqual(draw.ids, catalog.items.filter { draw.patients.contains($0.patient) }.map(\.id))
            XCTAssertTrue(draw.ids.allSatisfy { parts[$0] == .train })
        }
        XCTAssertEqual(try split.fewShot(from: catalog, patientsPerClass: 4, draws: 5, seed: 21), draws)
        XCTAssertNotEqual(try split.fewShot(from: catalog, patientsPerClass: 4, draws: 5, seed: 22), draws)
        XCTAssertThrowsError(try split.fewShot(from: catalog, patientsPerClass: 500, draws: 1, seed: 1)) {
            XCTAssertTrue("\($0)".contains("class normal has"), "\($0)")
        }
    }

    func testFewShotMultiLabelCoversEveryFinding() throws {
        let catalog = SyntheticCatalog.make(SyntheticCatalog.multiLabel, patients: 400, seed: 12)
        let split = try DatasetSplit(catalog: catalog, method: .stratified(seed: 2, validation: 0.1, test: 0.3))
        let trainPatients = Set(split.patients(in: .train))
        for draw in try split.fewShot(from: catalog, patientsPerClass: 3, draws: 4, seed: 5) {
            XCTAssertTrue(Set(draw.patients).isSubset(of: trainPatients))
            XCTAssertLessThanOrEqual(draw.patients.count, 9)
            for finding in 0..<3 {
                let positive = Set(catalog.items.filter { $0.labels[finding] == 1 }.map(\.patient))
                XCTAssertGreaterThanOrEqual(draw.patients.filter(positive.contains).count, 3, "finding \(finding)")
            }
        }
    }

    // MARK: Files

    func testSplitFileRoundTrip() throws {
        let directory = try Fixtures.temporaryDirectory(removedAfter: self)
        let items = SyntheticCatalog.make(SyntheticCatalog.segmentation, patients: 12, seed: 3).items + [
            DatasetItem(id: "odd, \"quoted\" name.png", url: URL(fileURLWithPath: "/dataset/odd"), patient: "P,9"),
            DatasetItem(id: "Ärztin/Bild.png", url: URL(fileURLWithPath: "/dataset/a"), patient: "P,9"),
        ]
        let catalog = DatasetCatalog(name: "msd-spleen", modality: .ct, labelSpace: SyntheticCatalog.segmentation, items: items)
        for method in [SplitMethod.stratified(seed: 77, validation: 0.25, test: 1e-05),
                       .systematic(validation: 0.2, test: 0.3)] {
            let split = try DatasetSplit(catalog: catalog, method: method)
            let url = directory.appendingPathComponent("split.csv")
            try SplitFile.write(split, to: url)
            XCTAssertEqual(try SplitFile.read(url), split)
            let bytes = try Data(contentsOf: url)
            let newline = try XCTUnwrap(bytes.firstIndex(of: 0x0A))
            let header = String(decoding: bytes[..<newline], as: UTF8.self)
            XCTAssertEqual(header, "# radprobe split v1 dataset=msd-spleen method=\(method.record) items=\(items.count) "
                + "sha256=\(SHA256.hex(Array(bytes[(newline + 1)...])))")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["split.csv"])
    }

    /// What `read` would refuse, `write` refuses too: an empty patient is not written.
    func testSplitWithAnEmptyPatientIsNotWritten() throws {
        let directory = try Fixtures.temporaryDirectory(removedAfter: self)
        let items = [DatasetItem(id: "a.png", url: URL(fileURLWithPath: "/d/a.png"), patient: ""),
                     DatasetItem(id: "b.png", url: URL(fileURLWithPath: "/d/b.png"), patient: "P1")]
        let catalog = DatasetCatalog(name: "manifest", modality: .other, labelSpace: SyntheticCatalog.segmentation, items: items)
        let split = try DatasetSplit(catalog: catalog, method: .systematic(validation: 0, test: 0.5))
        let url = directory.appendingPathComponent("split.csv")
        XCTAssertThrowsError(try SplitFile.write(split, to: url)) { error in
            XCTAssertTrue("\(error)".contains("item a.png has an empty id or patient"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    func testMethodRecords() {
        for method in [SplitMethod.official(seed: 3, validation: 0.1), .systematic(validation: 0.2, test: 0.3),
                       .stratified(seed: 18_446_744_073_709_551_615, validation: 1e-05, test: 0.5)] {
            XCTAssertEqual(SplitMethod(record: method.record), method)
        }
        XCTAssertEqual(SplitMethod.stratified(seed: 4, validation: 0.1, test: 0.2).record, "stratified;seed=4;validation=0.1;test=0.2")
        for bad in ["stratified;seed=4;validation=0.10;test=0.2", "stratified;validation=0.1;test=0.2", "random;seed=1",
                    "official;seed=1;validation=0.1;test=0.2", "systematic;test=0.2;validation=0.1", ""] {
            XCTAssertNil(SplitMethod(record: bad), bad)
        }
    }

    func testCorruptSplitFilesAreRejected() {
        let good = splitFileData(rows: ["a,p1,train", "b,p1,train", "c,p2,test"])
        XCTAssertNoThrow(try SplitFile.decode(good, file: "splits/synthetic.csv"))
        var flipped = good
        flipped[flipped.count - 3] ^= 0x01
        assertDecodeFails(flipped, "line 1: checksum mismatch")
        assertDecodeFails(good.dropLast(4), "line 1: checksum mismatch")
        assertDecodeFails(splitFileData(rows: ["a,p1,train", "b,p1"]), "line 4: has 2 fields")
        assertDecodeFails(splitFileData(rows: ["a,p1,train", "b,p\"1,train"]), "line 4: a quote inside an unquoted field")
        assertDecodeFails(splitFileData(rows: ["a,p1,train", "b,p2,test", "a,p3,test"]), "line 5: id a already appears on line 3")
        assertDecodeFails(splitFileData(rows: ["a,p1,train", "b,p2,test", "c,p1,validation"]),
                          "line 5: patient p1 is in validation here but in train on line 3")
        assertDecodeFails(splitFileData(rows: ["a,p1,training"]), "line 3: unknown part 'training'")
        assertDecodeFails(splitFileData(rows: [",p1,train"]), "line 3: has an empty id or patient")
        assertDecodeFails(splitFileData(rows: ["a,p1,train"], items: 2), "line 1: the header promises 2 items but the file holds 1")
        assertDecodeFails(splitFileData(rows: ["a,p1,train"], version: "v2"), "line 1: split file version v2 is not supported")
        assertDecodeFails(splitFileData(rows: ["a,p1,train"], method: "random;seed=1"), "line 1: unknown split method 'random;seed=1'")
        assertDecodeFails(Data("id,patient,part\na,p1,train\n".utf8), "line 1: is not a radprobe split file")
        assertDecodeFails(Data("# radprobe split v1 dataset=x".utf8), "line 1: no header line")
        let wrongColumns = "id,part,patient\n"
        let header = "# radprobe split v1 dataset=x method=systematic;validation=0.2;test=0.2 items=0 "
            + "sha256=\(SHA256.hex(Array(wrongColumns.utf8)))\n"
        assertDecodeFails(Data((header + wrongColumns).utf8), "line 2: expected the column line")
        XCTAssertThrowsError(try SplitFile.read(URL(fileURLWithPath: "/nonexistent/split.csv"))) {
            XCTAssertTrue("\($0)".hasPrefix("/nonexistent/split.csv: cannot be read"), "\($0)")
        }
    }

    func testSplitIsComparedWithCatalog() throws {
        let catalog = SyntheticCatalog.make(SyntheticCatalog.segmentation, patients: 6, seed: 1)
        let split = try DatasetSplit(catalog: catalog, method: .systematic(validation: 0.2, test: 0.2))
        XCTAssertTrue(split.compare(with: catalog).matches)
        XCTAssertNoThrow(try split.verify(against: catalog, file: "split.csv"))
        var changed = Array(catalog.items.dropFirst())
        changed.append(DatasetItem(id: "new.png", url: URL(fileURLWithPath: "/dataset/new.png"), patient: "P9999"))
        changed[0] = DatasetItem(id: changed[0].id, url: changed[0].url, patient: "P7777")
        let newer = DatasetCatalog(name: "synthetic", modality: .xray, labelSpace: catalog.labelSpace, items: changed)
        let comparison = split.compare(with: newer)
        XCTAssertEqual(comparison.missingFromCatalog, [catalog.items[0].id])
        XCTAssertEqual(comparison.missingFromSplit, ["new.png"])
        XCTAssertEqual(comparison.patientChanged, [catalog.items[1].id])
        XCTAssertThrowsError(try split.verify(against: newer, file: "split.csv")) {
            XCTAssertEqual("\($0)", "split.csv: does not match dataset synthetic: "
                + "1 ids of the split are not in the catalog (\(catalog.items[0].id)); "
                + "1 ids of the catalog are not in the split (new.png); "
                + "1 ids have a different patient in the catalog (\(catalog.items[1].id))")
        }
        XCTAssertThrowsError(try split.fewShot(from: newer, patientsPerClass: 1, draws: 1, seed: 1))
    }
}
