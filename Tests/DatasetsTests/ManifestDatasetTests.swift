import Datasets
import Foundation
import MedicalImaging
import TestSupport
import XCTest

final class ManifestDatasetTests: XCTestCase {
    func testMultiClassManifestWithPatientsSplitsMasksAndMissingFiles() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let elsewhere = try ReplicaFiles.png("elsewhere/abs.png", in: root)
        try ReplicaFiles.png("data/a.png", in: root)
        try ReplicaFiles.png("data/b.png", in: root)
        try ReplicaFiles.png("data/sub/c.png", in: root)
        try ReplicaFiles.png("data/e.png", in: root)
        try ReplicaFiles.png("data/masks/a.png", in: root)
        try ReplicaFiles.text([
            "path,label,patient,split,mask",
            "a.png,pneumonia,p1,train,masks/a.png",
            "\"sub/c.png\",normal,p1,Validation,",
            "b.png,\"covid, severe\",,test,",
            "\(elsewhere.path),normal,p2,,",
            "d.png,other,p3,train,",
            "e.png,normal,p4,train,masks/e.png",
        ], "data/manifest.csv", in: root)
        let catalog = try ManifestDataset(modality: .xray).catalog(root: root.appendingPathComponent("data"))
        XCTAssertEqual(catalog.name, "manifest")
        XCTAssertEqual(catalog.modality, .xray)
        XCTAssertEqual(catalog.labelSpace, .multiClass(classes: ["pneumonia", "normal", "covid, severe", "other"]))
        XCTAssertEqual(catalog.items.map(\.id), ["a.png", "sub/c.png", "b.png", elsewhere.path])
        XCTAssertEqual(catalog.items.map { $0.url.path }, [
            root.appendingPathComponent("data/a.png").path, root.appendingPathComponent("data/sub/c.png").path,
            root.appendingPathComponent("data/b.png").path, elsewhere.path,
        ])
        XCTAssertEqual(catalog.items.map(\.labels), [[0], [1], [2], [1]])
        XCTAssertEqual(catalog.items.map(\.patient), ["p1", "p1", "b.png", "p2"])
        XCTAssertEqual(catalog.items.map(\.officialPart), [.train, .validation, .test, nil])
        XCTAssertEqual(catalog.items[0].masks.map(\.path), [root.appendingPathComponent("data/masks/a.png").path])
        XCTAssertEqual(catalog.items[1].masks, [])
        let manifest = root.appendingPathComponent("data/manifest.csv").path
        XCTAssertEqual(catalog.problems.map(\.description), [
            "\(root.appendingPathComponent("data/d.png").path): is missing (listed in \(manifest) line 6)",
            "\(root.appendingPathComponent("data/masks/e.png").path): is missing (listed in \(manifest) line 7)",
        ])
    }

    func testMultiLabelManifestGivenAsTheFile() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        try ReplicaFiles.png("x.png", in: root)
        try ReplicaFiles.png("y.png", in: root)
        try ReplicaFiles.png("z.png", in: root)
        let manifest = try ReplicaFiles.text(["labels,path", "effusion|mass,x.png", ",y.png", "mass | nodule,z.png"], "list.csv", in: root)
        let catalog = try ManifestDataset().catalog(root: manifest)
        XCTAssertEqual(catalog.modality, .other)
        XCTAssertEqual(catalog.labelSpace, .multiLabel(findings: ["effusion", "mass", "nodule"]))
        XCTAssertEqual(catalog.items.map(\.id), ["x.png", "y.png", "z.png"])
        XCTAssertEqual(catalog.items.map(\.labels), [[1, 1, 0], [0, 0, 0], [0, 1, 1]])
        XCTAssertEqual(catalog.items.map(\.patient), ["x.png", "y.png", "z.png"])
        XCTAssertEqual(catalog.items.map(\.officialPart), [nil, nil, nil])
        XCTAssertTrue(catalog.problems.isEmpty)
    }

    /// The error `lines` (a manifest) throws.
    private func manifestError(_ lines: [String]) throws -> String {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        try ReplicaFiles.png("a.png", in: root)
        let manifest = try ReplicaFiles.text(lines, "manifest.csv", in: root)
        do {
            _ = try ManifestDataset().catalog(root: root)
            XCTFail("\(lines) was accepted")
            return ""
        } catch let error as ImagingError {
            XCTAssertEqual(error.file, manifest.path)
            return error.problem
        }
    }

    func testMalformedManifestsThrowNamingFileAndLine() throws {
        XCTAssertEqual(try manifestError(["file,label", "a.png,x"]), "has no column \"path\" (its columns: \"file\", \"label\")")
        XCTAssertEqual(try manifestError(["path,label,split", "a.png,x,train", "b.png,y,training"]),
                       "line 3: split \"training\" is not one of train, validation, test or blank")
        XCTAssertEqual(try manifestError(["path,label", "a.png,x", "a.png,x,extra"]),
                       "line 3: has 3 fields, but the header has 2 columns")
        XCTAssertEqual(try manifestError(["path,label,labels", "a.png,x,y"]), "has both a label and a labels column; keep one")
        XCTAssertEqual(try manifestError(["path,patient", "a.png,p"]),
                       "has neither a label (multi-class) nor a labels (multi-label) column")
        XCTAssertEqual(try manifestError(["path,label", "a.png,"]), "line 2: has a blank label")
        XCTAssertEqual(try manifestError(["path,label", "a.png,x", "a.png,y"]), "line 3: lists a.png again (first on line 2)")
    }

    func testMissingManifestThrows() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        XCTAssertThrowsError(try ManifestDataset().catalog(root: root)) {
            XCTAssertEqual(($0 as? ImagingError)?.file, root.appendingPathComponent("manifest.csv").path)
        }
    }
}

final class CSVTableTests: XCTestCase {
    private func table(_ text: String) throws -> CSVTable {
        try CSVTable(parsing: Data(text.utf8), file: "t.csv")
    }

    private func problem(_ text: String) -> String? {
        do {
            _ = try table(text)
            return nil
        } catch {
            return (error as? ImagingError)?.description
        }
    }

    func testQuotingLineEndingsAndLineNumbers() throws {
        let parsed = try table("\u{FEFF} a , b \r\n1,\"x, \"\"y\"\"\"\r\n\n\"multi\nline\",\"\"\n3,4")
        XCTAssertEqual(parsed.header, ["a", "b"])
        XCTAssertEqual(parsed.rows.map(\.fields), [["1", "x, \"y\""], ["multi\nline", ""], ["3", "4"]])
        XCTAssertEqual(parsed.rows.map(\.line), [2, 4, 6])
        XCTAssertEqual(parsed.column("b"), 1)
        XCTAssertNil(parsed.column("c"))
        XCTAssertEqual(try table("a\n x \n").rows[0].value(0), "x")
    }

    func testMalformedTablesNameTheLine() {
        XCTAssertEqual(problem(""), "t.csv: is empty: a CSV table needs a header row")
        XCTAssertEqual(problem("a,b\n1,2\n3\n"), "t.csv: line 3: has 1 fields, but the header has 2 columns")
        XCTAssertEqual(problem("a,b\n1,\"open\n2,3\n"), "t.csv: line 2: a quoted field is never closed")
        XCTAssertEqual(problem("a,b\n1,x\"y\n"), "t.csv: line 2: a quote inside an unquoted field (quote the whole field and double the quote)")
        XCTAssertEqual(problem("a,b\n1,\"x\"y\n"), "t.csv: line 2: text after the closing quote of a field")
        XCTAssertEqual(problem("a,a\n"), "t.csv: line 1: the header names column \"a\" twice")
        XCTAssertThrowsError(try CSVTable(parsing: Data([0x61, 0x0A, 0xFF]), file: "t.csv")) {
            XCTAssertEqual("\($0)", "t.csv: is not a CSV table: not valid UTF-8 text")
        }
    }
}
