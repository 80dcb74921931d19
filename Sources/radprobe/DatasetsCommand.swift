import ArgumentParser
import Datasets
import Foundation
import MedicalImaging

/// `radprobe datasets`: the study's datasets read from their published layouts, their splits and checks.
struct DatasetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datasets",
        abstract: "List the datasets RadProbe reads, write patient-level splits, and check a dataset's files.",
        subcommands: [DatasetsList.self, DatasetsSplit.self, DatasetsVerify.self]
    )
}

/// Which dataset (by position or `--dataset`), where it lies, and the options that change how it is read.
struct DatasetOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The dataset: \(DatasetRegistry.names.joined(separator: ", ")).", valueName: "name"))
    var positionalName: String?

    @Option(name: .customLong("dataset"), help: ArgumentHelp("The dataset, instead of giving it by position.", valueName: "name"))
    var optionName: String?

    /// The dataset's name, however it was given (checked by `validate`).
    var name: String { positionalName ?? optionName ?? "" }

    @Option(help: "The dataset's folder, as published (for manifest: the CSV file or its folder).")
    var root: String

    @Option(help: "CheXpert's uncertain labels (-1): zeros, ones or ignore (NaN, left out of metrics).")
    var uncertain: UncertainLabelPolicy = .zeros

    @Option(help: "Modality of a manifest's images, deciding their clipping: ct, mri, xray, other.")
    var modality: PreprocessingPipeline.Modality = .other

    func validate() throws {
        switch (positionalName, optionName) {
        case (nil, nil): throw ValidationError("Name the dataset (by position or with --dataset): \(DatasetRegistry.names.joined(separator: ", ")).")
        case (.some(let given), .some(let option)) where given != option:
            throw ValidationError("The dataset is named twice, as \(given) and --dataset \(option); give it once.")
        default: break
        }
        if DatasetRegistry.adapter(named: name) == nil {
            throw ValidationError("Unknown dataset \(name); RadProbe reads \(DatasetRegistry.names.joined(separator: ", ")).")
        }
    }

    /// The dataset's catalog; problems in its layout are printed to standard error.
    func catalog() throws -> DatasetCatalog {
        guard let adapter = DatasetRegistry.adapter(named: name, uncertainLabels: uncertain, manifestModality: modality) else {
            throw CommandFailure("unknown dataset \(name)")
        }
        let catalog = try CommandFailure.wrap { try adapter.catalog(root: URL(fileURLWithPath: root)) }
        for problem in catalog.problems { FileHandle.standardError.write(Data("problem: \(problem)\n".utf8)) }
        return catalog
    }
}

extension UncertainLabelPolicy: ExpressibleByArgument {}

/// `radprobe datasets list`.
struct DatasetsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the datasets RadProbe reads.")

    func run() async throws {
        for adapter in DatasetRegistry.adapters() {
            let width = DatasetRegistry.names.map(\.count).max() ?? 0
            print(adapter.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + adapter.summary)
        }
    }
}

/// `radprobe datasets split NAME --root DIR --out split.csv`.
struct DatasetsSplit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Write a patient-level split of a dataset as a checksummed CSV (id,patient,part).",
        discussion: """
        official: the dataset's own parts (validation carved from train by patients when it has none); \
        systematic: the study's evenly spaced picks of patients (np.arange(0, N, N/n).round()), test then validation; \
        stratified: a seeded split of patients stratified by class. No patient is ever on two sides.
        """
    )

    /// How to split.
    enum Method: String, ExpressibleByArgument, CaseIterable {
        case official, systematic, stratified

        /// The split method with these settings (`seed` does not apply to systematic, `test` not to official).
        func splitMethod(seed: UInt64, validation: Double, test: Double) -> SplitMethod {
            switch self {
            case .official: .official(seed: seed, validation: validation)
            case .systematic: .systematic(validation: validation, test: test)
            case .stratified: .stratified(seed: seed, validation: validation, test: test)
            }
        }
    }

    @OptionGroup var dataset: DatasetOptions

    @Option(help: "The split file to write.")
    var out: String

    @Option(help: "official, systematic or stratified.")
    var method: Method = .official

    @Option(help: "Seed of the stratified split (and of the validation carved from an official train part).")
    var seed: UInt64 = 0

    @Option(help: "Fraction of patients for validation.")
    var validation: Double = 0.1

    @Option(help: "Fraction of patients for test (systematic and stratified).")
    var test: Double = 0.2

    func validate() throws {
        let used = method == .official ? validation : validation + test
        guard (0..<1).contains(validation), method == .official || (0..<1).contains(test), used < 1 else {
            throw ValidationError(method == .official ? "--validation must be a fraction in [0, 1)."
                                                      : "--validation and --test must be fractions in [0, 1) with a sum below 1.")
        }
    }

    func run() async throws {
        let catalog = try dataset.catalog()
        let splitMethod = method.splitMethod(seed: seed, validation: validation, test: test)
        let split = try CommandFailure.wrap { try DatasetSplit(catalog: catalog, method: splitMethod) }
        try CommandFailure.wrap { try SplitFile.write(split, to: URL(fileURLWithPath: out)) }
        print("wrote \(out): \(catalog.name), \(splitMethod.record)")
        if method == .official, catalog.items.contains(where: { $0.officialPart == .validation }) {
            print("the dataset's own validation part is used as published (--validation and --seed did not apply)")
        }
        for part in SplitPart.allCases {
            print("\(part.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))\(split.ids(in: part).count) items, \(split.patients(in: part).count) patients")
        }
        if !catalog.problems.isEmpty { print("\(catalog.problems.count) entries of the layout could not be used (listed above)") }
    }
}

/// `radprobe datasets verify NAME --root DIR`: every file read, every problem reported.
struct DatasetsVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Read every image and mask of a dataset; report missing, unreadable and duplicate files without stopping at the first.",
        discussion: "Exits with 1 when anything is wrong. Duplicates are two entries naming one file, or two files with the same bytes."
    )

    @OptionGroup var dataset: DatasetOptions

    func run() async throws {
        let catalog = try dataset.catalog()
        var unreadable: [String] = [], duplicates: [String] = []
        var firstByPath: [String: String] = [:], firstByDigest: [String: (path: String, id: String)] = [:]
        let files = catalog.items.flatMap { item in (item.imageFiles + item.masks).map { (item.id, $0) } }
        let progress = ProgressReporter(total: files.count, unit: "files")
        for (id, url) in files {
            defer { progress.advance(by: 1) }
            if let earlier = firstByPath[url.path] {
                // The same file twice for one item (e.g. a .mat holding both image and mask) is read once.
                if earlier != id { duplicates.append("\(url.path): listed for both \(earlier) and \(id)") }
                continue
            }
            firstByPath[url.path] = id
            do {
                _ = try MedicalImageFile.read(contentsOf: url)
                if let digest = Self.digest(url) {
                    // Identical bytes within one item (blank slices of one scan) are not duplicates.
                    if let earlier = firstByDigest[digest], earlier.id != id {
                        duplicates.append("\(url.path): the same bytes as \(earlier.path)")
                    } else if firstByDigest[digest] == nil {
                        firstByDigest[digest] = (url.path, id)
                    }
                }
            } catch {
                unreadable.append(String(describing: error))
            }
        }
        progress.finish()
        for line in unreadable { print("unreadable: \(line)") }
        for line in duplicates { print("duplicate: \(line)") }
        print("\(catalog.name): \(catalog.items.count) items, \(files.count) files; \(catalog.problems.count) missing or unusable "
            + "entries, \(unreadable.count) unreadable, \(duplicates.count) duplicate")
        if !(catalog.problems.isEmpty && unreadable.isEmpty && duplicates.isEmpty) { throw ExitCode(1) }
    }

    /// SHA-256 of a file's bytes (nil for a folder, such as a DICOM series).
    static func digest(_ url: URL) -> String? {
        guard let data = try? FileBytes.read(contentsOf: url) else { return nil }
        return SHA256.hex([UInt8](data))
    }
}
