/// A (height, width) pair: a kernel size, a stride or a zero padding. An integer literal sets both,
/// as PyTorch accepts `kernel_size=3` for `(3, 3)`.
public struct Size2D: Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public let height: Int
    public let width: Int

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    /// The same extent along both axes.
    public init(_ both: Int) { self.init(height: both, width: both) }

    public init(integerLiteral value: Int) { self.init(value) }

    public var description: String { "\(height)×\(width)" }
}
