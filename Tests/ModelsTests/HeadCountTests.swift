import Checkpoints
import Models
import TensorCore
import TestSupport
import XCTest

/// `VisionTransformer.withHeads`: the same weights read with another head count.
final class HeadCountTests: XCTestCase {
    func testSameWeightsAnotherHeadCountAndRefusals() throws {
        let model = try LoadedBackbone(contentsOf: Fixtures.url("backprop/plain/model.safetensors")).model
        XCTAssertEqual(model.configuration.heads, 1, "the loader infers width / 64")
        let regrouped = try model.withHeads(2)
        XCTAssertEqual(regrouped.configuration.heads, 2)
        var before = model, after = regrouped
        var first = Collector(), second = Collector()
        before.visitParameters(&first, scope: ParameterScope())
        after.visitParameters(&second, scope: ParameterScope())
        XCTAssertEqual(first.values.keys.sorted(), second.values.keys.sorted())
        for (key, value) in first.values { XCTAssertEqual(second.values[key]?.scalars, value.scalars, key) }
        XCTAssertThrowsError(try model.withHeads(3)) { XCTAssertEqual("\($0)", "3 attention heads do not divide the width 64") }
    }

    struct Collector: ParameterVisitor {
        var values: [String: Tensor] = [:]
        mutating func visit(_ key: String, _ parameter: inout Tensor) { values[key] = parameter }
    }
}
