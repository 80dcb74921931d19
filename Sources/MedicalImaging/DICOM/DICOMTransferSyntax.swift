/// A DICOM transfer syntax: how a data set is encoded (VR explicit or implicit, byte order, deflate)
/// and how its pixel data is stored (native, or encapsulated in a compressed format).
public struct DICOMTransferSyntax: Equatable, Sendable, CustomStringConvertible {
    /// The UID, e.g. `1.2.840.10008.1.2.1`.
    public let uid: String
    /// The standard's name, e.g. `Explicit VR Little Endian`, or `unknown transfer syntax`.
    public let name: String
    /// Whether elements carry their VR.
    public let isExplicitVR: Bool
    /// Whether binary numbers are big-endian.
    public let isBigEndian: Bool
    /// Whether the data set after the file meta group is a raw deflate stream.
    public let isDeflated: Bool
    /// Whether Pixel Data is encapsulated (compressed fragments) rather than native.
    public let isEncapsulated: Bool

    public var description: String { "\(name) (\(uid))" }

    public static let implicitVRLittleEndian = DICOMTransferSyntax(
        uid: "1.2.840.10008.1.2", name: "Implicit VR Little Endian",
        isExplicitVR: false, isBigEndian: false, isDeflated: false, isEncapsulated: false)
    public static let explicitVRLittleEndian = DICOMTransferSyntax(
        uid: "1.2.840.10008.1.2.1", name: "Explicit VR Little Endian",
        isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: false)
    public static let deflatedExplicitVRLittleEndian = DICOMTransferSyntax(
        uid: "1.2.840.10008.1.2.1.99", name: "Deflated Explicit VR Little Endian",
        isExplicitVR: true, isBigEndian: false, isDeflated: true, isEncapsulated: false)
    public static let explicitVRBigEndian = DICOMTransferSyntax(
        uid: "1.2.840.10008.1.2.2", name: "Explicit VR Big Endian",
        isExplicitVR: true, isBigEndian: true, isDeflated: false, isEncapsulated: false)
    public static let rleLossless = encapsulated("1.2.840.10008.1.2.5", "RLE Lossless")

    /// The encapsulated syntaxes known by name (all explicit VR little endian); only RLE Lossless is decoded.
    static let encapsulatedSyntaxes: [DICOMTransferSyntax] = [
        rleLossless,
        encapsulated("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
        encapsulated("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
        encapsulated("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
        encapsulated("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])"),
        encapsulated("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression"),
        encapsulated("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression"),
        encapsulated("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)"),
        encapsulated("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression"),
        encapsulated("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)"),
        encapsulated("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression"),
        encapsulated("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
        encapsulated("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"),
        encapsulated("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"),
        encapsulated("1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"),
        encapsulated("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)"),
        encapsulated("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)"),
        encapsulated("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression"),
    ]

    private static func encapsulated(_ uid: String, _ name: String) -> DICOMTransferSyntax {
        DICOMTransferSyntax(uid: uid, name: name, isExplicitVR: true, isBigEndian: false, isDeflated: false,
                            isEncapsulated: true)
    }

    /// The syntax with `uid`. An unknown UID is taken as explicit VR little endian (how every
    /// compressed syntax encodes its data set) with encapsulated pixel data, named `unknown transfer syntax`.
    public static func named(_ uid: String) -> DICOMTransferSyntax {
        let known = [implicitVRLittleEndian, explicitVRLittleEndian, deflatedExplicitVRLittleEndian, explicitVRBigEndian]
            + encapsulatedSyntaxes
        return known.first { $0.uid == uid } ?? encapsulated(uid, "unknown transfer syntax")
    }
}
