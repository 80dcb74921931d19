import TensorCore
import TensorKernels
import Training

extension LinearHead {
    /// Logits `[heads.count, features.count, classes]` of every head on every item; heads reading the same
    /// input share one matrix product, and the items are spread over `context`'s workers.
    public static func logits(of heads: [LinearHead], features: ProbeFeatures, context: ComputeContext) throws -> Tensor {
        guard let classes = heads.first?.classes else { throw TrainingError("no head to evaluate") }
        for head in heads {
            try features.check(head.configuration)
            guard head.classes == classes,
                  head.weight.shape[1] == features.inputWidth(head.configuration.input) else {
                throw TrainingError("head \(head.configuration) \(head.weight.shape) does not fit features of \(features.blocks) blocks × \(features.width) (+ patch mean \(features.patchWidth)) or \(classes) classes")
            }
        }
        let stacks = HeadStack.stacks(of: heads)
        let items = features.count
        return Tensor(uninitializedShape: [heads.count, items, classes]) { result in
            let output = result.baseAddress!
            context.parallelRanges(items, minimumChunk: 64) { range in
                let indices = Array(range)
                for stack in stacks {
                    let inputs = UnsafeMutablePointer<Float>.allocate(capacity: range.count * stack.inputWidth)
                    let logits = UnsafeMutablePointer<Float>.allocate(capacity: range.count * stack.outputs)
                    defer { inputs.deallocate(); logits.deallocate() }
                    indices.withUnsafeBufferPointer { features.gather($0, stack.input, into: inputs) }
                    stack.forward(slots: 0..<stack.heads, inputs: inputs, rows: range.count, into: logits)
                    for (slot, member) in stack.members.enumerated() {
                        for (row, item) in range.enumerated() {
                            (output + (member * items + item) * classes).update(from: logits + row * stack.outputs + slot * classes,
                                                                               count: classes)
                        }
                    }
                }
            }
        }
    }

    /// Logits `[features.count, classes]` of this head.
    public func logits(_ features: ProbeFeatures, context: ComputeContext) throws -> Tensor {
        let all = try LinearHead.logits(of: [self], features: features, context: context)
        return all.reshaped(Array(all.shape.dropFirst()))
    }
}
