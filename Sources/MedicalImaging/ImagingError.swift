/// A problem reading or preparing an image, naming the file: its description is `"<file>: <problem>"`,
/// e.g. `"/data/cxr/0001.png: is not a PNG file (wrong signature …)"`.
public struct ImagingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path of the file concerned (or a caller-chosen label for in-memory data).
    public let file: String
    /// What is wrong, phrased to follow the file name (e.g. "is truncated: …").
    public let problem: String

    /// An error about `file`.
    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
