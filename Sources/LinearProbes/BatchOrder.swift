import Randomness
import Training

/// What happens to the last `count mod batchSize` items of an epoch.
public enum PartialBatch: Sendable {
    /// They are not used that epoch (as the reference's training loader, `drop_last=True`).
    case drop
    /// They form a last, smaller batch.
    case keep
}

/// The training batches: for each epoch, `order = [0, 1, …, count − 1]` shuffled by `SeededGenerator.shuffle`
/// (one generator seeded with `seed` serves all epochs, each epoch shuffling a fresh identity order),
/// cut into consecutive batches of `batchSize`; the last partial batch is dropped or kept.
public struct BatchOrder: Sendable {
    /// Item indices of each batch, epoch after epoch.
    public let batches: [[Int]]

    public init(count: Int, batchSize: Int, epochs: Int, seed: UInt64, partialBatch: PartialBatch) throws {
        guard count > 0 else { throw TrainingError("the training set is empty") }
        guard batchSize > 0, epochs > 0 else { throw TrainingError("batch size (\(batchSize)) and epochs (\(epochs)) must be positive") }
        let perEpoch = partialBatch == .drop ? count / batchSize : (count + batchSize - 1) / batchSize
        guard perEpoch > 0 else {
            throw TrainingError("\(count) training items make no full batch of \(batchSize): use a smaller batch or keep the partial batch")
        }
        var generator = SeededGenerator(seed: seed)
        var batches: [[Int]] = []
        batches.reserveCapacity(perEpoch * epochs)
        for _ in 0..<epochs {
            var order = Array(0..<count)
            generator.shuffle(&order)
            for batch in 0..<perEpoch {
                batches.append(Array(order[batch * batchSize..<min(count, (batch + 1) * batchSize)]))
            }
        }
        self.batches = batches
    }
}
