import TensorCore
import XCTest

/// Largest absolute difference between two equally shaped tensors, and where it first exceeds `tolerance`.
public struct TensorComparison: CustomStringConvertible {
    public let maxAbsoluteDifference: Float
    public let worstIndex: [Int]
    public let firstBadIndex: [Int]?
    public let shape: [Int]

    public init(_ actual: Tensor, _ expected: Tensor, tolerance: Float) {
        precondition(actual.shape == expected.shape)
        shape = actual.shape
        var worst: Float = 0, worstFlat = 0
        var firstBad: Int?
        actual.withUnsafeBufferPointer { a in
            expected.withUnsafeBufferPointer { e in
                for i in 0..<a.count {
                    let difference = abs(a[i] - e[i])
                    if difference > worst || difference.isNaN { worst = difference.isNaN ? .infinity : difference; worstFlat = i }
                    if firstBad == nil && !(difference <= tolerance) { firstBad = i }
                }
            }
        }
        let extents = actual.shape
        maxAbsoluteDifference = worst
        worstIndex = TensorComparison.unflatten(worstFlat, extents)
        firstBadIndex = firstBad.map { TensorComparison.unflatten($0, extents) }
    }

    static func unflatten(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        return shape.reversed().map { extent -> Int in defer { rest /= extent }; return rest % extent }.reversed()
    }

    public var description: String {
        "max |diff| \(maxAbsoluteDifference) at \(worstIndex)" + (firstBadIndex.map { ", first bad index \($0)" } ?? "")
    }
}

/// Fails unless `actual` and `expected` have the same shape and every element differs by at most `tolerance`;
/// the failure names the maximum difference and the first bad index.
@discardableResult
public func assertClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float, _ message: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) -> TensorComparison? {
    guard actual.shape == expected.shape else {
        XCTFail("\(message()): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line)
        return nil
    }
    let comparison = TensorComparison(actual, expected, tolerance: tolerance)
    if comparison.firstBadIndex != nil {
        XCTFail("\(message()): \(comparison) exceeds \(tolerance)", file: file, line: line)
    }
    return comparison
}
