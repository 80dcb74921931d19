import CBLAS
#if canImport(CDNNL)
import CDNNL
#endif

/// Single-precision matrix products: oneDNN's SGEMM where it is linked (Linux), the system CBLAS otherwise.
///
/// All matrices are row-major. `gemm` computes `C = alpha · op(A) · op(B) + beta · C` where
/// `op(A)` is `[m, k]`, `op(B)` is `[k, n]` and `C` is `[m, n]`; leading dimensions are the row
/// strides as stored, so column blocks of a wider matrix (one attention head of a fused QKV
/// output, say) are used in place without copies. Every call is single-threaded: parallelism comes
/// from the caller's `ComputeContext`, so one pool of workers serves the whole computation.
public enum BLAS {
    /// The library that runs `gemm`, for reports.
    public static var backend: String {
        #if canImport(CDNNL)
        let version = dnnl_version()!.pointee
        return "oneDNN \(version.major).\(version.minor).\(version.patch) SGEMM"
        #else
        return "CBLAS SGEMM"
        #endif
    }

    /// Makes BLAS calls single-threaded; parallelism comes from `ComputeContext` instead.
    public static func useSingleThreadedCalls() {
        if openblas_get_num_threads() != 1 { openblas_set_num_threads(1) }
    }

    /// `C[m, n] = alpha · op(A) · op(B) + beta · C`.
    @inlinable
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        #if canImport(CDNNL)
        omp_set_num_threads(1) // this worker thread's OpenMP setting: oneDNN stays on it
        let status = dnnl_sgemm(CChar(UInt8(ascii: transposeA ? "T" : "N")), CChar(UInt8(ascii: transposeB ? "T" : "N")),
                                Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        precondition(status == dnnl_success, "dnnl_sgemm failed with status \(status.rawValue) for m \(m), n \(n), k \(k)")
        #else
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
        #endif
    }
}
