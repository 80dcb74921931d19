/// A checkpoint or array file that cannot be used, naming the file and what is wrong with it.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// Path of the offending file (or a description of the source when there is no file).
    public let file: String
    /// What is wrong, in words a user can act on.
    public let problem: String

    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
