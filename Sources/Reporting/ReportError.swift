/// A report that cannot be made, with a message that says why.
public struct ReportError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
