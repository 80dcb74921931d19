import Foundation
import MedicalImaging

/// Reads a Medical Segmentation Decathlon task (Spleen, Hippocampus, Heart, …) or AMOS 2022, which
/// share the Decathlon layout: a root folder holding `dataset.json` and the NIfTI volumes it lists.
///
/// `dataset.json` keys read:
/// - `"labels"`: the label values of the label maps and their names, either `{"0": "background",
///   "1": "spleen"}` (Decathlon, AMOS) or `{"background": 0, "spleen": 1}` (nnU-Net v2); the values must
///   be 0…n−1 with 0 the background, and give the segmentation classes in value order.
/// - `"modality"` (or nnU-Net v2's `"channel_names"`): `{"0": "CT"}`, `{"0": "MRI"}`, …; every channel
///   must name the same modality: `CT` → `.ct` (the HU window, Spleen included), `MR`/`MRI` and MR
///   sequence names (`T1`, `T1w`, `T1gd`, `T2`, `T2w`, `FLAIR`, `ADC`, `DWI`) → `.mri`, others `.other`.
/// - `"training"` (official part `.train`) and `"validation"` (`.validation`, AMOS): lists of
///   `{"image": "./imagesTr/spleen_10.nii.gz", "label": "./labelsTr/spleen_10.nii.gz"}`, paths relative
///   to the root.
/// - `"test"` is not read: the test cases have no label maps, so they are left out of the catalog.
///
/// Items: one per case, id and patient the case id (the image's file name without `.nii.gz` or
/// `.nii`; each case is one patient's scan), `url` the image, `masks` its label map, no `labels`,
/// sorted by id. A listed image or label map that does not exist, an entry without both paths, and a
/// case id listed twice are reported in `problems` (naming the file, `dataset.json` and the entry) and
/// the case is left out. A missing root or `dataset.json`, or a `dataset.json` that is not JSON or lacks
/// `labels`, `modality` or `training`, throws an `ImagingError` naming it.
///
/// AMOS mixes CT cases (case numbers below 500, e.g. `amos_0001`) and MRI cases (500 and above, e.g.
/// `amos_0507`) under one `dataset.json` that declares `{"0": "CT"}`; a catalog has one modality, so
/// `amosCT` keeps the CT cases and `amosMRI` the MRI cases (`amosModality(caseID:)` gives the rule);
/// the cases of the other modality are left out without a problem.
public struct DecathlonDataset: DatasetAdapter {
    /// Which cases of a Decathlon-layout dataset an adapter keeps and which modality they have.
    public enum CaseSelection: Equatable, Sendable {
        /// Every case, with the modality `dataset.json` declares; `expected`, when given, must match it
        /// (a guard against pointing a task's adapter at another task's folder).
        case all(expected: PreprocessingPipeline.Modality?)
        /// AMOS cases of one modality, told apart by case number (`amosModality(caseID:)`).
        case amos(PreprocessingPipeline.Modality)
    }

    public let name: String
    public let summary: String
    /// The cases kept and their modality.
    public let selection: CaseSelection

    /// An adapter for a Decathlon-layout dataset.
    public init(name: String, summary: String, selection: CaseSelection = .all(expected: nil)) {
        self.name = name
        self.summary = summary
        self.selection = selection
    }

    /// MSD Task09 Spleen: CT, classes background and spleen.
    public static let spleen = DecathlonDataset(
        name: "msd-spleen", summary: "Medical Segmentation Decathlon Task09 Spleen: CT volumes with spleen label maps",
        selection: .all(expected: .ct))
    /// MSD Task04 Hippocampus: MRI, classes background, anterior and posterior.
    public static let hippocampus = DecathlonDataset(
        name: "msd-hippocampus", summary: "Medical Segmentation Decathlon Task04 Hippocampus: MRI volumes with hippocampus label maps",
        selection: .all(expected: .mri))
    /// MSD Task02 Heart: MRI, classes background and left atrium.
    public static let heart = DecathlonDataset(
        name: "msd-heart", summary: "Medical Segmentation Decathlon Task02 Heart: MRI volumes with left-atrium label maps",
        selection: .all(expected: .mri))
    /// AMOS 2022, CT cases (numbers below 500): 15 abdominal organs.
    public static let amosCT = DecathlonDataset(
        name: "amos", summary: "AMOS 2022 abdominal multi-organ segmentation, CT cases (training and validation)",
        selection: .amos(.ct))
    /// AMOS 2022, MRI cases (numbers 500 and above): 15 abdominal organs.
    public static let amosMRI = DecathlonDataset(
        name: "amos-mri", summary: "AMOS 2022 abdominal multi-organ segmentation, MRI cases (training and validation)",
        selection: .amos(.mri))

    /// The modality of an AMOS case from the number ending its id: below 500 CT, 500 and above MRI;
    /// nil when the id does not end in a number.
    public static func amosModality(caseID: String) -> PreprocessingPipeline.Modality? {
        let digits = caseID.reversed().prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = Int(String(digits.reversed())) else { return nil }
        return number < 500 ? .ct : .mri
    }

    public func catalog(root: URL) throws -> DatasetCatalog {
        try LayoutFiles.requireFolder(root)
        let index = try DecathlonIndex.read(root.appendingPathComponent("dataset.json"))
        let modality: PreprocessingPipeline.Modality
        switch selection {
        case .all(let expected):
            if let expected, expected != index.modality {
                throw ImagingError(file: index.file.path, problem: "declares the modality \(index.modalityNames), "
                    + "but \(name) is a \(expected.rawValue.uppercased()) dataset: is this the right folder?")
            }
            modality = index.modality
        case .amos(let kept):
            modality = kept
        }
        var problems = index.problems
        var items: [String: DatasetItem] = [:]
        for entry in index.entries {
            guard !entry.caseID.isEmpty else {
                problems.append(entry.error("has an image path without a file name, so it has no case id; left out"))
                continue
            }
            if case .amos(let kept) = selection {
                guard let caseModality = Self.amosModality(caseID: entry.caseID) else {
                    problems.append(entry.error("has a case id \"\(entry.caseID)\" without a number, so it is neither CT nor MRI"))
                    continue
                }
                guard caseModality == kept else { continue }
            }
            let missing = [entry.image, entry.label].filter { !LayoutFiles.isFile($0) }
            guard missing.isEmpty else {
                problems += missing.map {
                    ImagingError(file: $0.path, problem: "is listed in \(index.file.path) (\(entry.place)) but does not exist")
                }
                continue
            }
            guard items[entry.caseID] == nil else {
                problems.append(entry.error("repeats the case id \"\(entry.caseID)\" listed earlier; left out"))
                continue
            }
            items[entry.caseID] = DatasetItem(id: entry.caseID, url: entry.image, patient: entry.caseID,
                                              officialPart: entry.part, masks: [entry.label])
        }
        return DatasetCatalog(name: name, modality: modality, labelSpace: .segmentation(classes: index.classes),
                              items: items.values.sorted { $0.id.precedesByBytes($1.id) }, problems: problems, holdsVolumes: true)
    }
}

/// The parts of a Decathlon `dataset.json` that `DecathlonDataset` uses (see its layout).
struct DecathlonIndex {
    /// One case listed under `training` or `validation`.
    struct Entry {
        let caseID: String
        let image: URL
        let label: URL
        let part: SplitPart
        /// Where the entry is, e.g. `training entry 3` (counting from 0).
        let place: String
        let file: URL

        func error(_ problem: String) -> ImagingError { ImagingError(file: file.path, problem: "\(place) \(problem)") }
    }

    let file: URL
    let classes: [String]
    let modality: PreprocessingPipeline.Modality
    /// The modality names as declared, e.g. `CT` or `T2, ADC`.
    let modalityNames: String
    let entries: [Entry]
    /// Malformed entries, each naming the file and the entry.
    let problems: [ImagingError]

    /// Reads `file`; throws when it is missing, not a JSON object, or lacks `labels`, `modality` or `training`.
    static func read(_ file: URL) throws -> DecathlonIndex {
        let root = file.deletingLastPathComponent()
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: try FileBytes.read(contentsOf: file))
        } catch let error as ImagingError {
            throw error
        } catch {
            throw ImagingError(file: file.path, problem: "is not valid JSON (\(error.localizedDescription))")
        }
        func fail(_ problem: String) -> ImagingError { ImagingError(file: file.path, problem: problem) }
        guard let json = object as? [String: Any] else { throw fail("is not a JSON object") }
        guard let labels = json["labels"] as? [String: Any] else { throw fail("has no \"labels\" object") }
        let classes = try segmentationClasses(labels, fail: fail)
        let channels = (json["modality"] ?? json["channel_names"]) as? [String: Any] ?? [:]
        let names = channels.sorted { $0.key < $1.key }.compactMap { $0.value as? String }
        guard !names.isEmpty, names.count == channels.count else {
            throw fail("has no \"modality\" object of channel names, e.g. {\"0\": \"CT\"}")
        }
        let modalities = Set(names.map(modality(ofChannel:)))
        guard modalities.count == 1, let modality = modalities.first else {
            throw fail("declares channels of different modalities (\(names.joined(separator: ", ")))")
        }
        guard json["training"] != nil else { throw fail("has no \"training\" list") }
        var entries: [Entry] = [], problems: [ImagingError] = []
        for (key, part) in [("training", SplitPart.train), ("validation", .validation)] {
            guard let value = json[key] else { continue }
            guard let list = value as? [Any] else { throw fail("has a \"\(key)\" that is not a list") }
            for (position, element) in list.enumerated() {
                let place = "\(key) entry \(position)"
                guard let pair = element as? [String: Any], let image = pair["image"] as? String,
                      let label = pair["label"] as? String else {
                    problems.append(fail("\(place) is not an object with \"image\" and \"label\" paths; left out"))
                    continue
                }
                let imageURL = resolve(image, in: root)
                entries.append(Entry(caseID: caseID(of: imageURL), image: imageURL, label: resolve(label, in: root),
                                     part: part, place: place, file: file))
            }
        }
        return DecathlonIndex(file: file, classes: classes, modality: modality, modalityNames: names.joined(separator: ", "),
                              entries: entries, problems: problems)
    }

    /// The class names in label-value order from `{"0": "background", …}` or `{"background": 0, …}`.
    static func segmentationClasses(_ labels: [String: Any], fail: (String) -> ImagingError) throws -> [String] {
        var named: [Int: String] = [:]
        for (key, value) in labels {
            let pair: (Int, String)?
            if let index = Int(key), let name = value as? String {
                pair = (index, name)
            } else if let index = value as? Int {
                pair = (index, key)
            } else {
                pair = (value as? String).flatMap(Int.init).map { ($0, key) }
            }
            guard let (index, name) = pair else {
                throw fail("has a label entry \"\(key)\" that pairs no whole-number value with a name")
            }
            guard named.updateValue(name, forKey: index) == nil else { throw fail("names the label value \(index) twice") }
        }
        let classes = (0..<named.count).compactMap { named[$0] }
        guard classes.count == named.count, classes.count >= 2 else {
            throw fail("has label values \(named.keys.sorted()); they must be 0 (the background) to n−1, with at least one class")
        }
        return classes
    }

    /// The modality of one `dataset.json` channel name.
    static func modality(ofChannel name: String) -> PreprocessingPipeline.Modality {
        let magneticResonance: Set = ["MRI", "T1", "T1W", "T1GD", "T2", "T2W", "FLAIR", "ADC", "DWI"]
        let key = name.trimmingCharacters(in: .whitespaces).uppercased()
        return magneticResonance.contains(key) ? .mri : PreprocessingPipeline.Modality(dicomModality: key)
    }

    /// `path` (e.g. `./imagesTr/x.nii.gz`) as a file URL under `root`.
    static func resolve(_ path: String, in root: URL) -> URL {
        URL(fileURLWithPath: path, relativeTo: root.appendingPathComponent("", isDirectory: true)).standardizedFileURL
    }

    /// The case id of an image: its file name without `.nii.gz` or `.nii`.
    static func caseID(of image: URL) -> String {
        let name = image.lastPathComponent
        for suffix in [".nii.gz", ".nii"] where name.lowercased().hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name
    }
}
