import CBLAS

/// Single-precision matrix products through the system BLAS (OpenBLAS on Linux).
///
/// All matrices are row-major. `gemm` computes `C = alpha · op(A) · op(B) + beta · C` where
/// `op(A)` is `[m, k]`, `op(B)` is `[k, n]` and `C` is `[m, n]`; leading dimensions are the row
/// strides as stored, so column blocks of a wider matrix (one attention head of a fused QKV
/// output, say) are used in place without copies.
public enum BLAS {
    /// Makes every BLAS call single-threaded; parallelism comes from `ComputeContext` instead.
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
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}
