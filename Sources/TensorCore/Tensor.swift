/// Reference-counted, 64-byte aligned buffer of `Float`s that backs one or more `Tensor` values.
public final class TensorStorage: @unchecked Sendable {
    /// First element; valid for `count` elements.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of elements allocated.
    public let count: Int

    /// Allocates `count` elements, all set to `value`.
    public convenience init(count: Int, repeating value: Float = 0) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    /// Allocates `count` elements without setting them; the caller writes every one before reading.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count")
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    deinit { pointer.deallocate() }
}

/// A dense, row-major, contiguous tensor of `Float` values: a shape plus shared storage.
///
/// Copies share storage until one of them is written (copy-on-write), so handing tensors between
/// stages costs nothing. Shapes are documented where tensors are stored, e.g. `// [B, N, D]`.
public struct Tensor: @unchecked Sendable {
    /// Extent of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// Elements, row-major; shared between copies until written.
    public private(set) var storage: TensorStorage

    /// Number of elements (the product of `shape`).
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// A tensor of the given shape with every element set to `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.storage = TensorStorage(count: Tensor.elementCount(shape), repeating: value)
    }

    /// A tensor of the given shape holding `values` in row-major order.
    public init(shape: [Int], values: [Float]) {
        precondition(Tensor.elementCount(shape) == values.count,
                     "shape \(shape) needs \(Tensor.elementCount(shape)) values, got \(values.count)")
        self.init(shape: shape)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A tensor of the given shape filled by `body`, which receives zeroed storage.
    public init(shape: [Int], fill body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        self.init(shape: shape)
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// A tensor of the given shape whose every element `body` writes (the storage is not zeroed first:
    /// for kernel outputs, where clearing memory that is about to be overwritten would cost a pass).
    public init(uninitializedShape shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        self.shape = shape
        self.storage = TensorStorage(uninitializedCount: Tensor.elementCount(shape))
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Product of the extents of `shape` (1 for a scalar shape `[]`).
    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1) { precondition($1 >= 0, "negative extent in \(shape)"); return $0 * $1 }
    }

    /// All elements in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    /// Read-only access to the elements.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Write access to the elements; copies the storage first if another tensor shares it.
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            let copy = TensorStorage(count: storage.count)
            copy.pointer.update(from: storage.pointer, count: storage.count)
            storage = copy
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// The same elements viewed with another shape of equal element count (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(newShape) == count, "cannot reshape \(shape) to \(newShape)")
        var result = self
        result.shape = newShape
        return result
    }

    /// Element at a multi-dimensional index (bounds-checked; for tests and small lookups, not hot loops).
    public subscript(_ index: Int...) -> Float {
        get { storage.pointer[flatIndex(index)] }
        set {
            let flat = flatIndex(index)
            withUnsafeMutableBufferPointer { $0[flat] = newValue }
        }
    }

    /// Row-major offset of a multi-dimensional index.
    public func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) does not match shape \(shape)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "index \(index) out of bounds for shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }

    /// Rows `range` of the outermost dimension, copied into a new tensor.
    public func slice(outer range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0], "slice \(range) out of \(shape)")
        let inner = count / max(shape[0], 1)
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape) { out in
            out.baseAddress!.update(from: storage.pointer + range.lowerBound * inner, count: range.count * inner)
        }
    }

    /// Joins tensors along the outermost dimension; all other extents must agree.
    public static func concatenate(_ parts: [Tensor]) -> Tensor {
        guard let first = parts.first else { return Tensor(shape: [0]) }
        if parts.count == 1 { return first }
        for part in parts { precondition(part.shape.dropFirst() == first.shape.dropFirst(), "concatenate: \(part.shape) vs \(first.shape)") }
        let total = parts.reduce(0) { $0 + $1.shape[0] }
        return Tensor(shape: [total] + first.shape.dropFirst()) { out in
            var offset = 0
            for part in parts {
                (out.baseAddress! + offset).update(from: part.storage.pointer, count: part.count)
                offset += part.count
            }
        }
    }

    /// Stacks tensors of equal shape along a new outermost dimension.
    public static func stack(_ parts: [Tensor]) -> Tensor {
        guard let first = parts.first else { return Tensor(shape: [0]) }
        for part in parts { precondition(part.shape == first.shape, "stack: \(part.shape) differs from \(first.shape)") }
        return Tensor(shape: [parts.count] + first.shape) { out in
            for (i, part) in parts.enumerated() {
                (out.baseAddress! + i * first.count).update(from: part.storage.pointer, count: first.count)
            }
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(shape)" }
}
