import TensorKernels
import Training

/// Buffers of one training step of a grid: each stack's batch inputs `[batch, inputWidth]` and logits
/// `[batch, outputs]` (overwritten by the loss gradient), the batch's targets, and each head's loss.
final class StepWorkspace {
    let stacks: [HeadStack]
    let classes: Int
    private(set) var rows = 0
    private let inputs: [UnsafeMutablePointer<Float>]
    private let logits: [UnsafeMutablePointer<Float>]
    private let binaryTargets: UnsafeMutablePointer<Float>
    private let labels: UnsafeMutablePointer<Int>
    private var isMultiLabel = false
    /// `1/known` targets (multi-label) or `1/rows` (multi-class) of the current batch.
    private var gradientScale: Float = 0
    /// The loss of each head (by position in the head list) at the current step.
    let losses: UnsafeMutablePointer<Double>

    init(stacks: [HeadStack], batchSize: Int, classes: Int, headCount: Int) {
        self.stacks = stacks
        self.classes = classes
        inputs = stacks.map { .allocate(capacity: batchSize * $0.inputWidth) }
        logits = stacks.map { .allocate(capacity: batchSize * $0.outputs) }
        binaryTargets = .allocate(capacity: batchSize * classes)
        labels = .allocate(capacity: batchSize)
        losses = .allocate(capacity: headCount)
    }

    deinit {
        (inputs + logits + [binaryTargets]).forEach { $0.deallocate() }
        labels.deallocate()
        losses.deallocate()
    }

    /// Gathers the inputs of every stack and the targets of the items `batch`.
    func load(_ batch: [Int], features: ProbeFeatures, targets: ProbeTargets) {
        rows = batch.count
        batch.withUnsafeBufferPointer { items in
            for (stack, buffer) in zip(stacks, inputs) { features.gather(items, stack.input, into: buffer) }
        }
        switch targets {
        case .multiLabel(let values):
            isMultiLabel = true
            values.withUnsafeBufferPointer { source in
                for (row, item) in batch.enumerated() {
                    (binaryTargets + row * classes).update(from: source.baseAddress! + item * classes, count: classes)
                }
            }
            let known = BinaryCrossEntropy.knownCount(binaryTargets, count: rows * classes)
            gradientScale = known == 0 ? 0 : 1 / Float(known)
        case .multiClass(let values, _):
            isMultiLabel = false
            for (row, item) in batch.enumerated() { labels[row] = values[item] }
            gradientScale = 1 / Float(rows)
        }
    }

    /// Forward pass, loss, gradient and SGD update of the heads `slots` of stack `stackIndex`.
    func trainStep(stack stackIndex: Int, slots: Range<Int>, step: Int, schedule: LearningRateSchedule, momentum: Float) {
        let stack = stacks[stackIndex]
        let x = inputs[stackIndex], output = logits[stackIndex]
        let (classes, width, stride) = (stack.classes, stack.inputWidth, stack.outputs)
        stack.forward(slots: slots, inputs: x, rows: rows, into: output)
        for slot in slots {
            let block = output + slot * classes
            let sum = isMultiLabel
                ? BinaryCrossEntropy.accumulate(logits: block, logitStride: stride, targets: binaryTargets, rows: rows, columns: classes,
                                                gradient: block, gradientStride: stride, gradientScale: gradientScale).sum
                : CrossEntropy.accumulate(logits: block, logitStride: stride, labels: labels, rows: rows, classes: classes,
                                          gradient: block, gradientStride: stride, gradientScale: gradientScale)
            losses[stack.members[slot]] = sum * Double(gradientScale)
        }
        let first = slots.lowerBound * classes, columns = slots.count * classes
        BLAS.gemm(transposeA: true, m: columns, n: width, k: rows, a: output + first, lda: stride,
                  b: x, ldb: width, c: stack.weightGradient + first * width, ldc: width)
        for column in first..<first + columns {
            var total: Float = 0
            for row in 0..<rows { total += output[row * stride + column] }
            stack.biasGradient[column] = total
        }
        for slot in slots {
            let rate = Float(schedule.learningRate(base: stack.rates[slot], step: step))
            let weightOffset = slot * classes * width, biasOffset = slot * classes
            SGD.update(parameter: stack.weights + weightOffset, gradient: stack.weightGradient + weightOffset,
                       momentumBuffer: stack.weightMomentum + weightOffset, count: classes * width,
                       learningRate: rate, momentum: momentum, weightDecay: 0, firstStep: step == 0)
            SGD.update(parameter: stack.biases + biasOffset, gradient: stack.biasGradient + biasOffset,
                       momentumBuffer: stack.biasMomentum + biasOffset, count: classes,
                       learningRate: rate, momentum: momentum, weightDecay: 0, firstStep: step == 0)
        }
    }
}
