import FuzzSupport
import MedicalImaging

/// libFuzzer entry point: JPEG bytes decoded in memory by `JPEGReader.decode`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJPEG(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.run(data, size) { _ = try JPEGReader.decode($0, file: "fuzz.jpg") }
}
