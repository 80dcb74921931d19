import ArgumentParser
import Checkpoints
import Foundation
import MedicalImaging
import Metrics

/// `radprobe metrics`: scores of predictions saved as files (AUROC of classification scores, segmentation overlap).
struct MetricsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Score predictions saved as files against the truth.",
        subcommands: [MetricsAUROC.self, MetricsCompare.self, MetricsSegmentation.self]
    )
}

/// `radprobe metrics seg --pred P --truth T`: per-class Dice, Jaccard and HD95 of one case, as JSON.
struct MetricsSegmentation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seg",
        abstract: "Per-class Dice, Jaccard and HD95 (mm) of a predicted label map against the truth.",
        discussion: """
        Both maps are NIfTI (.nii, .nii.gz) or both NumPy .npy arrays of whole-number labels, 0 the \
        background; one file is one case (a 2D image or a 3D volume). NIfTI maps must share their size \
        and affine (within 1e-3); a NIfTI file of one slice is scored as a 2D image. Dice and Jaccard are \
        null for a class absent from both maps; HD95 (MONAI's definition: the larger of the two directed \
        95th percentiles of surface-to-surface distances) is null when either map lacks the class. The \
        means average the foreground classes 1...K-1 whose value is defined. Prints JSON with sorted keys.
        """
    )

    @Option(name: .customLong("pred"), help: ArgumentHelp("The predicted label map (.nii, .nii.gz or .npy).", valueName: "file"))
    var prediction: String

    @Option(help: ArgumentHelp("The true label map, in the same format.", valueName: "file"))
    var truth: String

    @Option(help: ArgumentHelp("Number of classes K, background included (default: the largest label in either map + 1).",
                               valueName: "K"))
    var classes: Int?

    @Option(help: ArgumentHelp("Voxel size in mm, e.g. 0.8,0.8,2.5: along i, j, k for NIfTI (default: the truth's header), "
                                   + "along the array's axes for .npy (default: 1).", valueName: "sx,sy[,sz]"))
    var spacing: String?

    func validate() throws {
        if let classes, classes < 1 { throw ValidationError("--classes must be at least 1 (got \(classes)).") }
        _ = try parsedSpacing()
    }

    /// The `--spacing` values, each a positive finite number.
    func parsedSpacing() throws -> [Double]? {
        guard let spacing else { return nil }
        let values = spacing.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard (2...3).contains(values.count), values.allSatisfy({ $0 != nil && $0! > 0 && $0!.isFinite }) else {
            throw ValidationError("--spacing takes two or three positive sizes in mm separated by commas, e.g. 0.8,0.8,2.5 (got \(spacing)).")
        }
        return values.map { $0! }
    }

    func run() async throws {
        let predictionMap = try SegmentationMapFile.read(path: prediction)
        let truthMap = try SegmentationMapFile.read(path: truth)
        try CommandFailure.wrap { try predictionMap.requireSameGrid(as: truthMap) }
        let spacing = try CommandFailure.wrap { try parsedSpacing().map(truthMap.spacing(fromOption:)) ?? truthMap.spacing }
        let scores = try CommandFailure.wrap {
            try SegmentationMetrics.evaluate(prediction: predictionMap.labels, truth: truthMap.labels, spacing: spacing, classCount: classes)
        }
        for item in scores.classes {
            guard let missing = item.missingMask else { continue }
            FileHandle.standardError.write(Data("note: class \(item.label) is \(missing.rawValue): hd95_mm is null\(missing == .both ? ", and so are dice and jaccard" : "")\n".utf8))
        }
        print(try Self.json(scores))
    }

    /// `{"mean_dice", "mean_jaccard", "per_class": {"<label>": {"dice", "hd95_mm", "jaccard"}}}`, keys sorted, null where undefined.
    static func json(_ scores: SegmentationScores) throws -> String {
        func value(_ number: Double?) -> Any { number ?? NSNull() }
        var perClass: [String: Any] = [:]
        for item in scores.classes {
            perClass[String(item.label)] = ["dice": value(item.dice), "jaccard": value(item.jaccard), "hd95_mm": value(item.hausdorff)]
        }
        let record: [String: Any] = ["per_class": perClass, "mean_dice": value(scores.meanDice), "mean_jaccard": value(scores.meanJaccard)]
        let data = try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// A label map read from a NIfTI or `.npy` file, with the geometry needed to check it against another.
struct SegmentationMapFile {
    enum Format: Equatable { case nifti, numpy }

    let path: String
    let format: Format
    /// Labels in C order: `[nz, ny, nx]` (`[ny, nx]` for one slice) for NIfTI, the array's own shape for `.npy`.
    let labels: LabelMap
    /// Voxel size along the axes of `labels.shape`: the header's for NIfTI, 1 for `.npy`.
    let spacing: [Double]
    /// NIfTI: voxel (i, j, k) → world mm; nil for `.npy`.
    let affine: MedicalImaging.AffineTransform?
    /// The size as the file states it (NIfTI: i × j × k; `.npy`: its shape), for messages.
    let describedSize: String

    /// Reads a `.npy` file (by its name) or a NIfTI file (by its signature); errors name the file.
    static func read(path: String) throws -> SegmentationMapFile {
        try CommandFailure.wrap {
            let url = URL(fileURLWithPath: path)
            if url.pathExtension.lowercased() == "npy" { return try readNumPy(url) }
            let format = try ImageFormat.detect(url)
            guard format == .nifti else {
                throw FileError(file: path, problem: "is a \(format.rawValue) file; metrics seg reads label maps from NIfTI (.nii, .nii.gz) and NumPy .npy files")
            }
            return try readNIfTI(url)
        }
    }

    private static func readNumPy(_ url: URL) throws -> SegmentationMapFile {
        let array = try NumPyArray.read(contentsOf: url)
        guard (2...3).contains(array.shape.count) else {
            throw FileError(file: url.path, problem: "holds an array of shape \(array.shape); a label map is 2D or 3D")
        }
        let labels = try labelMap(shape: array.shape, values: array.scalars, file: url.path, reversedCoordinates: false)
        return SegmentationMapFile(path: url.path, format: .numpy, labels: labels, spacing: Array(repeating: 1, count: array.shape.count),
                                   affine: nil, describedSize: array.shape.map(String.init).joined(separator: " × "))
    }

    private static func readNIfTI(_ url: URL) throws -> SegmentationMapFile {
        let volume = try NIfTIReader.read(contentsOf: url)
        guard volume.frames == 1 else {
            throw FileError(file: url.path, problem: "holds \(volume.frames) frames; a label map has one")
        }
        let (nx, ny, nz) = (volume.size[0], volume.size[1], volume.size[2])
        let shape = nz == 1 ? [ny, nx] : [nz, ny, nx]
        let spacing = nz == 1 ? [volume.spacing[1], volume.spacing[0]] : volume.spacing.reversed()
        let labels = try labelMap(shape: shape, values: volume.voxels, file: url.path, reversedCoordinates: true)
        return SegmentationMapFile(path: url.path, format: .nifti, labels: labels, spacing: spacing, affine: volume.affine,
                                   describedSize: "\(nx) × \(ny) × \(nz) (i × j × k)")
    }

    /// The label map, with a bad label's voxel named in the file's own axis order (i, j, k for NIfTI).
    private static func labelMap(shape: [Int], values: [Float], file: String, reversedCoordinates: Bool) throws -> LabelMap {
        do { return try LabelMap(shape: shape, values: values) } catch let error as SegmentationMetricsError {
            throw FileError(file: file, problem: (reversedCoordinates ? error.withCoordinatesReversed : error).description)
        }
    }

    /// Throws unless `other` has the same format, shape and (NIfTI) affine and spacing within 1e-3.
    func requireSameGrid(as other: SegmentationMapFile) throws {
        guard format == other.format else {
            throw CommandFailure("--pred \(path) and --truth \(other.path) must both be NIfTI or both .npy files")
        }
        guard labels.shape == other.labels.shape else {
            throw CommandFailure("--pred \(path) has size \(describedSize) but --truth \(other.path) has size \(other.describedSize); "
                                     + "the label maps must have the same shape")
        }
        if let affine, let otherAffine = other.affine {
            let difference = zip(affine.matrix, otherAffine.matrix).map { abs($0 - $1) }.max()!
            guard difference <= 1e-3 else {
                throw CommandFailure("--pred \(path) and --truth \(other.path) have affines that differ by up to \(difference) "
                                         + "(more than 1e-3): the label maps do not lie over the same voxels")
            }
            let spacingDifference = zip(spacing, other.spacing).map { abs($0 - $1) }.max()!
            guard spacingDifference <= 1e-3 else {
                throw CommandFailure("--pred \(path) has voxel size \(spacing.reversed()) mm but --truth \(other.path) has "
                                         + "\(other.spacing.reversed()) mm (i, j, k)")
            }
        }
    }

    /// `--spacing` values (i, j, k order for NIfTI, axis order for `.npy`) along the axes of `labels.shape`.
    func spacing(fromOption values: [Double]) throws -> [Double] {
        let axes = labels.shape.count
        switch format {
        case .numpy:
            guard values.count == axes else {
                throw CommandFailure("--spacing gives \(values.count) sizes but \(path) has \(axes) axes")
            }
            return values
        case .nifti:
            // A one-slice NIfTI map (scored in 2D) may be given i, j or i, j, k sizes.
            guard values.count == 3 || (axes == 2 && values.count == 2) else {
                throw CommandFailure("--spacing gives \(values.count) sizes but \(path) needs three (i, j, k)")
            }
            return Array(values.prefix(axes).reversed())
        }
    }
}

extension SegmentationMetricsError {
    /// The same error with any voxel coordinates in the reverse axis order (a NIfTI map is held as
    /// `[k, j, i]`; its users count voxels as `(i, j, k)`).
    var withCoordinatesReversed: SegmentationMetricsError {
        switch self {
        case let .nonIntegerLabel(coordinates, value): .nonIntegerLabel(coordinates: coordinates.reversed(), value: value)
        case let .labelOutOfRange(coordinates, value): .labelOutOfRange(coordinates: coordinates.reversed(), value: value)
        default: self
        }
    }
}
