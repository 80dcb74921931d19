import Datasets
import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// The Decathlon/AMOS, SARS-CoV-2 CT and figshare brain-tumour adapters on tiny replicas of their
/// published layouts.
final class VolumeDatasetTests: XCTestCase {
    // MARK: Medical Segmentation Decathlon and AMOS

    func testSpleenListsTrainingCasesWithLabelMapsAsCTAndLeavesOutTestCases() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let written = try writeCase(root, image: "imagesTr/spleen_2.nii.gz", label: "labelsTr/spleen_2.nii.gz")
        try writeCase(root, image: "imagesTr/spleen_10.nii.gz", label: "labelsTr/spleen_10.nii.gz")
        try writeCase(root, image: "imagesTs/spleen_1.nii.gz", label: nil)
        try writeIndex(root, """
            {"name": "Spleen", "tensorImageSize": "3D", "modality": {"0": "CT"},
             "labels": {"0": "background", "1": "spleen"}, "numTraining": 2, "numTest": 1,
             "training": [{"image": "./imagesTr/spleen_2.nii.gz", "label": "./labelsTr/spleen_2.nii.gz"},
                          {"image": "./imagesTr/spleen_10.nii.gz", "label": "./labelsTr/spleen_10.nii.gz"}],
             "test": ["./imagesTs/spleen_1.nii.gz"]}
            """)

        let catalog = try DecathlonDataset.spleen.catalog(root: root)

        XCTAssertEqual(catalog.name, "msd-spleen")
        XCTAssertEqual(catalog.modality, .ct)
        XCTAssertTrue(catalog.holdsVolumes)
        XCTAssertEqual(catalog.labelSpace, .segmentation(classes: ["background", "spleen"]))
        XCTAssertEqual(catalog.problems, [])
        XCTAssertEqual(catalog.items.map(\.id), ["spleen_10", "spleen_2"])
        XCTAssertEqual(catalog.items.map(\.patient), ["spleen_10", "spleen_2"])
        XCTAssertEqual(catalog.items.map(\.officialPart), [.train, .train])
        XCTAssertEqual(catalog.items.map(\.labels), [[], []])
        XCTAssertEqual(paths(catalog.items.map(\.url)), paths([root.appendingPathComponent("imagesTr/spleen_10.nii.gz"),
                                                              root.appendingPathComponent("imagesTr/spleen_2.nii.gz")]))
        XCTAssertEqual(catalog.items.map { paths($0.masks) }, [[root.appendingPathComponent("labelsTr/spleen_10.nii.gz").path],
                                                              [root.appendingPathComponent("labelsTr/spleen_2.nii.gz").path]])
        let item = try XCTUnwrap(catalog.items.last)
        XCTAssertEqual(try NIfTIReader.read(contentsOf: item.url).voxels, written.image.voxels)
        XCTAssertEqual(try NIfTIReader.read(contentsOf: item.masks[0]).voxels, written.labels.voxels)
    }

    func testHippocampusIsMRIWithClassesInLabelValueOrder() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        try writeCase(root, image: "imagesTr/hippocampus_367.nii.gz", label: "labelsTr/hippocampus_367.nii.gz", largestLabel: 2)
        try writeIndex(root, """
            {"name": "Hippocampus", "modality": {"0": "MRI"},
             "labels": {"2": "Posterior", "0": "background", "1": "Anterior"},
             "training": [{"image": "./imagesTr/hippocampus_367.nii.gz", "label": "./labelsTr/hippocampus_367.nii.gz"}],
             "test": []}
            """)

        let catalog = try DecathlonDataset.hippocampus.catalog(root: root)

        XCTAssertEqual(catalog.modality, .mri)
        XCTAssertEqual(catalog.labelSpace, .segmentation(classes: ["background", "Anterior", "Posterior"]))
        XCTAssertEqual(catalog.items.map(\.id), ["hippocampus_367"])
        XCTAssertEqual(catalog.problems, [])
    }

    func testAMOSKeepsOneModalityByCaseNumberWithTheValidationPart() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        for (folder, number) in [("Tr", "0001"), ("Tr", "0507"), ("Va", "0008"), ("Va", "0540")] {
            try writeCase(root, image: "images\(folder)/amos_\(number).nii.gz", label: "labels\(folder)/amos_\(number).nii.gz",
                          largestLabel: 3)
        }
        try writeCase(root, image: "imagesTs/amos_0002.nii.gz", label: nil)
        try writeIndex(root, """
            {"name": "AMOS", "modality": {"0": "CT"},
             "labels": {"0": "background", "1": "spleen", "2": "right kidney", "3": "left kidney"},
             "numTraining": 2, "numValidation": 2, "numTest": 1,
             "training": [{"image": "./imagesTr/amos_0507.nii.gz", "label": "./labelsTr/amos_0507.nii.gz"},
                          {"image": "./imagesTr/amos_0001.nii.gz", "label": "./labelsTr/amos_0001.nii.gz"}],
             "validation": [{"image": "./imagesVa/amos_0540.nii.gz", "label": "./labelsVa/amos_0540.nii.gz"},
                            {"image": "./imagesVa/amos_0008.nii.gz", "label": "./labelsVa/amos_0008.nii.gz"}],
             "test": [{"image": "./imagesTs/amos_0002.nii.gz"}]}
            """)

        let ct = try DecathlonDataset.amosCT.catalog(root: root)
        let mri = try DecathlonDataset.amosMRI.catalog(root: root)

        XCTAssertEqual(ct.name, "amos")
        XCTAssertEqual(ct.modality, .ct)
        XCTAssertEqual(ct.items.map(\.id), ["amos_0001", "amos_0008"])
        XCTAssertEqual(ct.items.map(\.officialPart), [.train, .validation])
        XCTAssertEqual(paths(ct.items[1].masks), [root.appendingPathComponent("labelsVa/amos_0008.nii.gz").path])
        XCTAssertEqual(mri.modality, .mri)
        XCTAssertEqual(mri.items.map(\.id), ["amos_0507", "amos_0540"])
        XCTAssertEqual(mri.items.map(\.officialPart), [.train, .validation])
        XCTAssertEqual(ct.labelSpace, .segmentation(classes: ["background", "spleen", "right kidney", "left kidney"]))
        XCTAssertEqual(ct.problems + mri.problems, [])
    }

    func testAMOSModalityRuleSplitsAtCase500() {
        XCTAssertEqual(DecathlonDataset.amosModality(caseID: "amos_0499"), .ct)
        XCTAssertEqual(DecathlonDataset.amosModality(caseID: "amos_0500"), .mri)
        XCTAssertNil(DecathlonDataset.amosModality(caseID: "amos"))
    }

    func testMissingFilesAndMalformedEntriesAreProblemsAndTheirCasesLeftOut() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        try writeCase(root, image: "imagesTr/spleen_2.nii.gz", label: "labelsTr/spleen_2.nii.gz")
        try writeCase(root, image: "imagesTr/spleen_3.nii.gz", label: nil)
        try writeIndex(root, """
            {"modality": {"0": "CT"}, "labels": {"0": "background", "1": "spleen"},
             "training": [{"image": "./imagesTr/spleen_2.nii.gz", "label": "./labelsTr/spleen_2.nii.gz"},
                          {"image": "./imagesTr/spleen_3.nii.gz", "label": "./labelsTr/spleen_3.nii.gz"},
                          {"image": "./imagesTr/spleen_4.nii.gz"},
                          {"image": "./imagesTr/spleen_2.nii.gz", "label": "./labelsTr/spleen_2.nii.gz"}]}
            """)

        let catalog = try DecathlonDataset.spleen.catalog(root: root)

        XCTAssertEqual(catalog.items.map(\.id), ["spleen_2"])
        let index = root.appendingPathComponent("dataset.json").path
        XCTAssertEqual(catalog.problems.map(\.file), [index, root.appendingPathComponent("labelsTr/spleen_3.nii.gz").path, index])
        XCTAssertTrue(catalog.problems[0].problem.contains("training entry 2"), catalog.problems[0].problem)
        XCTAssertTrue(catalog.problems[1].problem.contains("\(index) (training entry 1)"), catalog.problems[1].problem)
        XCTAssertTrue(catalog.problems[2].problem.contains("training entry 3 repeats"), catalog.problems[2].problem)
    }

    func testMalformedOrMissingDatasetJSONThrowsNamingIt() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let index = root.appendingPathComponent("dataset.json").path
        assertThrows(try DecathlonDataset.spleen.catalog(root: root), file: index)
        let malformed = [
            #"{"modality": {"0": "CT"}, "labels": {"0": "background", "1": "#,
            #"["training"]"#,
            #"{"modality": {"0": "CT"}, "training": []}"#,
            #"{"modality": {"0": "CT"}, "labels": {"0": "background", "2": "spleen"}, "training": []}"#,
            #"{"modality": {"0": "CT"}, "labels": {"0": "background", "1": "spleen"}}"#,
            #"{"labels": {"0": "background", "1": "spleen"}, "training": []}"#,
            #"{"modality": {"0": "CT", "1": "T2"}, "labels": {"0": "background", "1": "spleen"}, "training": []}"#,
            #"{"modality": {"0": "CT"}, "labels": {"0": "background", "1": "spleen"}, "training": {}}"#,
        ]
        for text in malformed {
            try writeIndex(root, text)
            assertThrows(try DecathlonDataset.spleen.catalog(root: root), file: index, text)
        }
    }

    func testTaskAdapterRefusesAFolderOfAnotherModality() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        try writeIndex(root, #"{"modality": {"0": "MRI"}, "labels": {"0": "background", "1": "Anterior"}, "training": []}"#)
        assertThrows(try DecathlonDataset.spleen.catalog(root: root), file: root.appendingPathComponent("dataset.json").path)
        XCTAssertEqual(try DecathlonDataset.heart.catalog(root: root).modality, .mri)
    }

    func testNameToValueLabelsAndChannelNamesOfNnUNetV2() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        try writeCase(root, image: "imagesTr/liver_1.nii.gz", label: "labelsTr/liver_1.nii.gz")
        try writeIndex(root, """
            {"channel_names": {"0": "CT"}, "labels": {"liver": 1, "background": 0},
             "training": [{"image": "imagesTr/liver_1.nii.gz", "label": "labelsTr/liver_1.nii.gz"}]}
            """)

        let catalog = try DecathlonDataset(name: "liver", summary: "a liver task").catalog(root: root)

        XCTAssertEqual(catalog.modality, .ct)
        XCTAssertEqual(catalog.labelSpace, .segmentation(classes: ["background", "liver"]))
        XCTAssertEqual(catalog.items.map(\.id), ["liver_1"])
    }

    // MARK: SARS-CoV-2 CT

    func testSARSCoV2PatientFoldersAreScans() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        for slice in ["Covid/1/0.png", "Covid/1/1.png", "Covid/2/0.png", "Healthy/81/0.png", "Others/150/0.png"] {
            try writeSlice(root, slice)
        }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Others/151"), withIntermediateDirectories: true)
        try Data().write(to: root.appendingPathComponent("Covid/.DS_Store"))

        let catalog = try SARSCoV2CT().catalog(root: root)

        XCTAssertEqual(catalog.name, "sars-cov-2-ct")
        XCTAssertEqual(catalog.modality, .other)
        XCTAssertTrue(catalog.holdsVolumes)
        XCTAssertEqual(catalog.labelSpace, .multiClass(classes: ["non-COVID", "COVID"]))
        XCTAssertEqual(catalog.items.map(\.id), ["Covid/1", "Covid/2", "Healthy/81", "Others/150"])
        XCTAssertEqual(catalog.items.map(\.labels), [[1], [1], [0], [0]])
        XCTAssertEqual(catalog.items.map(\.patient), catalog.items.map(\.id))
        XCTAssertEqual(paths(catalog.items.map(\.url)), paths(catalog.items.map { root.appendingPathComponent($0.id) }))
        XCTAssertEqual(catalog.items.map(\.officialPart), [nil, nil, nil, nil])
        XCTAssertEqual(catalog.problems.map(\.file), [root.appendingPathComponent("Others/151").path])
    }

    func testSARSCoV2FlatSlicesAreEachTheirOwnPatient() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        for slice in ["COVID/Covid (1).png", "COVID/Covid (2).png", "non-COVID/Non-Covid (1).png"] {
            try writeSlice(root, slice)
        }
        try Data("notes".utf8).write(to: root.appendingPathComponent("non-COVID/readme.txt"))

        let catalog = try SARSCoV2CT().catalog(root: root)

        XCTAssertEqual(catalog.items.map(\.id), ["COVID/Covid (1).png", "COVID/Covid (2).png", "non-COVID/Non-Covid (1).png"])
        XCTAssertEqual(catalog.items.map(\.labels), [[1], [1], [0]])
        XCTAssertEqual(catalog.items.map(\.patient), catalog.items.map(\.id))
        XCTAssertEqual(paths(catalog.items.map(\.url)), paths(catalog.items.map { root.appendingPathComponent($0.id) }))
        XCTAssertEqual(catalog.problems.map(\.file), [root.appendingPathComponent("non-COVID/readme.txt").path])
    }

    func testSARSCoV2RootWithoutClassFoldersThrows() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        try writeSlice(root, "images/0/0.png")
        assertThrows(try SARSCoV2CT().catalog(root: root), file: root.path)
    }

    // MARK: Figshare brain tumours

    func testBrainTumourReadsLabelsAndPatientsFromNestedFilesAndReportsUnreadableOnes() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let copies = [("glioma_10x14.mat", "brainTumorDataPublic_1-766/1.mat"),
                      ("meningioma_16x12.mat", "brainTumorDataPublic_1-766/2.mat"),
                      ("pituitary_9x7.mat", "brainTumorDataPublic_767-1532/10.mat")]
        for (fixture, copy) in copies {
            let target = root.appendingPathComponent(copy)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Fixtures.url("imaging/mat/\(fixture)"), to: target)
        }
        let corrupt = root.appendingPathComponent("brainTumorDataPublic_767-1532/11.mat")
        try Data("not a MAT-file".utf8).write(to: corrupt)
        try Data("indices".utf8).write(to: root.appendingPathComponent("cvind.mat"))
        let expectedJSON = try Data(contentsOf: Fixtures.url("imaging/mat/expected.json"))
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: expectedJSON) as? [String: [String: Any]])

        let catalog = try BrainTumourFigshare().catalog(root: root)

        XCTAssertEqual(catalog.name, "brain-tumour")
        XCTAssertEqual(catalog.modality, .mri)
        XCTAssertFalse(catalog.holdsVolumes)
        XCTAssertEqual(catalog.labelSpace, .multiClass(classes: ["meningioma", "glioma", "pituitary"]))
        XCTAssertEqual(catalog.items.map(\.id), ["1", "2", "10"])
        for (item, (fixture, copy)) in zip(catalog.items, copies) {
            let values = try XCTUnwrap(expected[fixture])
            let label = try XCTUnwrap(values["label"] as? Int)
            XCTAssertEqual(item.labels, [Float(label - 1)], fixture)
            XCTAssertEqual(item.patient, values["patientID"] as? String, fixture)
            XCTAssertEqual(paths([item.url]), [root.appendingPathComponent(copy).path])
            XCTAssertEqual(item.masks, [item.url])
            XCTAssertNil(item.officialPart)
        }
        XCTAssertEqual(catalog.problems.map(\.file), [corrupt.path])
        XCTAssertEqual(catalog.problems.first, expectedError { _ = try BrainTumourMAT.read(contentsOf: corrupt) })
    }

    func testBrainTumourRootWithoutMATFilesThrows() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        try Data("indices".utf8).write(to: root.appendingPathComponent("cvind.mat"))
        assertThrows(try BrainTumourFigshare().catalog(root: root), file: root.path)
    }

    // MARK: Every adapter

    func testMissingRootThrowsNamingIt() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("absent")
        let adapters: [any DatasetAdapter] = [DecathlonDataset.spleen, DecathlonDataset.hippocampus, DecathlonDataset.heart,
                                              DecathlonDataset.amosCT, DecathlonDataset.amosMRI, SARSCoV2CT(),
                                              BrainTumourFigshare()]
        for adapter in adapters {
            assertThrows(try adapter.catalog(root: root), file: root.path, adapter.name)
        }
    }

    // MARK: Helpers

    /// Writes a 3×2×2 image (and, unless `label` is nil, a label map with values up to `largestLabel`)
    /// at paths relative to `root`.
    @discardableResult
    private func writeCase(_ root: URL, image: String, label: String?, largestLabel: Int = 1) throws -> (image: Volume, labels: Volume) {
        let volume = Volume(size: [3, 2, 2], voxels: (0..<12).map { Float($0 * 90 - 500) }, spacing: [0.8, 0.8, 2.5])
        let labels = Volume(size: [3, 2, 2], voxels: (0..<12).map { Float($0 % (largestLabel + 1)) }, spacing: [0.8, 0.8, 2.5])
        let imageURL = root.appendingPathComponent(image)
        try FileManager.default.createDirectory(at: imageURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        try NIfTIWriter.write(volume, to: imageURL, as: .int16)
        if let label {
            let labelURL = root.appendingPathComponent(label)
            try FileManager.default.createDirectory(at: labelURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            try NIfTIWriter.writeLabelMap(labels, to: labelURL)
        }
        return (volume, labels)
    }

    private func writeIndex(_ root: URL, _ json: String) throws {
        try Data(json.utf8).write(to: root.appendingPathComponent("dataset.json"))
    }

    /// Writes a 4×3 grey PNG slice at a path relative to `root`.
    private func writeSlice(_ root: URL, _ path: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try PNGWriter.write(Image2D(width: 4, height: 3, channels: 1, pixels: (0..<12).map { Float($0 * 20) }, bitDepth: 8), to: url)
    }

    private func paths(_ urls: [URL]) -> [String] { urls.map(\.standardizedFileURL.path) }

    private func assertThrows<T>(_ body: @autoclosure () throws -> T, file path: String, _ message: String = "",
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(expectedError { _ = try body() }?.file, path, message, file: file, line: line)
    }

    /// The `ImagingError` `body` throws; nil (and a failure) when it throws nothing or another error.
    private func expectedError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> ImagingError? {
        do {
            try body()
            XCTFail("no error thrown", file: file, line: line)
        } catch let error as ImagingError {
            return error
        } catch {
            XCTFail("threw \(error), not an ImagingError", file: file, line: line)
        }
        return nil
    }
}
