/// Formats a shape the way PyTorch prints it, e.g. `[1, 257, 384]`, for error messages.
public func describeShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
