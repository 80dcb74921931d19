/// A checkpoint, configuration or input that the Segment Anything image encoder cannot use; the message
/// names the file or tensor and says what was expected.
public struct SAMError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
