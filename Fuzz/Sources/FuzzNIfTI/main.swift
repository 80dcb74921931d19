import FuzzSupport
import MedicalImaging

/// libFuzzer entry point: NIfTI-1/NIfTI-2 bytes, plain or gzip, decoded in memory by `NIfTIReader.decode`
/// (what `NIfTIReader.read(contentsOf:)` runs on a file's bytes).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNIfTI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.run(data, size) { _ = try NIfTIReader.decode($0, file: "fuzz.nii") }
}
