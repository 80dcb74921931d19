/// A DICOM attribute tag `(gggg,eeee)`: a 16-bit group and a 16-bit element number.
///
/// The named constants are the attributes RadProbe reads; `implicitVR` gives their value
/// representations for data sets encoded in Implicit VR Little Endian, where the file carries no VR.
public struct DICOMTag: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Group number (the first four hex digits).
    public let group: UInt16
    /// Element number (the last four hex digits).
    public let element: UInt16

    /// The tag `(group,element)`.
    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// Group and element as one number, `group << 16 | element` (the order tags are sorted in).
    public var value: UInt32 { UInt32(group) << 16 | UInt32(element) }

    public static func < (lhs: DICOMTag, rhs: DICOMTag) -> Bool { lhs.value < rhs.value }

    /// `(GGGG,EEEE)` in upper-case hex, as the standard writes tags.
    public var description: String { "(\(hex(group)),\(hex(element)))" }

    private func hex(_ number: UInt16) -> String {
        let digits = String(number, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    // MARK: - File meta information

    public static let transferSyntaxUID = DICOMTag(0x0002, 0x0010)
    public static let mediaStorageSOPClassUID = DICOMTag(0x0002, 0x0002)

    // MARK: - Patient, study, series, instance

    public static let sopClassUID = DICOMTag(0x0008, 0x0016)
    public static let modality = DICOMTag(0x0008, 0x0060)
    public static let studyDescription = DICOMTag(0x0008, 0x1030)
    public static let seriesDescription = DICOMTag(0x0008, 0x103E)
    public static let patientID = DICOMTag(0x0010, 0x0020)
    public static let sliceThickness = DICOMTag(0x0018, 0x0050)
    public static let spacingBetweenSlices = DICOMTag(0x0018, 0x0088)
    public static let seriesInstanceUID = DICOMTag(0x0020, 0x000E)
    public static let instanceNumber = DICOMTag(0x0020, 0x0013)
    public static let imagePositionPatient = DICOMTag(0x0020, 0x0032)
    public static let imageOrientationPatient = DICOMTag(0x0020, 0x0037)

    // MARK: - Image pixel description

    public static let samplesPerPixel = DICOMTag(0x0028, 0x0002)
    public static let photometricInterpretation = DICOMTag(0x0028, 0x0004)
    public static let planarConfiguration = DICOMTag(0x0028, 0x0006)
    public static let numberOfFrames = DICOMTag(0x0028, 0x0008)
    public static let rows = DICOMTag(0x0028, 0x0010)
    public static let columns = DICOMTag(0x0028, 0x0011)
    public static let pixelSpacing = DICOMTag(0x0028, 0x0030)
    public static let bitsAllocated = DICOMTag(0x0028, 0x0100)
    public static let bitsStored = DICOMTag(0x0028, 0x0101)
    public static let highBit = DICOMTag(0x0028, 0x0102)
    public static let pixelRepresentation = DICOMTag(0x0028, 0x0103)
    public static let windowCenter = DICOMTag(0x0028, 0x1050)
    public static let windowWidth = DICOMTag(0x0028, 0x1051)
    public static let rescaleIntercept = DICOMTag(0x0028, 0x1052)
    public static let rescaleSlope = DICOMTag(0x0028, 0x1053)
    public static let pixelData = DICOMTag(0x7FE0, 0x0010)

    // MARK: - Enhanced multi-frame functional groups

    public static let sharedFunctionalGroupsSequence = DICOMTag(0x5200, 0x9229)
    public static let perFrameFunctionalGroupsSequence = DICOMTag(0x5200, 0x9230)
    public static let pixelMeasuresSequence = DICOMTag(0x0028, 0x9110)
    public static let planePositionSequence = DICOMTag(0x0020, 0x9113)
    public static let planeOrientationSequence = DICOMTag(0x0020, 0x9116)
    public static let pixelValueTransformationSequence = DICOMTag(0x0028, 0x9145)
    public static let frameVOILUTSequence = DICOMTag(0x0028, 0x9132)

    // MARK: - Sequence framing (no VR, in every encoding)

    static let item = DICOMTag(0xFFFE, 0xE000)
    static let itemDelimitation = DICOMTag(0xFFFE, 0xE00D)
    static let sequenceDelimitation = DICOMTag(0xFFFE, 0xE0DD)

    /// Value representations of the named attributes, used when a data set is in Implicit VR Little
    /// Endian; any other tag there reads as `UN` (its bytes kept, numbers parsed as text if asked).
    static let implicitVR: [DICOMTag: String] = [
        transferSyntaxUID: "UI", mediaStorageSOPClassUID: "UI", sopClassUID: "UI", modality: "CS",
        studyDescription: "LO", seriesDescription: "LO", patientID: "LO", sliceThickness: "DS",
        spacingBetweenSlices: "DS", seriesInstanceUID: "UI", instanceNumber: "IS", imagePositionPatient: "DS",
        imageOrientationPatient: "DS", samplesPerPixel: "US", photometricInterpretation: "CS",
        planarConfiguration: "US", numberOfFrames: "IS", rows: "US", columns: "US", pixelSpacing: "DS",
        bitsAllocated: "US", bitsStored: "US", highBit: "US", pixelRepresentation: "US", windowCenter: "DS",
        windowWidth: "DS", rescaleIntercept: "DS", rescaleSlope: "DS", pixelData: "OW",
        sharedFunctionalGroupsSequence: "SQ", perFrameFunctionalGroupsSequence: "SQ", pixelMeasuresSequence: "SQ",
        planePositionSequence: "SQ", planeOrientationSequence: "SQ", pixelValueTransformationSequence: "SQ",
        frameVOILUTSequence: "SQ",
    ]
}
