import TensorCore
import TensorKernels
import Training

/// The heads of a grid that read the same input, stacked so that one matrix product serves them all:
/// `weights` `[heads·classes, inputWidth]` (head `h` owns rows `h·classes ..< (h+1)·classes`) and `biases`
/// `[heads·classes]`, with SGD momentum buffers and gradients of the same layout.
final class HeadStack {
    let input: ProbeInput
    let inputWidth: Int
    let classes: Int
    /// Positions of the stacked heads in the caller's head list.
    let members: [Int]
    /// Base learning rate of each stacked head.
    let rates: [Double]
    let weights: UnsafeMutablePointer<Float>
    let biases: UnsafeMutablePointer<Float>
    let weightMomentum: UnsafeMutablePointer<Float>
    let biasMomentum: UnsafeMutablePointer<Float>
    let weightGradient: UnsafeMutablePointer<Float>
    let biasGradient: UnsafeMutablePointer<Float>

    var heads: Int { members.count }
    var outputs: Int { members.count * classes }

    init(heads: [LinearHead], members: [Int]) {
        let first = heads[members[0]]
        input = first.configuration.input
        inputWidth = first.weight.shape[1]
        classes = first.classes
        self.members = members
        rates = members.map { heads[$0].configuration.learningRate }
        let weightCount = members.count * classes * inputWidth
        let biasCount = members.count * classes
        weights = .allocate(capacity: weightCount)
        weightMomentum = .allocate(capacity: weightCount)
        weightGradient = .allocate(capacity: weightCount)
        biases = .allocate(capacity: biasCount)
        biasMomentum = .allocate(capacity: biasCount)
        biasGradient = .allocate(capacity: biasCount)
        for (slot, member) in members.enumerated() {
            heads[member].weight.withUnsafeBufferPointer { (weights + slot * classes * inputWidth).update(from: $0.baseAddress!, count: $0.count) }
            heads[member].bias.withUnsafeBufferPointer { (biases + slot * classes).update(from: $0.baseAddress!, count: $0.count) }
        }
    }

    deinit {
        for buffer in [weights, weightMomentum, weightGradient, biases, biasMomentum, biasGradient] { buffer.deallocate() }
    }

    /// Groups `heads` by input, in order of first appearance.
    static func stacks(of heads: [LinearHead]) -> [HeadStack] {
        var order: [ProbeInput] = []
        var members: [ProbeInput: [Int]] = [:]
        for (index, head) in heads.enumerated() {
            let input = head.configuration.input
            if members[input] == nil { order.append(input) }
            members[input, default: []].append(index)
        }
        return order.map { HeadStack(heads: heads, members: members[$0]!) }
    }

    /// `logits[rows, outputs]` (row stride `outputs`) for the stacked heads `slots` only, from `inputs`
    /// `[rows, inputWidth]`: `x · W[slots]ᵀ + b[slots]`.
    func forward(slots: Range<Int>, inputs: UnsafePointer<Float>, rows: Int, into logits: UnsafeMutablePointer<Float>) {
        let first = slots.lowerBound * classes
        let columns = slots.count * classes
        for row in 0..<rows { (logits + row * outputs + first).update(from: biases + first, count: columns) }
        BLAS.gemm(transposeB: true, m: rows, n: columns, k: inputWidth, a: inputs, lda: inputWidth,
                  b: weights + first * inputWidth, ldb: inputWidth, beta: 1, c: logits + first, ldc: outputs)
    }

    /// The stacked heads as `LinearHead`s, in slot order.
    func trainedHeads(_ configurations: [LinearProbeConfiguration]) throws -> [LinearHead] {
        try members.enumerated().map { slot, member in
            let weight = Tensor(uninitializedShape: [classes, inputWidth]) {
                $0.baseAddress!.update(from: weights + slot * classes * inputWidth, count: $0.count)
            }
            let bias = Tensor(uninitializedShape: [classes]) { $0.baseAddress!.update(from: biases + slot * classes, count: classes) }
            return try LinearHead(configuration: configurations[member], weight: weight, bias: bias)
        }
    }
}
