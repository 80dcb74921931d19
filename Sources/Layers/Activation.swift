import TensorKernels

extension FeedForward {
    /// The MLP's elementwise activation.
    /// - `gelu`: exact-erf GELU `x/2 · (1 + erf(x/√2))` (PyTorch `nn.GELU()`; DINOv2, timm, Hugging Face ViT/MAE/MSN,
    ///   OpenCLIP ViT-H/14);
    /// - `quickGELU`: `x · σ(1.702·x)` (OpenAI CLIP's `QuickGELU`, Hugging Face `quick_gelu`).
    public enum Activation: String, CaseIterable, Equatable, Sendable, CustomStringConvertible {
        case gelu
        case quickGELU = "quick-gelu"

        public var description: String {
            switch self {
            case .gelu: "GELU"
            case .quickGELU: "quick GELU x·σ(1.702x)"
            }
        }

        /// Applies the activation to `count` floats at `values`, in place.
        public func applyInPlace(_ values: UnsafeMutablePointer<Float>, count: Int) {
            switch self {
            case .gelu: RowKernels.geluInPlace(values, count: count)
            case .quickGELU: Self.quickGELUInPlace(values, count: count)
            }
        }

        /// `x · σ(1.702x) = x / (1 + e^(−1.702x))`, 16 floats at a time (the tail through a zero-padded vector).
        static func quickGELUInPlace(_ values: UnsafeMutablePointer<Float>, count: Int) {
            func quickGELU(_ x: SIMD16<Float>) -> SIMD16<Float> { x / (1 + VectorMath.exp(-1.702 * x)) }
            var start = 0
            while start + 16 <= count {
                let pointer = UnsafeMutableRawPointer(values + start)
                pointer.storeBytes(of: quickGELU(pointer.loadUnaligned(as: SIMD16<Float>.self)), as: SIMD16<Float>.self)
                start += 16
            }
            guard start < count else { return }
            var tail = SIMD16<Float>(repeating: 0)
            for i in start..<count { tail[i - start] = values[i] }
            let result = quickGELU(tail)
            for i in start..<count { values[i] = result[i - start] }
        }
    }
}
