import FuzzSupport
import MedicalImaging

/// libFuzzer entry point: the input written to a `.mat` file and read by `BrainTumourMAT.read`
/// (MATLAB v7.3, i.e. HDF5: libhdf5 opens files by name).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMAT(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.runOnFile(data, size, fileExtension: "mat") { _ = try BrainTumourMAT.read(contentsOf: $0) }
}
