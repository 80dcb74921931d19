/// A file that cannot be used, naming the file and what is wrong with it: its description is
/// `"<file>: <problem>"`, e.g. `"/data/cxr/0001.png: is truncated: …"`. Checkpoints call it
/// `CheckpointError`, images `ImagingError`.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Path of the offending file (or a caller-chosen label for in-memory data).
    public let file: String
    /// What is wrong, phrased to follow the file name, in words a user can act on.
    public let problem: String

    /// An error about `file`.
    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
