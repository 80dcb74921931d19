import TensorCore
import TensorKernels
import Training

/// Settings of a linear-probe training run.
public struct LinearProbeTrainingOptions: Sendable {
    /// Passes over the training set.
    public var epochs: Int
    /// Items per SGD step (the reference's default is 128).
    public var batchSize: Int
    /// SGD momentum (the reference's 0.9; no weight decay).
    public var momentum: Float
    /// Seed of the batch order (`BatchOrder`).
    public var shuffleSeed: UInt64
    /// Seed of the N(0, 0.01²) initial weights (`LinearHead.normalInitialised`) when none are given.
    public var initialisationSeed: UInt64
    /// Whether each epoch's last partial batch is dropped (the reference) or kept.
    public var partialBatch: PartialBatch
    /// Told `(steps done, steps in all)` about every 1 % of the run, on the calling thread.
    public var progress: (@Sendable (_ completed: Int, _ total: Int) -> Void)?

    public init(epochs: Int, batchSize: Int = 128, momentum: Float = 0.9, shuffleSeed: UInt64 = 0,
                initialisationSeed: UInt64 = 0, partialBatch: PartialBatch = .drop) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.momentum = momentum
        self.shuffleSeed = shuffleSeed
        self.initialisationSeed = initialisationSeed
        self.partialBatch = partialBatch
    }
}

/// Trains a grid of linear heads together, as DINOv2's `eval_linear`: every step feeds the same batch to
/// every head, the loss is the sum of the heads' losses (so each head follows its own loss's gradient),
/// and one SGD (momentum, no weight decay, dampening 0) steps every head with its own base rate under
/// `CosineAnnealingLR(T, η = 0)`, `T` = the number of steps of the run (`LearningRateSchedule.cosine`).
///
/// Heads reading the same input are stacked into one matrix product per step; the work is spread over
/// `context`'s workers by heads (each worker owns a contiguous share of every stack's heads: their
/// forward pass, loss, gradient and update), so no reduction between workers is needed.
public enum LinearProbeTrainer {
    /// The trained heads, in the order of `configurations`. `initialHeads` (one per configuration, same
    /// order) replaces the seeded N(0, 0.01²) initialisation. A non-finite loss stops the run with an
    /// error naming the head and the step.
    public static func train(_ configurations: [LinearProbeConfiguration], features: ProbeFeatures, targets: ProbeTargets,
                             options: LinearProbeTrainingOptions, initialHeads: [LinearHead]? = nil,
                             context: ComputeContext) throws -> [LinearHead] {
        guard !configurations.isEmpty else { throw TrainingError("no head configuration to train") }
        guard options.momentum >= 0, options.momentum < 1 else { throw TrainingError("SGD momentum must be in [0, 1), not \(options.momentum)") }
        try targets.validate(itemCount: features.count, role: "the training set")
        for configuration in configurations { try features.check(configuration) }
        let heads = try initialHeads.map { try validated($0, configurations, features: features, classes: targets.classes) }
            ?? LinearHead.normalInitialised(configurations, inputBlocks: features.blocks, width: features.width, patchWidth: features.patchWidth,
                                            classes: targets.classes, seed: options.initialisationSeed)
        let order = try BatchOrder(count: features.count, batchSize: options.batchSize, epochs: options.epochs,
                                   seed: options.shuffleSeed, partialBatch: options.partialBatch)
        let schedule = try LearningRateSchedule.cosine(totalSteps: order.batches.count)
        let stacks = HeadStack.stacks(of: heads)
        let workspace = StepWorkspace(stacks: stacks, batchSize: options.batchSize, classes: targets.classes, headCount: heads.count)
        // Worker `w` takes share `w` of every stack: (stack, share) pairs ordered share-major.
        let shares = (0..<context.threads).flatMap { share in stacks.indices.map { (stack: $0, share: share) } }
        for (step, batch) in order.batches.enumerated() {
            workspace.load(batch, features: features, targets: targets)
            context.parallelRanges(shares.count, minimumChunk: stacks.count) { range in
                for index in range {
                    let (stackIndex, share) = shares[index]
                    let stack = stacks[stackIndex]
                    let slots = stack.heads * share / context.threads..<stack.heads * (share + 1) / context.threads
                    guard !slots.isEmpty else { continue }
                    workspace.trainStep(stack: stackIndex, slots: slots, step: step, schedule: schedule, momentum: options.momentum)
                }
            }
            if let bad = (0..<heads.count).first(where: { !workspace.losses[$0].isFinite }) {
                throw TrainingError("the loss of head \(bad) (\(configurations[bad])) is \(workspace.losses[bad]) at step \(step) of \(order.batches.count)")
            }
            let total = order.batches.count
            if let progress = options.progress, (step + 1) % max(1, total / 100) == 0 || step + 1 == total { progress(step + 1, total) }
        }
        var trained = [LinearHead?](repeating: nil, count: heads.count)
        for stack in stacks {
            for (member, head) in zip(stack.members, try stack.trainedHeads(configurations)) { trained[member] = head }
        }
        return trained.map { $0! }
    }

    /// Checks caller-given initial heads against the configurations and the features.
    private static func validated(_ heads: [LinearHead], _ configurations: [LinearProbeConfiguration],
                                  features: ProbeFeatures, classes: Int) throws -> [LinearHead] {
        guard heads.count == configurations.count else {
            throw TrainingError("\(heads.count) initial heads for \(configurations.count) configurations")
        }
        for (index, (head, configuration)) in zip(heads, configurations).enumerated() {
            let width = features.inputWidth(configuration.input)
            guard head.configuration == configuration, head.weight.shape == [classes, width] else {
                throw TrainingError("initial head \(index) is \(head.configuration) \(head.weight.shape); expected \(configuration) [\(classes), \(width)]")
            }
        }
        return heads
    }
}
