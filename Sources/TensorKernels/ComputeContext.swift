import CBLAS
import Dispatch

/// How much of the machine a computation may use. Passed to every kernel and forward pass; there is
/// no global thread setting. RadProbe keeps a single pool: BLAS runs single-threaded inside work
/// items that this context spreads over `threads` workers, so two runtimes never spin against each other.
public struct ComputeContext: Sendable {
    /// Worker threads for parallel loops (≥ 1).
    public let threads: Int

    /// One worker: for work that is already inside a parallel loop.
    public static let serial = ComputeContext(threads: 1)

    public init(threads: Int) {
        precondition(threads >= 1, "threads must be at least 1")
        self.threads = threads
        BLAS.useSingleThreadedCalls()
        Self.keepLargeBuffersInTheHeap()
    }

    /// Activation tensors of tens of MB are allocated and freed for every block. By default glibc maps
    /// each from the kernel and unmaps it on free, so every forward pass faults in fresh zeroed pages;
    /// keeping them in the heap lets the next block reuse the same memory (measured: ~5 % of a ViT-S
    /// forward). One arena for every thread: a worker thread's own arena is capped at 64 MB, so its larger
    /// buffers (the U-Net's 512² activations, 200–400 MB) would still be mapped afresh on every step.
    /// Process-wide and idempotent; glibc only.
    public static func keepLargeBuffersInTheHeap() {
        #if canImport(Glibc)
        _ = glibcMallopt(-8 /* M_ARENA_MAX */, 1)
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 1 << 30)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, Int32.max)
        #endif
    }

    /// Splits `0..<count` into at most `threads` contiguous ranges of at least `minimumChunk` items
    /// and runs `body` on each, in parallel when there is more than one.
    public func parallelRanges(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = max(1, min(threads, count / max(minimumChunk, 1)))
        if chunks == 1 { body(0..<count); return }
        withoutActuallyEscaping(body) { escapable in
            let work = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = count * chunk / chunks
                let end = count * (chunk + 1) / chunks
                work.value(start..<end)
            }
        }
    }

    /// Runs `body` for every index in `0..<count`, spread over the workers in contiguous blocks.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        parallelRanges(count) { range in for i in range { body(i) } }
    }
}

/// Carries a closure over raw pointers into `concurrentPerform`; each worker touches a disjoint range.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

#if canImport(Glibc)
/// glibc's `mallopt` (declared in `<malloc.h>`, which the Glibc module does not export).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
