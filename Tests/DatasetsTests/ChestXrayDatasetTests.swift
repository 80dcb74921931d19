import Datasets
import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// Files of the tiny dataset replicas the adapter tests build.
enum ReplicaFiles {
    /// A 3×2 grey image.
    static let image = Image2D(width: 3, height: 2, channels: 1, pixels: [0, 40, 80, 120, 160, 200], bitDepth: 8)

    /// Writes a tiny PNG at `relative` under `root`, creating folders.
    @discardableResult
    static func png(_ relative: String, in root: URL) throws -> URL {
        let url = try prepare(relative, in: root)
        try PNGWriter.write(image, to: url)
        return url
    }

    /// Writes a tiny JPEG at `relative` under `root`, creating folders.
    @discardableResult
    static func jpeg(_ relative: String, in root: URL) throws -> URL {
        let url = try prepare(relative, in: root)
        try JPEGWriter.write(image, to: url)
        return url
    }

    /// Writes `lines` (joined with newlines) at `relative` under `root`, creating folders.
    @discardableResult
    static func text(_ lines: [String], _ relative: String, in root: URL) throws -> URL {
        let url = try prepare(relative, in: root)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url
    }

    private static func prepare(_ relative: String, in root: URL) throws -> URL {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        return url
    }
}

final class NIHChestXray14Tests: XCTestCase {
    private static let header = "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],"

    /// A replica of the NIH layout: archive folders and a plain `images/`, a multi-finding row, a
    /// `No Finding` row, an unknown finding, an image listed but absent, and a list entry the CSV lacks.
    private func makeReplica() throws -> URL {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        try ReplicaFiles.text([
            Self.header,
            "00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143,",
            "00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.143,0.143,",
            "00000002_000.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171,",
            "00000003_000.png,Hernia|Pleural_Thickening|Atelectasis,0,3,81,F,PA,2582,2991,0.143,0.143,",
            "00000004_000.png,Cardiomegally,0,4,82,M,AP,2500,2048,0.168,0.168,",
            "00000005_000.png,Mass,0,5,69,F,PA,2048,2500,0.168,0.168,",
        ], "Data_Entry_2017.csv", in: root)
        try ReplicaFiles.text(["00000001_000.png", "00000001_001.png", "00000002_000.png", "00000005_000.png", "00000009_000.png"],
                              "train_val_list.txt", in: root)
        try ReplicaFiles.text(["00000003_000.png", "", "00000004_000.png"], "test_list.txt", in: root)
        try ReplicaFiles.png("images_001/images/00000001_000.png", in: root)
        try ReplicaFiles.png("images_001/images/00000001_001.png", in: root)
        try ReplicaFiles.png("images_002/images/00000002_000.png", in: root)
        try ReplicaFiles.png("images/00000003_000.png", in: root)
        try ReplicaFiles.png("images/00000004_000.png", in: root)
        return root
    }

    private func vector(_ findings: [String]) -> [Float] {
        NIHChestXray14.findings.map { findings.contains($0) ? 1 : 0 }
    }

    func testReadsItemsLabelsPatientsAndOfficialParts() throws {
        let root = try makeReplica()
        let catalog = try NIHChestXray14().catalog(root: root)
        XCTAssertEqual(catalog.name, "nih-chestxray14")
        XCTAssertEqual(catalog.modality, .xray)
        XCTAssertEqual(catalog.labelSpace.names.count, 14)
        XCTAssertEqual(catalog.labelSpace, .multiLabel(findings: NIHChestXray14.findings))
        XCTAssertFalse(catalog.labelSpace.names.contains("No Finding"))
        XCTAssertEqual(catalog.items.map(\.id), ["00000001_000.png", "00000001_001.png", "00000002_000.png", "00000003_000.png"])
        XCTAssertEqual(catalog.items.map(\.labels), [
            vector(["Cardiomegaly"]), vector(["Cardiomegaly", "Emphysema"]), vector([]),
            vector(["Hernia", "Pleural_Thickening", "Atelectasis"]),
        ])
        XCTAssertEqual(catalog.items[3].labels[0], 1, "Atelectasis is finding 0")
        XCTAssertEqual(catalog.items[3].labels[13], 1, "Hernia is finding 13")
        XCTAssertEqual(catalog.items.map(\.patient), ["1", "1", "2", "3"])
        XCTAssertEqual(catalog.items.map(\.officialPart), [.train, .train, .train, .test])
        XCTAssertEqual(catalog.items.map { $0.url.path }, [
            "images_001/images/00000001_000.png", "images_001/images/00000001_001.png",
            "images_002/images/00000002_000.png", "images/00000003_000.png",
        ].map { root.appendingPathComponent($0).path })
        XCTAssertTrue(catalog.items.allSatisfy(\.masks.isEmpty))
    }

    func testReportsUnknownFindingMissingImageAndUnlistedEntry() throws {
        let root = try makeReplica()
        let problems = try NIHChestXray14().catalog(root: root).problems.map(\.description)
        XCTAssertEqual(problems.count, 3, "\(problems)")
        let csv = root.appendingPathComponent("Data_Entry_2017.csv").path
        XCTAssertTrue(problems.contains { $0.hasPrefix("\(csv): line 6: unknown finding \"Cardiomegally\"") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("00000005_000.png: is missing (listed in \(csv) line 7)") }, "\(problems)")
        let list = root.appendingPathComponent("train_val_list.txt").path
        XCTAssertTrue(problems.contains { $0.hasPrefix("\(list): line 5: image \"00000009_000.png\"") }, "\(problems)")
    }

    func testPrefersThe2020DataEntryTable() throws {
        let root = try makeReplica()
        try ReplicaFiles.text([Self.header, "00000001_000.png,Nodule,0,1,58,M,PA,2682,2749,0.143,0.143,"],
                              "Data_Entry_2017_v2020.csv", in: root)
        let catalog = try NIHChestXray14().catalog(root: root)
        XCTAssertEqual(catalog.items.map(\.id), ["00000001_000.png"])
        XCTAssertEqual(catalog.items[0].labels, vector(["Nodule"]))
    }

    func testMissingIndexFilesThrowNamingThem() throws {
        let root = try makeReplica()
        try FileManager.default.removeItem(at: root.appendingPathComponent("test_list.txt"))
        XCTAssertThrowsError(try NIHChestXray14().catalog(root: root)) {
            XCTAssertEqual(($0 as? ImagingError)?.file, root.appendingPathComponent("test_list.txt").path)
        }
        try FileManager.default.removeItem(at: root.appendingPathComponent("Data_Entry_2017.csv"))
        XCTAssertThrowsError(try NIHChestXray14().catalog(root: root)) {
            XCTAssertTrue("\($0)".contains("Data_Entry_2017.csv"), "\($0)")
        }
        let absent = root.appendingPathComponent("absent")
        XCTAssertThrowsError(try NIHChestXray14().catalog(root: absent)) {
            XCTAssertEqual("\($0)", "\(absent.path): does not exist")
        }
    }
}

final class CheXpertTests: XCTestCase {
    private static let columns = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", "No Finding", "Enlarged Cardiomediastinum",
                                  "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema", "Consolidation", "Pneumonia",
                                  "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices"]

    /// A row of CheXpert's CSV: `values` by column name, the rest blank.
    private static func row(_ path: String, _ view: String, _ values: [String: String]) -> String {
        columns.map { column in
            switch column {
            case "Path": path
            case "Frontal/Lateral": view
            case "Sex": "Female"
            case "Age": "68"
            default: values[column] ?? ""
            }
        }.joined(separator: ",")
    }

    /// A replica of CheXpert-v1.0-small in a folder of another name: train paths relative to the
    /// root's parent, valid paths relative to the root, a lateral view, uncertain labels, a missing image.
    private func makeReplica() throws -> URL {
        let root = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("chexpert-copy")
        let header = Self.columns.joined(separator: ",")
        try ReplicaFiles.text([
            header,
            Self.row("CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg", "Frontal",
                     ["No Finding": "1.0", "Pneumothorax": "0.0", "Support Devices": "1.0"]),
            Self.row("CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg", "Frontal",
                     ["Atelectasis": "-1.0", "Cardiomegaly": "1.0", "Edema": "0.0", "Pleural Effusion": "-1.0", "Pneumonia": "-1.0"]),
            Self.row("CheXpert-v1.0-small/train/patient00002/study2/view2_lateral.jpg", "Lateral",
                     ["Atelectasis": "-1.0", "Cardiomegaly": "1.0"]),
            Self.row("CheXpert-v1.0-small/train/patient00003/study1/view1_frontal.jpg", "Frontal", ["Edema": "1.0"]),
        ], "train.csv", in: root)
        try ReplicaFiles.text([
            header,
            Self.row("valid/patient64541/study1/view1_frontal.jpg", "Frontal", ["Edema": "1.0", "Consolidation": "1.0"]),
        ], "valid.csv", in: root)
        try ReplicaFiles.jpeg("train/patient00001/study1/view1_frontal.jpg", in: root)
        try ReplicaFiles.jpeg("train/patient00002/study2/view1_frontal.jpg", in: root)
        try ReplicaFiles.jpeg("train/patient00002/study2/view2_lateral.jpg", in: root)
        try ReplicaFiles.jpeg("valid/patient64541/study1/view1_frontal.jpg", in: root)
        return root
    }

    func testReadsFrontalViewsWithCompetitionLabels() throws {
        let root = try makeReplica()
        let catalog = try CheXpert().catalog(root: root)
        XCTAssertEqual(catalog.name, "chexpert")
        XCTAssertEqual(catalog.modality, .xray)
        XCTAssertEqual(catalog.labelSpace, .multiLabel(findings: ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion"]))
        XCTAssertEqual(catalog.items.map(\.id), [
            "train/patient00001/study1/view1_frontal.jpg", "train/patient00002/study2/view1_frontal.jpg",
            "valid/patient64541/study1/view1_frontal.jpg",
        ])
        XCTAssertEqual(catalog.items.map { $0.url.path }, catalog.items.map { root.appendingPathComponent($0.id).path })
        XCTAssertEqual(catalog.items.map(\.patient), ["patient00001", "patient00002", "patient64541"])
        XCTAssertEqual(catalog.items.map(\.officialPart), [.train, .train, .validation])
        XCTAssertEqual(catalog.items[0].labels, [0, 0, 0, 0, 0], "blank labels are 0")
        XCTAssertEqual(catalog.items[1].labels, [0, 1, 0, 0, 0], "uncertain labels are 0 by default")
        XCTAssertEqual(catalog.items[2].labels, [0, 0, 1, 1, 0])
        XCTAssertEqual(catalog.problems.count, 1, "\(catalog.problems)")
        let missing = root.appendingPathComponent("train/patient00003/study1/view1_frontal.jpg").path
        XCTAssertEqual(catalog.problems.first?.description,
                       "\(missing): is missing (listed in \(root.appendingPathComponent("train.csv").path) line 5)")
    }

    func testUncertainLabelPolicies() throws {
        let root = try makeReplica()
        func uncertainRow(_ policy: UncertainLabelPolicy) throws -> [Float] {
            try CheXpert(uncertainLabels: policy).catalog(root: root).items[1].labels
        }
        XCTAssertEqual(try uncertainRow(.zeros), [0, 1, 0, 0, 0])
        XCTAssertEqual(try uncertainRow(.ones), [1, 1, 0, 0, 1])
        let ignored = try uncertainRow(.ignore)
        XCTAssertTrue(ignored[0].isNaN && ignored[4].isNaN, "\(ignored)")
        XCTAssertEqual(Array(ignored[1...3]), [1, 0, 0])
        XCTAssertEqual(CheXpert().uncertainLabels, .zeros)
    }

    func testBadLabelIsAProblemAndMissingIndexThrows() throws {
        let root = try makeReplica()
        try ReplicaFiles.text([Self.columns.joined(separator: ","),
                               Self.row("valid/patient64541/study1/view1_frontal.jpg", "Frontal", ["Edema": "yes"])],
                              "valid.csv", in: root)
        let catalog = try CheXpert().catalog(root: root)
        XCTAssertEqual(catalog.items.count, 2)
        XCTAssertTrue(catalog.problems.contains {
            $0.description == "\(root.appendingPathComponent("valid.csv").path): line 2: label \"yes\" is not 1.0, 0.0, -1.0 or blank"
        }, "\(catalog.problems)")
        try FileManager.default.removeItem(at: root.appendingPathComponent("valid.csv"))
        XCTAssertThrowsError(try CheXpert().catalog(root: root)) {
            XCTAssertEqual(($0 as? ImagingError)?.file, root.appendingPathComponent("valid.csv").path)
        }
    }
}

final class MontgomeryCountyTests: XCTestCase {
    private func makeReplica() throws -> URL {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        for name in ["MCUCXR_0001_0.png", "MCUCXR_0002_1.png", "MCUCXR_0003_0.png"] {
            try ReplicaFiles.png("CXR_png/\(name)", in: root)
            try ReplicaFiles.png("ManualMask/leftMask/\(name)", in: root)
            if name != "MCUCXR_0003_0.png" { try ReplicaFiles.png("ManualMask/rightMask/\(name)", in: root) }
        }
        try ReplicaFiles.text(["hidden"], "CXR_png/.DS_Store", in: root)
        return root
    }

    func testReadsImagesWithLeftAndRightMasks() throws {
        let root = try makeReplica()
        let catalog = try MontgomeryCounty().catalog(root: root)
        XCTAssertEqual(catalog.name, "montgomery")
        XCTAssertEqual(catalog.modality, .xray)
        XCTAssertEqual(catalog.labelSpace, .segmentation(classes: ["background", "lung"]))
        XCTAssertEqual(catalog.items.map(\.id), ["MCUCXR_0001_0", "MCUCXR_0002_1"])
        XCTAssertEqual(catalog.items.map(\.patient), ["MCUCXR_0001_0", "MCUCXR_0002_1"])
        XCTAssertEqual(catalog.items.map(\.officialPart), [nil, nil])
        XCTAssertEqual(catalog.items[1].url.path, root.appendingPathComponent("CXR_png/MCUCXR_0002_1.png").path)
        XCTAssertEqual(catalog.items[1].masks.map(\.path), [
            root.appendingPathComponent("ManualMask/leftMask/MCUCXR_0002_1.png").path,
            root.appendingPathComponent("ManualMask/rightMask/MCUCXR_0002_1.png").path,
        ])
        XCTAssertTrue(catalog.items.allSatisfy(\.labels.isEmpty))
        XCTAssertEqual(catalog.problems.map(\.file), [root.appendingPathComponent("ManualMask/rightMask/MCUCXR_0003_0.png").path])
        XCTAssertTrue(catalog.problems[0].problem.hasPrefix("is missing"), catalog.problems[0].problem)
    }

    func testMissingMaskFolderThrows() throws {
        let root = try makeReplica()
        try FileManager.default.removeItem(at: root.appendingPathComponent("ManualMask/rightMask"))
        XCTAssertThrowsError(try MontgomeryCounty().catalog(root: root)) {
            XCTAssertEqual("\($0)", "\(root.appendingPathComponent("ManualMask/rightMask").path): does not exist")
        }
    }
}
