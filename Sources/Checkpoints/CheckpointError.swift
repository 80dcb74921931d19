@_exported import FileAccess

/// A checkpoint or array file that cannot be used, naming the file and what is wrong with it.
public typealias CheckpointError = FileError

extension FileError {
    /// An error about `file`: `CheckpointError(file: path, "is truncated")`.
    public init(file: String, _ problem: String) {
        self.init(file: file, problem: problem)
    }
}
