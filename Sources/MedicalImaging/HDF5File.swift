@preconcurrency import CHDF5
import Foundation

/// Read-only access to numeric datasets of an HDF5 file through libhdf5, with `ImagingError`s that
/// name the file and the member, and every handle closed.
///
/// libhdf5 (serial build) is not thread-safe, so all of its calls happen inside `HDF5File.reading`,
/// which holds one process-wide lock; and it can crash on corrupt files, so each read is rehearsed in a
/// `TrialProcess` first. Datasets are returned in HDF5's C order: `dimensions` as stored
/// (slowest-varying first) and `values` flat in that order, converted by libhdf5 to the requested
/// native element type.
struct HDF5File {
    /// Serialises every libhdf5 call.
    private static let lock = NSLock()
    /// Whether `H5open` and `H5Eset_auto2` have run (guarded by `lock`).
    nonisolated(unsafe) private static var isPrepared = false
    /// The 8-byte signature of an HDF5 superblock, found at offset 0, 512, 1024, 2048, … .
    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The path named in errors.
    let file: String
    /// Bytes of the file, bounding what a dataset may claim to hold.
    let fileSize: Int
    private let id: hid_t

    /// Whether `bytes` hold an HDF5 superblock signature where libhdf5 looks for one.
    static func hasSignature(_ bytes: Data) -> Bool {
        var offset = 0
        while offset + signature.count <= bytes.count {
            if bytes[bytes.startIndex + offset ..< bytes.startIndex + offset + signature.count].elementsEqual(signature) {
                return true
            }
            offset = offset == 0 ? 512 : offset * 2
        }
        return false
    }

    /// Opens `url` read-only and runs `body` on it while holding the libhdf5 lock; the file is closed
    /// when `body` returns, so `body` must not keep the `HDF5File`. The same open and `body` run first
    /// in a `TrialProcess`, so a file that crashes libhdf5 is refused with an error instead.
    static func reading<T>(_ url: URL, fileSize: Int, _ body: (HDF5File) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if !isPrepared {
            guard H5open() >= 0 else { throw ImagingError(file: url.path, problem: "cannot be read: libhdf5 failed to start") }
            H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)   // errors come back as return codes; nothing printed
            isPrepared = true
        }
        try TrialProcess.rehearse(file: url.path, library: "libhdf5") { _ = try? opening(url, fileSize: fileSize, body) }
        return try opening(url, fileSize: fileSize, body)
    }

    /// `body` on `url` opened read-only; the caller holds the lock.
    private static func opening<T>(_ url: URL, fileSize: Int, _ body: (HDF5File) throws -> T) throws -> T {
        let id = H5Fopen(url.path, 0 /* H5F_ACC_RDONLY */, hid_t(H5P_DEFAULT))
        guard id >= 0 else {
            throw ImagingError(file: url.path, problem: "is not a readable HDF5 file (libhdf5: \(lastErrorMessage()))")
        }
        defer { H5Fclose(id) }
        return try body(HDF5File(file: url.path, fileSize: fileSize, id: id))
    }

    /// The description of the innermost entry on libhdf5's error stack (where the failure was detected),
    /// e.g. "truncated file: eof = 4388, sblock->base_addr = 512, stored_eof = 8776".
    static func lastErrorMessage() -> String {
        var message: String? = nil
        withUnsafeMutablePointer(to: &message) { slot in
            _ = H5Ewalk2(hid_t(H5E_DEFAULT), H5E_WALK_UPWARD, { position, entry, client in
                if position == 0, let description = entry?.pointee.desc, let client {
                    client.assumingMemoryBound(to: String?.self).pointee = String(cString: description)
                }
                return 0
            }, slot)
        }
        return message ?? "unknown error"
    }

    private init(file: String, fileSize: Int, id: hid_t) {
        self.file = file
        self.fileSize = fileSize
        self.id = id
    }

    /// Refuses storage libhdf5 1.10 would read past: contiguous or compact storage smaller than the
    /// dataset's `storedBytes` (or contiguous storage reaching past the end of the file), and chunked
    /// layouts whose chunks are larger than the dataset (HDF5 never creates them for fixed-size datasets).
    private func checkStorage(of dataset: hid_t, dimensions: [Int], storedBytes: Int, path: String) throws {
        let properties = H5Dget_create_plist(dataset)
        guard properties >= 0 else { throw error(path, "has unreadable storage properties") }
        defer { H5Pclose(properties) }
        let layout = H5Pget_layout(properties)
        if layout == H5D_CONTIGUOUS || layout == H5D_COMPACT {
            // libhdf5 1.10 copies `storedBytes` out of whatever storage the file declares (fuzzing found
            // over-reads), so the declared storage must hold them, and contiguous data must lie in the file.
            let storage = H5Dget_storage_size(dataset)
            let offset = layout == H5D_CONTIGUOUS ? H5Dget_offset(dataset) : 0
            guard storage >= hsize_t(storedBytes),
                  layout == H5D_COMPACT || (offset != haddr_t.max && offset <= haddr_t(fileSize) && haddr_t(fileSize) - offset >= storage) else {
                throw error(path, "is corrupt: its storage (\(storage) bytes) does not hold the \(storedBytes) bytes its dimensions need")
            }
            return
        }
        guard layout == H5D_CHUNKED else { return }
        var chunk = [hsize_t](repeating: 0, count: dimensions.count)
        guard !dimensions.isEmpty,
              H5Pget_chunk(properties, Int32(dimensions.count), &chunk) == Int32(dimensions.count),
              zip(chunk, dimensions).allSatisfy({ $0 >= 1 && $0 <= max(hsize_t($1), 1) }) else {
            throw error(path, "is corrupt: chunks \(chunk) do not fit its dimensions \(dimensions)")
        }
    }

    /// An error about member `path` of this file.
    func error(_ path: String, _ problem: String) -> ImagingError {
        ImagingError(file: file, problem: "\(path): \(problem)")
    }

    /// Whether a link `path` (e.g. "cjdata/image") exists; its parent groups must exist.
    func contains(_ path: String) throws -> Bool {
        let exists = H5Lexists(id, path, hid_t(H5P_DEFAULT))
        guard exists >= 0 else { throw error(path, "cannot be looked up (libhdf5: \(Self.lastErrorMessage()))") }
        return exists > 0
    }

    /// What a dataset's elements are stored as.
    struct StoredType {
        let isInteger: Bool
        let byteCount: Int
    }

    /// HDF5's standard integer and IEEE floating-point types, both byte orders. A stored type must equal
    /// one of them exactly (size, precision, bit offset, padding): libhdf5 1.10's converters overrun
    /// their buffers on corrupt type descriptions (e.g. a 21762-byte "integer"). Call with the lock held.
    private static func standardType(equalTo type: hid_t) -> StoredType? {
        let standard: [(type: hid_t, isInteger: Bool, byteCount: Int)] = [
            (H5T_STD_I8LE_g, true, 1), (H5T_STD_I8BE_g, true, 1), (H5T_STD_U8LE_g, true, 1), (H5T_STD_U8BE_g, true, 1),
            (H5T_STD_I16LE_g, true, 2), (H5T_STD_I16BE_g, true, 2), (H5T_STD_U16LE_g, true, 2), (H5T_STD_U16BE_g, true, 2),
            (H5T_STD_I32LE_g, true, 4), (H5T_STD_I32BE_g, true, 4), (H5T_STD_U32LE_g, true, 4), (H5T_STD_U32BE_g, true, 4),
            (H5T_STD_I64LE_g, true, 8), (H5T_STD_I64BE_g, true, 8), (H5T_STD_U64LE_g, true, 8), (H5T_STD_U64BE_g, true, 8),
            (H5T_IEEE_F32LE_g, false, 4), (H5T_IEEE_F32BE_g, false, 4), (H5T_IEEE_F64LE_g, false, 8), (H5T_IEEE_F64BE_g, false, 8),
        ]
        return standard.first { H5Tequal($0.type, type) > 0 }.map { StoredType(isInteger: $0.isInteger, byteCount: $0.byteCount) }
    }

    /// A dataset read whole: `dimensions` in HDF5's C order, `values` flat in that order.
    struct Dataset<Element> {
        let dimensions: [Int]
        let values: [Element]
        let storedType: StoredType
        /// Whether MATLAB marked it as an empty array (it then stores the dimensions as the data).
        let isMATLABEmpty: Bool
    }

    /// Reads the integer or floating-point dataset `path`, converted to `memoryType` (an `H5T_NATIVE_*_g`
    /// whose elements are `Element`s).
    func read<Element: Numeric>(_ path: String, as memoryType: hid_t, _: Element.Type) throws -> Dataset<Element> {
        guard try contains(path) else { throw error(path, "is missing") }
        let dataset = H5Dopen2(id, path, hid_t(H5P_DEFAULT))
        guard dataset >= 0 else { throw error(path, "cannot be opened as a dataset (libhdf5: \(Self.lastErrorMessage()))") }
        defer { H5Dclose(dataset) }

        let type = H5Dget_type(dataset)
        guard type >= 0 else { throw error(path, "has an unreadable element type") }
        defer { H5Tclose(type) }
        guard let stored = Self.standardType(equalTo: type) else {
            throw error(path, "holds elements of an unsupported type (HDF5 type class \(H5Tget_class(type).rawValue), "
                + "\(H5Tget_size(type)) bytes); only standard integers and IEEE floats are read")
        }

        let space = H5Dget_space(dataset)
        guard space >= 0 else { throw error(path, "has an unreadable dataspace") }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0, rank <= 32 else { throw error(path, "has an unreadable dataspace") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        guard H5Sget_simple_extent_dims(space, &dims, nil) == rank else { throw error(path, "has an unreadable dataspace") }
        let dimensions = try dims.map { dimension -> Int in
            guard dimension <= hsize_t(Int.max) else { throw error(path, "has an impossible size \(dims)") }
            return Int(dimension)
        }
        var count = 1
        for dimension in dimensions {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw error(path, "has an impossible size \(dimensions)") }
            count = product
        }
        let (storedBytes, overflow) = count.multipliedReportingOverflow(by: stored.byteCount)
        guard !overflow, storedBytes / Gzip.maximumExpansion <= fileSize else {
            throw error(path, "claims \(dimensions) elements, more than a \(fileSize)-byte file can hold")
        }

        try checkStorage(of: dataset, dimensions: dimensions, storedBytes: storedBytes, path: path)

        var values = [Element](repeating: 0, count: count)
        if count > 0 {
            let status = values.withUnsafeMutableBytes {
                H5Dread(dataset, memoryType, hid_t(H5S_ALL), hid_t(H5S_ALL), hid_t(H5P_DEFAULT), $0.baseAddress)
            }
            guard status >= 0 else { throw error(path, "cannot be read (libhdf5: \(Self.lastErrorMessage()))") }
        }
        let isEmpty = H5Aexists(dataset, "MATLAB_empty") > 0
        return Dataset(dimensions: dimensions, values: values, storedType: stored, isMATLABEmpty: isEmpty)
    }
}
