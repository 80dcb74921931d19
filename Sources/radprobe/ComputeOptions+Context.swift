import Foundation
import TensorKernels

extension ComputeOptions {
    /// The compute context these options ask for.
    var context: ComputeContext {
        ComputeContext(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
    }
}
