import FuzzSupport
import LibFuzzerHooks
import MedicalImaging

/// libFuzzer entry point: PNG bytes decoded in memory by `PNGReader.decode`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.run(data, size) { _ = try PNGReader.decode($0, file: "fuzz.png") }
}

/// libFuzzer's mutation followed by a CRC repair, so that most mutants get past libpng's CRC check.
@_cdecl("LLVMFuzzerCustomMutator")
public func mutatePNG(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    let mutatedSize = LLVMFuzzerMutate(data, size, maxSize)
    PNGChecksums.repair(data, count: mutatedSize)
    return mutatedSize
}
