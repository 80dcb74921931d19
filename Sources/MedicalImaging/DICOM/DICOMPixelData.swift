/// The Image Pixel module of a data set: how many samples Pixel Data holds and how each is stored.
///
/// A frame holds `rows × columns × samplesPerPixel` samples of `bitsAllocated` bits (1, 8, 16 or 32).
/// The value of a sample is bits `highBit − bitsStored + 1 … highBit` of its allocated bits, read as
/// unsigned, or as two's complement when `isSigned` (Pixel Representation 1), as PS3.5 §8.1.1 says; the
/// bits outside are ignored. (pydicom 2.3's `pixel_array` returns the allocated bits as they are, which
/// agrees whenever the unused high bits are zero for unsigned data and copies of the sign bit for signed
/// data, as writers store them.) Colour samples come interleaved (`planarConfiguration` 0: R G B R G B …)
/// or as planes (1: all R, then all G, then all B).
public struct DICOMPixelLayout: Equatable, Sendable {
    /// Rows (image height).
    public let rows: Int
    /// Columns (image width).
    public let columns: Int
    /// Samples per Pixel: 1 (grey) or 3 (colour).
    public let samplesPerPixel: Int
    /// Planar Configuration: 0 (samples interleaved) or 1 (one plane per sample); 0 when absent.
    public let planarConfiguration: Int
    /// Number of Frames (1 when absent).
    public let frames: Int
    /// Bits Allocated per sample: 1, 8, 16 or 32.
    public let bitsAllocated: Int
    /// Bits Stored (Bits Allocated when absent).
    public let bitsStored: Int
    /// High Bit (Bits Stored − 1 when absent).
    public let highBit: Int
    /// Pixel Representation 1: samples are two's complement.
    public let isSigned: Bool
    /// Photometric Interpretation, e.g. `MONOCHROME2`, `MONOCHROME1`, `RGB`, `PALETTE COLOR`.
    public let photometricInterpretation: String

    /// Samples in one frame: `rows × columns × samplesPerPixel`.
    public var samplesPerFrame: Int { rows * columns * samplesPerPixel }

    /// The smallest and largest value a sample of `bitsStored` bits can hold.
    public var storedRange: (min: Double, max: Double) {
        isSigned ? (-Double(1 << (bitsStored - 1)), Double(1 << (bitsStored - 1)) - 1)
                 : (0, Double((1 << bitsStored) - 1))
    }

    /// The NumPy-style name of the allocated sample type, e.g. `int16`, `uint8` (`uint1` for bit-packed data).
    public var storedType: String { (isSigned ? "int" : "uint") + String(bitsAllocated) }

    /// Reads and checks the Image Pixel attributes of `dataSet`; `file` names it in errors.
    init(_ dataSet: DICOMDataSet, file: String) throws {
        func fail(_ problem: String) -> ImagingError { ImagingError(file: file, problem: problem) }
        func required(_ tag: DICOMTag, _ name: String) throws -> Int {
            guard let value = dataSet.int(tag) else { throw fail("has no usable \(name) \(tag), needed to decode its pixels") }
            return value
        }
        rows = try required(.rows, "Rows")
        columns = try required(.columns, "Columns")
        bitsAllocated = try required(.bitsAllocated, "Bits Allocated")
        samplesPerPixel = dataSet.int(.samplesPerPixel) ?? 1
        planarConfiguration = dataSet.int(.planarConfiguration) ?? 0
        frames = dataSet.int(.numberOfFrames) ?? 1
        bitsStored = dataSet.int(.bitsStored) ?? bitsAllocated
        highBit = dataSet.int(.highBit) ?? bitsStored - 1
        isSigned = dataSet.int(.pixelRepresentation) == 1
        photometricInterpretation = dataSet.string(.photometricInterpretation) ?? "MONOCHROME2"
        guard rows > 0, columns > 0, rows <= 65535, columns <= 65535 else {
            throw fail("has an invalid image size: \(rows) rows × \(columns) columns")
        }
        guard [1, 8, 16, 32].contains(bitsAllocated) else {
            throw fail("has Bits Allocated \(bitsAllocated); RadProbe decodes 1, 8, 16 or 32")
        }
        guard bitsStored >= 1, bitsStored <= bitsAllocated, highBit < bitsAllocated, highBit + 1 >= bitsStored else {
            throw fail("has inconsistent bit counts: Bits Allocated \(bitsAllocated), Bits Stored \(bitsStored), High Bit \(highBit)")
        }
        guard samplesPerPixel == 1 || samplesPerPixel == 3 else {
            throw fail("has \(samplesPerPixel) samples per pixel; RadProbe decodes 1 (grey) or 3 (colour)")
        }
        guard planarConfiguration == 0 || planarConfiguration == 1 else {
            throw fail("has an invalid Planar Configuration \(planarConfiguration) (0 or 1)")
        }
        guard frames >= 1 else { throw fail("has Number of Frames \(frames); at least 1 is needed") }
        let (samples, overflow) = (rows * columns * samplesPerPixel).multipliedReportingOverflow(by: frames)
        guard !overflow, samples <= 1 << 34 else { throw fail("declares too many pixels (\(frames) frames of \(rows) × \(columns))") }
    }

    /// Converts allocated bits to sample values: shift out the bits below Bits Stored, keep Bits Stored
    /// bits, and sign-extend them when signed (shifted up to bit 31, then arithmetically back down).
    struct SampleFormat {
        let shift: UInt32
        let mask: UInt32
        /// 32 − Bits Stored: the shift that puts the sign bit of a stored value at bit 31.
        let signShift: UInt32
        let isSigned: Bool

        init(_ layout: DICOMPixelLayout) {
            shift = UInt32(layout.highBit + 1 - layout.bitsStored)
            mask = layout.bitsStored == 32 ? .max : (1 << UInt32(layout.bitsStored)) - 1
            signShift = UInt32(32 - layout.bitsStored)
            isSigned = layout.isSigned
        }

        /// Branch-free, so that loops over it vectorise (the shifts are below 32: the layout checks
        /// 1 ≤ Bits Stored ≤ High Bit + 1 ≤ Bits Allocated ≤ 32).
        @inline(__always) func value(_ raw: UInt32) -> Float {
            let bits = raw &>> shift
            return isSigned ? Float(Int32(bitPattern: bits &<< signShift) &>> Int32(signShift)) : Float(bits & mask)
        }

        /// `out[n] = value(raw(n))` for `n < count`. The sign test sits outside the loop so that each copy
        /// of the loop compiles with `isSigned` known, to straight-line vector code (measured faster than one loop).
        @inline(__always) func convert(_ count: Int, into out: UnsafeMutablePointer<Float>, raw: (Int) -> UInt32) {
            if isSigned {
                for n in 0..<count { out[n] = value(raw(n)) }
            } else {
                for n in 0..<count { out[n] = value(raw(n)) }
            }
        }
    }
}

/// Decodes Pixel Data to stored sample values (no rescale), one frame at a time, planar
/// `[samplesPerPixel, rows, columns]` as `Float`.
///
/// Native data: frame `f` starts at byte `f × rows × columns × samplesPerPixel × bitsAllocated / 8`
/// (1-bit data is packed across frames, least significant bit first, as PS3.5 §8.1.1 packs it);
/// samples are in the data set's byte order (8-bit data in an `OW` element of a big-endian data set
/// is byte-swapped in pairs). Data longer than needed (padding) is accepted; shorter is an error.
/// RLE Lossless: see `DICOMRLE`. Other encapsulated syntaxes are refused, naming the syntax.
struct DICOMPixelDecoder {
    let layout: DICOMPixelLayout
    let element: DICOMElement
    let transferSyntax: DICOMTransferSyntax
    let file: String

    init(dataSet: DICOMDataSet, transferSyntax: DICOMTransferSyntax, file: String) throws {
        guard let element = dataSet[.pixelData] else {
            throw ImagingError(file: file, problem: "has no Pixel Data (7FE0,0010): it holds no image"
                + (dataSet.string(.modality).map { " (modality \($0))" } ?? ""))
        }
        layout = try DICOMPixelLayout(dataSet, file: file)
        self.element = element
        self.transferSyntax = transferSyntax
        self.file = file
        if layout.photometricInterpretation.hasPrefix("YBR_") && layout.photometricInterpretation != "YBR_FULL"
            && !transferSyntax.isEncapsulated {
            throw ImagingError(file: file, problem: "has \(layout.photometricInterpretation) pixels (chroma subsampled), "
                + "which RadProbe does not decode")
        }
    }

    func fail(_ problem: String) -> ImagingError { ImagingError(file: file, problem: problem) }

    /// Every frame's stored values, planar `[samplesPerPixel, rows, columns]`.
    func frames() throws -> [[Float]] {
        switch element.value {
        case .bytes(let bytes):
            guard !transferSyntax.isEncapsulated else {
                throw fail("has native Pixel Data although its transfer syntax \(transferSyntax) is compressed")
            }
            try checkNativeLength(bytes.count)
            return (0..<layout.frames).map { nativeFrame(bytes, index: $0) }
        case .encapsulated(let table, let fragments):
            guard transferSyntax.isEncapsulated else {
                throw fail("has encapsulated Pixel Data although its transfer syntax \(transferSyntax) is native")
            }
            guard transferSyntax == .rleLossless else {
                let known = transferSyntax.name == "unknown transfer syntax"
                    ? "an unknown transfer syntax (\(transferSyntax.uid))" : "\(transferSyntax)"
                throw fail("uses \(known), which RadProbe cannot decode; convert it with e.g. `gdcmconv --raw`")
            }
            let frameData = try encapsulatedFrames(table: table, fragments: fragments)
            return try frameData.enumerated().map { index, data in
                try DICOMRLE.decodeFrame(data, layout: layout, frame: index, file: file)
            }
        case .sequence:
            throw fail("has a Pixel Data element that is a sequence")
        }
    }

    func checkNativeLength(_ count: Int) throws {
        let samples = layout.samplesPerFrame * layout.frames
        let (bits, overflow) = samples.multipliedReportingOverflow(by: layout.bitsAllocated)
        // 8-bit samples in big-endian OW are read from swapped byte pairs, so the last pair must be whole.
        let swapsPairs = element.isBigEndian && element.vr == "OW" && layout.bitsAllocated == 8
        let needed = swapsPairs ? ((bits + 15) / 16) * 2 : (bits + 7) / 8
        guard !overflow, count >= needed else {
            throw fail("is truncated: Pixel Data holds \(count) bytes, but \(layout.frames) frame(s) of \(layout.rows) × "
                + "\(layout.columns) × \(layout.samplesPerPixel) samples of \(layout.bitsAllocated) bits need \(needed)")
        }
    }

    /// Frame `index` of native data whose length `checkNativeLength` accepted.
    func nativeFrame(_ bytes: [UInt8], index: Int) -> [Float] {
        let count = layout.samplesPerFrame
        let format = DICOMPixelLayout.SampleFormat(layout)
        let bigEndian = element.isBigEndian
        let interleaved = layout.samplesPerPixel == 3 && layout.planarConfiguration == 0
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard let out = buffer.baseAddress else { return }
            adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            // Offsets use wrapping arithmetic (which lets the loops vectorise): `checkNativeLength` has
            // checked that every sample of every frame lies inside `bytes`.
            bytes.withUnsafeBytes { data in
                switch layout.bitsAllocated {
                case 1:
                    let first = index * count
                    format.convert(count, into: out) { n in UInt32(data[(first &+ n) &>> 3] &>> UInt8((first &+ n) & 7)) & 1 }
                case 8:
                    let base = index * count
                    if bigEndian && element.vr == "OW" {
                        format.convert(count, into: out) { n in UInt32(data[(base &+ n) ^ 1]) }
                    } else {
                        format.convert(count, into: out) { n in UInt32(data[base &+ n]) }
                    }
                case 16:
                    let base = index * count * 2
                    func stored(_ n: Int) -> UInt16 { data.loadUnaligned(fromByteOffset: base &+ 2 &* n, as: UInt16.self) }
                    if bigEndian {
                        format.convert(count, into: out) { UInt32(UInt16(bigEndian: stored($0))) }
                    } else {
                        format.convert(count, into: out) { UInt32(UInt16(littleEndian: stored($0))) }
                    }
                default:
                    let base = index * count * 4
                    func stored(_ n: Int) -> UInt32 { data.loadUnaligned(fromByteOffset: base &+ 4 &* n, as: UInt32.self) }
                    if bigEndian {
                        format.convert(count, into: out) { UInt32(bigEndian: stored($0)) }
                    } else {
                        format.convert(count, into: out) { UInt32(littleEndian: stored($0)) }
                    }
                }
            }
            initialized = count
        }
        return interleaved ? Self.planar(interleaved: values, pixels: layout.rows * layout.columns) : values
    }

    /// `R G B R G B …` → `R R … G G … B B …`.
    static func planar(interleaved values: [Float], pixels: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: values.count) { planes, initialized in
            values.withUnsafeBufferPointer { rgb in
                for pixel in 0..<pixels {
                    for channel in 0..<3 { planes[channel * pixels + pixel] = rgb[pixel * 3 + channel] }
                }
            }
            initialized = values.count
        }
    }

    /// The bytes of each frame of encapsulated data: all fragments for a single frame; else the fragments
    /// the Basic Offset Table assigns to each frame; else, without a table, one fragment per frame.
    func encapsulatedFrames(table: [UInt8], fragments: [(offset: Int, bytes: [UInt8])]) throws -> [[UInt8]] {
        guard !fragments.isEmpty else { throw fail("has encapsulated Pixel Data without any fragment") }
        let frames = layout.frames
        if frames == 1 { return [fragments.flatMap(\.bytes)] }
        if table.isEmpty {
            guard fragments.count == frames else {
                throw fail("has \(fragments.count) Pixel Data fragments for \(frames) frames and no Basic Offset Table "
                    + "to assign them")
            }
            return fragments.map(\.bytes)
        }
        guard table.count == 4 * frames else {
            throw fail("has a Basic Offset Table of \(table.count / 4) entries for \(frames) frames")
        }
        let starts = (0..<frames).map { k in
            (0..<4).reduce(0) { $0 | Int(table[4 * k + $1]) << (8 * $1) }
        }
        var result: [[UInt8]] = []
        for k in 0..<frames {
            let end = k + 1 < frames ? starts[k + 1] : Int.max
            guard starts[k] < end, fragments.contains(where: { $0.offset == starts[k] }) else {
                throw fail("has a Basic Offset Table entry \(starts[k]) for frame \(k + 1) that starts no fragment")
            }
            result.append(fragments.filter { $0.offset >= starts[k] && $0.offset < end }.flatMap(\.bytes))
        }
        return result
    }
}
