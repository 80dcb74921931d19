import TensorCore
import TensorKernels

/// The three matrix products behind `Conv2d` and `ConvTranspose2d`, per batch item, over the im2col
/// matrix `columns[n]` `[K = C·kh·kw, P = outH·outW]` of an image `[C, H, W]` described by `geometry`,
/// and a weight viewed as `[M, K]`:
///
/// - `convolve`: `values[n] = weight · columns(images[n])` `[M, P]` (+ bias per row): Conv2d's forward,
///   ConvTranspose2d's input gradient.
/// - `convolveTransposed`: `images[n] = col2im(weightᵀ · values[n])` `[C, H, W]` (+ bias per channel):
///   Conv2d's input gradient, ConvTranspose2d's forward.
/// - `weightGradient`: `Σ_n values[n] · columns(images[n])ᵀ` `[M, K]`: both layers' weight gradient.
///
/// When `geometry.isPointwise` the image is its own column matrix and no copy is made. Otherwise the
/// column matrix is built by bands of output rows (`ConvolutionGeometry.outputRowBands`), each product
/// taking its slice of `values`, so the scratch matrix stays a few MB and in cache.
enum ConvolutionKernels {
    /// `[N, M, outH, outW]` from `images` `[N, C, H, W]`.
    static func convolve(
        _ images: Tensor, batch: Int, geometry: ConvolutionGeometry, weight: Tensor, bias: Tensor?, rows: Int,
        context: ComputeContext
    ) -> Tensor {
        let (patch, pixels, outW) = (geometry.patchLength, geometry.outputPixels, geometry.outputWidth)
        return Tensor(uninitializedShape: [batch, rows, geometry.outputHeight, geometry.outputWidth]) { output in
            images.withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { w in
                    withOptionalPointer(bias) { b in
                        context.parallelRanges(batch) { items in
                            withColumnBuffer(geometry) { columns, bands in
                                for n in items {
                                    let image = x.baseAddress! + n * geometry.imageCount
                                    let destination = output.baseAddress! + n * rows * pixels
                                    if let b { fillRows(destination, with: b, rows: rows, length: pixels) }
                                    for band in bands {
                                        let bandPixels = band.count * outW
                                        let source = columns.map { geometry.imageToColumns(image, band: band, into: $0); return UnsafePointer($0) }
                                            ?? image + band.lowerBound * outW
                                        BLAS.gemm(m: rows, n: bandPixels, k: patch, a: w.baseAddress!, lda: patch, b: source,
                                                  ldb: columns == nil ? pixels : bandPixels,
                                                  beta: b == nil ? 0 : 1, c: destination + band.lowerBound * outW, ldc: pixels)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `[N, C, H, W]` from `values` `[N, M, outH, outW]`.
    static func convolveTransposed(
        _ values: Tensor, batch: Int, geometry: ConvolutionGeometry, weight: Tensor, bias: Tensor?, rows: Int,
        context: ComputeContext
    ) -> Tensor {
        let (patch, pixels, outW) = (geometry.patchLength, geometry.outputPixels, geometry.outputWidth)
        let planeCount = geometry.height * geometry.width
        return Tensor(uninitializedShape: [batch, geometry.channels, geometry.height, geometry.width]) { output in
            values.withUnsafeBufferPointer { v in
                weight.withUnsafeBufferPointer { w in
                    withOptionalPointer(bias) { b in
                        context.parallelRanges(batch) { items in
                            withColumnBuffer(geometry) { columns, bands in
                                for n in items {
                                    let image = output.baseAddress! + n * geometry.imageCount
                                    if let b {
                                        fillRows(image, with: b, rows: geometry.channels, length: planeCount)
                                    } else if columns != nil {
                                        image.update(repeating: 0, count: geometry.imageCount)
                                    }
                                    for band in bands {
                                        let bandPixels = band.count * outW
                                        BLAS.gemm(transposeA: true, m: patch, n: bandPixels, k: rows, a: w.baseAddress!, lda: patch,
                                                  b: v.baseAddress! + n * rows * pixels + band.lowerBound * outW, ldb: pixels,
                                                  beta: columns == nil && b != nil ? 1 : 0, c: columns ?? image + band.lowerBound * outW,
                                                  ldc: columns == nil ? pixels : bandPixels)
                                        if let columns { geometry.accumulateColumns(columns, band: band, into: image) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `[M, K]`: `Σ_n values[n] · columns(images[n])ᵀ`, the batch spread over the workers.
    static func weightGradient(
        images: Tensor, values: Tensor, batch: Int, geometry: ConvolutionGeometry, rows: Int, context: ComputeContext
    ) -> Tensor {
        let (patch, pixels, outW) = (geometry.patchLength, geometry.outputPixels, geometry.outputWidth)
        return images.withUnsafeBufferPointer { x in
            values.withUnsafeBufferPointer { v in
                BatchReductions.sumOverChunks(batch: batch, shape: [rows, patch], context: context) { items, partial in
                    withColumnBuffer(geometry) { columns, bands in
                        for n in items {
                            let image = x.baseAddress! + n * geometry.imageCount
                            for band in bands {
                                let bandPixels = band.count * outW
                                let source = columns.map { geometry.imageToColumns(image, band: band, into: $0); return UnsafePointer($0) }
                                    ?? image + band.lowerBound * outW
                                BLAS.gemm(transposeB: true, m: rows, n: patch, k: bandPixels,
                                          a: v.baseAddress! + n * rows * pixels + band.lowerBound * outW, lda: pixels,
                                          b: source, ldb: columns == nil ? pixels : bandPixels, beta: 1, c: partial, ldc: patch)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs `body` with a scratch column matrix for the largest band and the bands of output rows, or with
    /// nil and one band of all rows for a pointwise geometry that needs no matrix.
    private static func withColumnBuffer<R>(_ geometry: ConvolutionGeometry,
                                            _ body: (UnsafeMutablePointer<Float>?, [Range<Int>]) -> R) -> R {
        if geometry.isPointwise { return body(nil, [0..<geometry.outputHeight]) }
        let bands = geometry.outputRowBands()
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: geometry.patchLength * bands[0].count * geometry.outputWidth)
        defer { columns.deallocate() }
        return body(columns, bands)
    }

    /// Sets row `r` of a `[rows, length]` block to `values[r]`.
    private static func fillRows(_ destination: UnsafeMutablePointer<Float>, with values: UnsafePointer<Float>, rows: Int, length: Int) {
        for r in 0..<rows { (destination + r * length).update(repeating: values[r], count: length) }
    }

    /// Runs `body` with the elements of `tensor`, or nil when there is none.
    private static func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let tensor else { return body(nil) }
        return tensor.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
