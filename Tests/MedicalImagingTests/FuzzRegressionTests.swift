import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// Inputs kept from fuzzing the readers (`Tests/Fixtures/imaging/fuzz/<format>/`; see docs/robustness.md):
/// inputs that once crashed a reader, and fuzzer-made inputs that reach distinct rejection paths.
/// Each must be read, or rejected with an `ImagingError` that names the file; any other error fails
/// the test, and a crash (trap, bad memory access) takes the whole test run down.
final class FuzzRegressionTests: XCTestCase {
    func testPNGInputs() throws {
        try assertEachInputIsReadOrRejected("png") { _ = try PNGReader.read(contentsOf: $0) }
    }

    func testJPEGInputs() throws {
        try assertEachInputIsReadOrRejected("jpeg") { _ = try JPEGReader.read(contentsOf: $0) }
    }

    func testNIfTIInputs() throws {
        try assertEachInputIsReadOrRejected("nifti") { _ = try NIfTIReader.read(contentsOf: $0) }
    }

    func testDICOMInputs() throws {
        try assertEachInputIsReadOrRejected("dicom") { _ = try DICOMFile.read(contentsOf: $0).images() }
    }

    func testMATInputs() throws {
        try assertEachInputIsReadOrRejected("mat") { _ = try BrainTumourMAT.read(contentsOf: $0) }
    }

    /// Runs `read` on every file in `Tests/Fixtures/imaging/fuzz/<format>/`, which must hold at least one.
    func assertEachInputIsReadOrRejected(_ format: String, file: StaticString = #filePath, line: UInt = #line,
                                         _ read: (URL) throws -> Void) throws {
        let folder = Fixtures.url("imaging/fuzz/\(format)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertFalse(names.isEmpty, "no kept inputs in \(folder.path)", file: file, line: line)
        for name in names {
            let url = folder.appendingPathComponent(name)
            do {
                try read(url)
            } catch let error as ImagingError {
                XCTAssertEqual(error.file, url.path, "\(format)/\(name): the error names another file: \(error)",
                               file: file, line: line)
            } catch {
                XCTFail("\(format)/\(name): threw \(type(of: error)) (\(error)), not an ImagingError", file: file, line: line)
            }
        }
    }
}
