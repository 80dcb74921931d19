/// Colour conversions that turn stored DICOM colour samples into RGB for display, as pydicom 2.3's
/// `convert_color_space` and `apply_color_lut` do. Frames are planar `[3, rows, columns]` (RGB) or
/// `[1, rows, columns]` (palette indices), as `DICOMPixelDecoder` gives them.
enum DICOMColour {
    /// The Photometric Interpretations `DICOMFile.displayImages()` shows: grey and RGB as decoded,
    /// YBR_FULL (and YBR_FULL_422 once decoded to full resolution) and PALETTE COLOR converted to RGB.
    static let displayable = ["MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR"]

    /// The YCbCr → RGB matrix of PS3.3 C.7.6.3.1.2 (ITU-T T.871), `ybrToRGB[k][c]` weighting input
    /// `k` (Y, Cb − 128, Cr − 128) in output `c` (R, G, B): each entry computed in `Double` and rounded
    /// to `Float`, as pydicom builds it.
    static let ybrToRGB: [[Float]] = [
        [1.000, 1.000, 1.000],
        [0.000, Float(-0.114 * 1.772 / 0.587), 1.772],
        [1.402, Float(-0.299 * 1.402 / 0.587), 0.000],
    ]

    /// YBR_FULL → RGB for 8-bit samples: with `y = Y`, `b = Cb − 128`, `r = Cr − 128` (exact in `Float`),
    /// each output is `clip(⌊acc + 0.5⌋, 0, 255)` where `acc = y·m₀꜀`, then `acc = fma(b, m₁꜀, acc)`, then
    /// `acc = fma(r, m₂꜀, acc)`, all in `Float`. That is pydicom's `_convert_YBR_FULL_to_RGB` (a float32
    /// `np.matmul`) to the last bit: NumPy hands the product to BLAS, whose float32 kernels (OpenBLAS
    /// on x86-64) accumulate the three terms in this order with fused multiply-adds.
    /// `planes` is `[Y plane, Cb plane, Cr plane]` of `pixels` samples each; the result is RGB planes.
    static func rgb(fromYBRFull planes: [Float], pixels: Int) -> [Float] {
        let m = ybrToRGB
        return [Float](unsafeUninitializedCapacity: 3 * pixels) { out, initialized in
            planes.withUnsafeBufferPointer { ybr in
                for n in 0..<pixels {
                    let y = ybr[n], b = ybr[pixels + n] - 128, r = ybr[2 * pixels + n] - 128
                    for c in 0..<3 {
                        let sum = (y * m[0][c]).addingProduct(b, m[1][c]).addingProduct(r, m[2][c])
                        out[c * pixels + n] = min(max((sum + 0.5).rounded(.down), 0), 255)
                    }
                }
            }
            initialized = 3 * pixels
        }
    }
}

/// A Palette Color Lookup Table (PS3.3 C.7.6.3.1.5–6, C.7.9): the Red, Green and Blue tables that map a
/// PALETTE COLOR pixel's stored value `v` to an RGB colour.
///
/// Descriptor (0028,1101–1103), three 16-bit values: the number of entries (0 meaning 65536), the
/// first stored value mapped (two's complement when Pixel Representation is 1 and the VR is not
/// stated as US, as pydicom reads it) and the bits per entry (8 or 16). As in pydicom's
/// `apply_color_lut`, only the Red descriptor is read (the standard makes the three identical), and the
/// entry width is taken from the Red data's length: one byte per entry (an odd count padded by one
/// byte allowed) or two, in the data set's byte order. The colour of `v` is entry
/// `clamp(v − first, 0, entries − 1)` of each table (values below the first mapped one take the first
/// entry, values past the table its last). The samples are the table entries as stored: 0…255 for
/// 8-bit entries, 0…65535 for 16-bit ones.
///
/// Differences from pydicom 2.3.1, all on inputs its own code mishandles: it reads 16-bit tables as
/// little-endian whatever the data set's byte order; it converts `v − first` to the table's entry type
/// before clamping, so an index of 256 or more into an 8-bit table wraps around; it keeps an Alpha
/// table (RadProbe drops alpha, like everywhere else). Segmented tables (0028,1221–1223) and the
/// Supplemental Palette Color LUT module (Pixel Presentation COLOR or MIXED) are refused.
struct DICOMPalette {
    /// Entries per table.
    let entries: Int
    /// The stored value that maps to entry 0.
    let firstMapped: Int
    /// 8 or 16: the width of each entry in the data.
    let bitsPerEntry: Int
    /// Red, green and blue tables, each of `entries` values.
    let tables: [[Float]]

    static let redDescriptor = DICOMTag(0x0028, 0x1101)
    static let dataTags = [DICOMTag(0x0028, 0x1201), DICOMTag(0x0028, 0x1202), DICOMTag(0x0028, 0x1203)]
    static let segmentedRedData = DICOMTag(0x0028, 0x1221)
    static let pixelPresentation = DICOMTag(0x0008, 0x9205)
    static let colourNames = ["Red", "Green", "Blue"]

    /// Reads and checks the palette of `dataSet`, whose pixels are signed when `isSigned`.
    init(_ dataSet: DICOMDataSet, isSigned: Bool, file: String) throws {
        func fail(_ problem: String) -> ImagingError { ImagingError(file: file, problem: problem) }
        if let presentation = dataSet.string(Self.pixelPresentation), ["COLOR", "MIXED"].contains(presentation) {
            throw fail("has Pixel Presentation \(presentation) (a Supplemental Palette Color LUT), which RadProbe does not apply")
        }
        guard let descriptor = dataSet[Self.redDescriptor], case .bytes(let descriptorBytes) = descriptor.value,
              descriptorBytes.count == 6, ["US", "SS", "UN", "OW", "OB"].contains(descriptor.vr) else {
            throw fail("has PALETTE COLOR pixels but no usable Red Palette Color Lookup Table Descriptor \(Self.redDescriptor) "
                + "(three 16-bit values)")
        }
        let words: [UInt16] = (0..<3).map { index in
            let (first, second) = (UInt16(descriptorBytes[2 * index]), UInt16(descriptorBytes[2 * index + 1]))
            return descriptor.isBigEndian ? first << 8 | second : second << 8 | first
        }
        let firstIsSigned = descriptor.vr == "SS" || (descriptor.vr != "US" && isSigned)
        let entries = words[0] == 0 ? 65536 : Int(words[0])
        firstMapped = firstIsSigned ? Int(Int16(bitPattern: words[1])) : Int(words[1])
        guard words[2] == 8 || words[2] == 16 else {
            throw fail("has a Red Palette Color Lookup Table Descriptor \(Self.redDescriptor) with \(words[2]) bits per entry "
                + "(8 or 16 expected)")
        }
        var data: [[UInt8]] = []
        for (tag, colour) in zip(Self.dataTags, Self.colourNames) {
            guard let element = dataSet[tag], case .bytes(let bytes) = element.value, !bytes.isEmpty else {
                if dataSet.contains(Self.segmentedRedData) {
                    throw fail("has a segmented palette (Segmented Red Palette Color Lookup Table Data \(Self.segmentedRedData)), "
                        + "which RadProbe does not expand")
                }
                throw fail("has PALETTE COLOR pixels but no \(colour) Palette Color Lookup Table Data \(tag)")
            }
            data.append(bytes)
        }
        let count = data[0].count
        let bitsPerEntry: Int
        if count == 2 * entries {
            bitsPerEntry = 16
        } else if count == entries || (count == entries + 1 && entries % 2 == 1) {
            bitsPerEntry = 8
        } else {
            throw fail("has a Red Palette Color Lookup Table Descriptor \(Self.redDescriptor) of \(entries) entries, but its data "
                + "holds \(count) bytes (\(entries) or \(2 * entries) expected)")
        }
        guard data.allSatisfy({ $0.count == count }) else {
            throw fail("has Red, Green and Blue Palette Color Lookup Table Data of different lengths "
                + "(\(data.map { String($0.count) }.joined(separator: ", ")) bytes)")
        }
        let bigEndian = dataSet[Self.dataTags[0]]?.isBigEndian ?? false
        self.entries = entries
        self.bitsPerEntry = bitsPerEntry
        tables = data.map { bytes in
            (0..<entries).map { n in
                guard bitsPerEntry == 16 else { return Float(bytes[n]) }
                let (first, second) = (UInt16(bytes[2 * n]), UInt16(bytes[2 * n + 1]))
                return Float(bigEndian ? first << 8 | second : second << 8 | first)
            }
        }
    }

    /// The RGB planes `[3, pixels]` for one frame of stored values (`indices`, one plane).
    func rgb(indices: [Float]) -> [Float] {
        let pixels = indices.count
        return [Float](unsafeUninitializedCapacity: 3 * pixels) { out, initialized in
            for n in 0..<pixels {
                let entry = min(max(Int(indices[n]) - firstMapped, 0), entries - 1)
                for c in 0..<3 { out[c * pixels + n] = tables[c][entry] }
            }
            initialized = 3 * pixels
        }
    }
}
