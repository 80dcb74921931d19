import FuzzSupport
import MedicalImaging

/// libFuzzer entry point: DICOM bytes parsed in memory by `DICOMFile.decode` (what
/// `DICOMFile.read(contentsOf:)` runs on a file's bytes), then every frame decoded by `images()`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDICOM(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.run(data, size) { _ = try DICOMFile.decode([UInt8]($0), file: "fuzz.dcm").images() }
}
