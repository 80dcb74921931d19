import Foundation

/// A problem in an experiment file, at `line`:`column` (1-based, when known): printed as
/// `FILE:LINE:COLUMN: PROBLEM`.
public struct ExperimentFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let line: Int?
    public let column: Int?
    public let problem: String

    public init(file: String, line: Int? = nil, column: Int? = nil, problem: String) {
        self.file = file
        self.line = line
        self.column = column
        self.problem = problem
    }

    public var description: String {
        let position = line.map { ":\($0)" + (column.map { ":\($0)" } ?? "") } ?? ""
        return "\(file)\(position): \(problem)"
    }
}
