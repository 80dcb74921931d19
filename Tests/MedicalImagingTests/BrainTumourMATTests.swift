import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// MATLAB v7.3 brain-tumour files against `Tests/Fixtures/imaging/mat/expected.json` (written with the
/// files by scripts/make_jpeg_mat_fixtures.py), and refusal of bad input.
final class BrainTumourMATTests: XCTestCase {
    struct Expected: Decodable {
        let height: Int
        let width: Int
        let label: Int
        let patientID: String
        let image: [Double]
        let tumorMask: [Double]
        let tumorBorder: [Double]
    }

    static let expected: [String: Expected] = {
        let url = Fixtures.url("imaging/mat/expected.json")
        return try! JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: url))
    }()

    func mat(_ name: String) -> URL { Fixtures.url("imaging/mat/\(name)") }

    func assertReads(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try XCTUnwrap(Self.expected[name], file: file, line: line)
        let data = try BrainTumourMAT.read(contentsOf: mat(name))
        XCTAssertEqual([data.image.height, data.image.width, data.image.channels], [expected.height, expected.width, 1],
                       name, file: file, line: line)
        XCTAssertEqual(data.image.pixels, expected.image.map { Float($0) }, "\(name): image", file: file, line: line)
        XCTAssertEqual([data.tumorMask.height, data.tumorMask.width], [expected.height, expected.width], file: file, line: line)
        XCTAssertEqual(data.tumorMask.pixels, expected.tumorMask.map { Float($0) }, "\(name): mask", file: file, line: line)
        XCTAssertEqual(data.label, expected.label, file: file, line: line)
        XCTAssertEqual(data.patientID, expected.patientID, file: file, line: line)
        XCTAssertEqual(data.tumorBorder, expected.tumorBorder, file: file, line: line)
        XCTAssertEqual(data.image.source?.lastPathComponent, name, file: file, line: line)
    }

    /// Asserts that reading `name` fails with an `ImagingError` naming the file whose problem contains `phrase`.
    func assertRefuses(_ url: URL, saying phrase: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try BrainTumourMAT.read(contentsOf: url), file: file, line: line) { error in
            guard let error = error as? ImagingError else { return XCTFail("not an ImagingError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.file, url.path, file: file, line: line)
            XCTAssertTrue(error.problem.contains(phrase), "\(error) does not say \"\(phrase)\"", file: file, line: line)
        }
    }

    func testEveryReplicaMatches() throws {
        XCTAssertEqual(Self.expected.count, 3)
        for name in Self.expected.keys.sorted() { try assertReads(name) }
    }

    /// int16 image, gzip-compressed in chunks as MATLAB writes it; 16 rows × 12 columns.
    func testCompressedInt16Meningioma() throws {
        try assertReads("meningioma_16x12.mat")
        let data = try BrainTumourMAT.read(contentsOf: mat("meningioma_16x12.mat"))
        XCTAssertEqual(data.image.bitDepth, 16)
        XCTAssertEqual(data.className, "meningioma")
    }

    /// The generator filled the image with 100·row + 3·column + 7: a reader that skips MATLAB's
    /// column-major transpose returns 12 rows × 16 columns or swaps the steps.
    func testOrientationIsMATLABs() throws {
        let image = try BrainTumourMAT.read(contentsOf: mat("meningioma_16x12.mat")).image
        XCTAssertEqual([image.height, image.width], [16, 12])
        XCTAssertEqual(image[channel: 0, y: 0, x: 1], 10)
        XCTAssertEqual(image[channel: 0, y: 1, x: 0], 107)
        XCTAssertEqual(image[channel: 0, y: 15, x: 11], 1540)
    }

    func testUInt8Glioma() throws {
        try assertReads("glioma_10x14.mat")
        let data = try BrainTumourMAT.read(contentsOf: mat("glioma_10x14.mat"))
        XCTAssertEqual(data.image.bitDepth, 8)
        XCTAssertEqual(data.className, "glioma")
    }

    /// Negative int16 values, a non-ASCII patient ID and an empty border (stored by MATLAB as its dimensions).
    func testPituitaryWithEmptyBorder() throws {
        try assertReads("pituitary_9x7.mat")
        let data = try BrainTumourMAT.read(contentsOf: mat("pituitary_9x7.mat"))
        XCTAssertEqual(data.className, "pituitary")
        XCTAssertEqual(data.tumorBorder, [])
        XCTAssertEqual(data.image.pixels.min(), -900)
    }

    /// libhdf5 is not thread-safe: concurrent reads must be serialised and all give the same result.
    func testConcurrentReadsAgree() throws {
        let urls = Self.expected.keys.sorted().map(mat)
        let reference = try urls.map { try BrainTumourMAT.read(contentsOf: $0).image.pixels }
        let results = ResultsBox(count: 24)
        DispatchQueue.concurrentPerform(iterations: 24) { index in
            results.set(index, try? BrainTumourMAT.read(contentsOf: urls[index % urls.count]).image.pixels)
        }
        for index in 0..<24 { XCTAssertEqual(results.get(index), reference[index % urls.count], "read \(index)") }
    }

    func testV5FileIsNamedAsSuch() {
        assertRefuses(mat("v5_header.mat"), saying: "is a MATLAB v5 file; only v7.3 (HDF5) is supported")
    }

    func testNonHDF5FileIsRefused() throws {
        assertRefuses(Fixtures.url("imaging/jpeg/grey_37x23.jpg"), saying: "is not a MATLAB v7.3 file")
        let empty = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("empty.mat")
        try Data().write(to: empty)
        assertRefuses(empty, saying: "is not a MATLAB v7.3 file")
    }

    func testMissingFileIsNamed() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("absent.mat")
        assertRefuses(url, saying: "no such file")
    }

    func testMissingCjdata() { assertRefuses(mat("no_cjdata.mat"), saying: "cjdata: is missing") }
    func testMissingTumorMask() { assertRefuses(mat("no_mask.mat"), saying: "cjdata/tumorMask: is missing") }
    func testMaskOfAnotherSize() {
        assertRefuses(mat("mask_wrong_size.mat"), saying: "cjdata/tumorMask: is 12×16, not the image's 16×12")
    }
    func testLabelOutOfRange() { assertRefuses(mat("label_out_of_range.mat"), saying: "cjdata/label: is 4.0") }

    /// A 12-bit-precision integer is valid HDF5 but no standard type: refused before libhdf5 converts it
    /// (its converters overrun their buffers on corrupt type descriptions).
    func testNonStandardElementTypeIsRefused() {
        assertRefuses(mat("odd_integer_type.mat"), saying: "cjdata/image: holds elements of an unsupported type")
    }

    /// Chunks larger than the dataset (a corrupt layout) crashed libhdf5 1.10 in H5Dread.
    func testOversizedChunksAreRefused() {
        assertRefuses(mat("oversized_chunks.mat"), saying: "cjdata/image: is corrupt: chunks [12, 14417936] do not fit")
    }

    /// Bytes of the last object headers scrambled: libhdf5's complaint comes back with the member's name.
    func testCorruptMemberIsNamed() throws {
        var data = try Data(contentsOf: mat("meningioma_16x12.mat"))
        for index in data.count - 300 ..< data.count - 260 { data[index] ^= 0x5A }
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("scrambled.mat")
        try data.write(to: url)
        assertRefuses(url, saying: "cjdata/tumorMask: cannot be opened as a dataset (libhdf5: ")
    }

    /// A file cut anywhere after its HDF5 signature: an error, never a crash or garbage.
    func testTruncatedFilesAreRefused() throws {
        let data = try Data(contentsOf: mat("meningioma_16x12.mat"))
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        for end in [520, 1000, 2048, data.count / 2, data.count - 100] {
            let url = folder.appendingPathComponent("cut\(end).mat")
            try data.prefix(end).write(to: url)
            assertRefuses(url, saying: "is not a readable HDF5 file")
        }
        assertRefuses(folder.appendingPathComponent("cut2048.mat"), saying: "truncated file")
    }

    /// A corrupt file on which libhdf5 1.10 dereferences NULL (found by fuzzing) is read in a trial
    /// process first, so the crash becomes an error naming the file.
    func testAFileThatCrashesLibHDF5IsRefused() throws {
        let url = Fixtures.url("imaging/fuzz/mat/libhdf5_segfaults_in_H5Lexists.mat")
        XCTAssertThrowsError(try BrainTumourMAT.read(contentsOf: url)) { error in
            XCTAssertEqual((error as? ImagingError)?.file, url.path)
            XCTAssertTrue("\(error)".contains("libhdf5 crashed reading it (signal 11) in a trial process"), "\(error)")
        }
        XCTAssertEqual(try BrainTumourMAT.read(contentsOf: mat("glioma_10x14.mat")).className, "glioma", "a good file still reads after it")
    }
}

/// Per-slot results written from concurrent iterations.
private final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[Float]?]

    init(count: Int) { values = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: [Float]?) { lock.withLock { values[index] = value } }
    func get(_ index: Int) -> [Float]? { lock.withLock { values[index] } }
}
