import Foundation

/// Produces values `0..<count` in order on a background thread, at most `depth` ahead of the consumer:
/// decoding and preprocessing the next chunk overlaps the forward passes of the current one, while
/// memory stays bounded by `depth + 1` prepared chunks whatever the dataset's size.
final class ChunkPrefetcher<Value: Sendable>: @unchecked Sendable {
    private let free: DispatchSemaphore
    private let filled = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var ready: [Value] = []

    /// Starts producing `produce(0)`, `produce(1)`, … `produce(count − 1)`.
    init(count: Int, depth: Int = 1, produce: @escaping @Sendable (Int) -> Value) {
        free = DispatchSemaphore(value: depth)
        Thread.detachNewThread { [self] in
            for index in 0..<count {
                free.wait()
                let value = produce(index)
                lock.withLock { ready.append(value) }
                filled.signal()
            }
        }
    }

    /// The next value, waiting for it if it is not ready yet.
    func next() -> Value {
        filled.wait()
        let value = lock.withLock { ready.removeFirst() }
        free.signal()
        return value
    }
}
