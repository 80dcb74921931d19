import Foundation
import MedicalImaging

/// What a harness does with one libFuzzer input: hand the bytes to a reader, in memory or as a file.
///
/// A reader passes when it returns or throws an `ImagingError`. A crash, a Swift trap (bounds, overflow,
/// force-unwrap, `precondition`), a sanitizer report, or any other thrown error type is a finding:
/// the last is turned into a trap here so that libFuzzer records the input.
public enum FuzzTarget {
    /// Runs `read` on the input bytes and returns 0, libFuzzer's "input accepted" code.
    public static func run(_ data: UnsafePointer<UInt8>, _ size: Int, _ read: (Data) throws -> Void) -> CInt {
        let bytes = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: data), count: size, deallocator: .none)
        check { try read(bytes) }
        return 0
    }

    /// Writes the input to `input.<fileExtension>` in this process's scratch folder, runs `read`
    /// on that URL and returns 0. For readers that only read from files.
    public static func runOnFile(_ data: UnsafePointer<UInt8>, _ size: Int, fileExtension: String,
                                 _ read: (URL) throws -> Void) -> CInt {
        let url = scratchFolder.appendingPathComponent("input.\(fileExtension)")
        let bytes = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: data), count: size, deallocator: .none)
        do { try bytes.write(to: url) } catch { fatalError("cannot write the fuzz input to \(url.path): \(error)") }
        check { try read(url) }
        return 0
    }

    static func check(_ body: () throws -> Void) {
        do { try body() } catch let error as ImagingError {
            if printsErrors { FileHandle.standardError.write(Data("ImagingError: \(error)\n".utf8)) }
        } catch {
            fatalError("the reader threw \(type(of: error)) (\(error)), not an ImagingError")
        }
    }

    /// Whether to print each `ImagingError` (environment `RADPROBE_FUZZ_PRINT_ERRORS=1`), to see what a
    /// reader says about kept inputs when replaying them.
    static let printsErrors = ProcessInfo.processInfo.environment["RADPROBE_FUZZ_PRINT_ERRORS"] == "1"

    /// A folder for this process's input files: in /dev/shm (memory) when the system has it, else the
    /// temporary directory; named after the process id so that parallel fuzzing jobs do not collide.
    /// It is removed when the process exits normally.
    static let scratchFolder: URL = {
        let shm = URL(fileURLWithPath: "/dev/shm", isDirectory: true)
        let base = FileManager.default.fileExists(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory
        let folder = base.appendingPathComponent("radprobe-fuzz-\(getpid())", isDirectory: true)
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            fatalError("cannot create the fuzz scratch folder \(folder.path): \(error)")
        }
        atexit { try? FileManager.default.removeItem(at: FuzzTarget.scratchFolder) }
        return folder
    }()
}
