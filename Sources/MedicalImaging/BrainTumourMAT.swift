@preconcurrency import CHDF5
import Foundation

/// One file of the figshare brain-tumour MRI set (Cheng et al.): a MATLAB v7.3 (HDF5) `.mat` file
/// whose struct `cjdata` holds `image` (H×W, int16 or another numeric class), `label` (1×1 double:
/// 1 meningioma, 2 glioma, 3 pituitary), `PID` (char: UTF-16 code units), `tumorMask` (logical H×W)
/// and `tumorBorder` (double vector of coordinates).
///
/// Orientation: MATLAB is column-major and stores an H×W array as an HDF5 dataset of dimensions
/// (W, H) in C order, so element (row y, column x) is at flat index `x · H + y`. `image` and
/// `tumorMask` are returned in MATLAB's orientation (`height` = MATLAB's rows), the same as h5py's
/// `np.array(f['cjdata']['image']).T` or scipy's view; `tumorBorder` keeps MATLAB's linear
/// (column-major) order.
public struct BrainTumourMAT: Sendable {
    /// The MRI slice, 1 channel, raw stored values; `bitDepth` 8 × the stored integer size (int16 → 16)
    /// or 32 for floating-point data.
    public let image: Image2D
    /// Tumour class: 1 meningioma, 2 glioma, 3 pituitary.
    public let label: Int
    /// The patient identifier (`PID`).
    public let patientID: String
    /// The tumour region, 1 channel of 0 and 1, the size of `image`.
    public let tumorMask: Image2D
    /// The tumour outline's coordinates as stored (`tumorBorder`).
    public let tumorBorder: [Double]

    /// The class names for labels 1, 2 and 3.
    public static let classNames = ["meningioma", "glioma", "pituitary"]

    /// The name of `label`: "meningioma", "glioma" or "pituitary".
    public var className: String { Self.classNames[label - 1] }

    /// The first bytes of a MATLAB v5 (or v6/v7, non-HDF5) MAT-file's text header.
    static let version5Header = Data("MATLAB 5.0 MAT-file".utf8)

    /// Reads the brain-tumour `.mat` file at `url`; throws `ImagingError` naming the file (and the member)
    /// when it is missing, not HDF5 (a MATLAB v5 file is named as such), lacks `cjdata` or one of its
    /// members, has shapes that do not fit (an image that is not 2-D, a mask of another size), a mask
    /// value other than 0 and 1, or a label outside 1…3.
    public static func read(contentsOf url: URL) throws -> BrainTumourMAT {
        let bytes = try FileBytes.read(contentsOf: url)
        guard HDF5File.hasSignature(bytes) else {
            if bytes.starts(with: version5Header) {
                throw ImagingError(file: url.path, problem: "is a MATLAB v5 file; only v7.3 (HDF5) is supported")
            }
            throw ImagingError(file: url.path, problem: "is not a MATLAB v7.3 file (no HDF5 signature)")
        }
        return try HDF5File.reading(url, fileSize: bytes.count) { file in
            guard try file.contains("cjdata") else { throw file.error("cjdata", "is missing: not a brain-tumour data file") }
            let image = try readMatrix(file, "cjdata/image", source: url)
            let mask = try readMatrix(file, "cjdata/tumorMask", source: url)
            guard mask.width == image.width, mask.height == image.height else {
                throw file.error("cjdata/tumorMask", "is \(mask.height)×\(mask.width), not the image's \(image.height)×\(image.width)")
            }
            if let value = mask.pixels.first(where: { $0 != 0 && $0 != 1 }) {
                throw file.error("cjdata/tumorMask", "holds \(value); a mask holds only 0 and 1")
            }
            return BrainTumourMAT(image: image, label: try readLabel(file), patientID: try readPatientID(file),
                                  tumorMask: mask, tumorBorder: try readVector(file, "cjdata/tumorBorder"))
        }
    }

    /// A 2-D MATLAB array as a 1-channel image in MATLAB's orientation (the transpose of HDF5's C order).
    static func readMatrix(_ file: HDF5File, _ path: String, source: URL) throws -> Image2D {
        let stored = try file.read(path, as: H5T_NATIVE_FLOAT_g, Float.self)
        guard stored.dimensions.count == 2, !stored.isMATLABEmpty, stored.values.count > 0 else {
            throw file.error(path, "is not a 2-D array (HDF5 dimensions \(stored.dimensions))")
        }
        let (width, height) = (stored.dimensions[0], stored.dimensions[1])
        var pixels = [Float](repeating: 0, count: stored.values.count)
        stored.values.withUnsafeBufferPointer { columnMajor in
            pixels.withUnsafeMutableBufferPointer { rowMajor in
                for x in 0..<width {
                    for y in 0..<height { rowMajor[y * width + x] = columnMajor[x * height + y] }
                }
            }
        }
        let bitDepth = stored.storedType.isInteger ? 8 * stored.storedType.byteCount : 32
        return Image2D(width: width, height: height, channels: 1, pixels: pixels, bitDepth: bitDepth, source: source)
    }

    /// A MATLAB array's elements in MATLAB's linear (column-major) order; empty for an empty array.
    static func readVector(_ file: HDF5File, _ path: String) throws -> [Double] {
        let stored = try file.read(path, as: H5T_NATIVE_DOUBLE_g, Double.self)
        return stored.isMATLABEmpty ? [] : stored.values
    }

    static func readLabel(_ file: HDF5File) throws -> Int {
        let path = "cjdata/label"
        let values = try readVector(file, path)
        guard values.count == 1 else { throw file.error(path, "holds \(values.count) values, not one") }
        guard let label = Int(exactly: values[0]), (1...classNames.count).contains(label) else {
            throw file.error(path, "is \(values[0]), not 1 (meningioma), 2 (glioma) or 3 (pituitary)")
        }
        return label
    }

    static func readPatientID(_ file: HDF5File) throws -> String {
        let stored = try file.read("cjdata/PID", as: H5T_NATIVE_USHORT_g, UInt16.self)
        return stored.isMATLABEmpty ? "" : String(decoding: stored.values, as: UTF16.self)
    }
}
