/// Where a `kernel` window moved by `stride` lands on a zero-padded `[channels, height, width]` image,
/// and the column matrix that turns the convolution into one matrix product (im2col).
///
/// Output extent along an axis: `(in + 2·padding − kernel) / stride + 1` (floor). The column matrix is
/// `[channels·kh·kw, outH·outW]` with
/// `columns[(c, i, j), (y, x)] = image[c, y·sh − ph + i, x·sw − pw + j]`, zero outside the image.
struct ConvolutionGeometry: Sendable, Equatable {
    let channels: Int
    let height: Int, width: Int
    let kernel: Size2D, stride: Size2D, padding: Size2D
    let outputHeight: Int, outputWidth: Int

    /// Throws when the kernel does not fit in the padded image or a stride/padding is out of range.
    init(channels: Int, height: Int, width: Int, kernel: Size2D, stride: Size2D, padding: Size2D, layer: String) throws {
        let paddedHeight = height + 2 * padding.height, paddedWidth = width + 2 * padding.width
        guard kernel.height <= paddedHeight, kernel.width <= paddedWidth else {
            throw ConvolutionError("\(layer): kernel \(kernel) is larger than the padded input \(paddedHeight)×\(paddedWidth) (input \(height)×\(width), padding \(padding))")
        }
        self.channels = channels
        self.height = height
        self.width = width
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        outputHeight = (paddedHeight - kernel.height) / stride.height + 1
        outputWidth = (paddedWidth - kernel.width) / stride.width + 1
    }

    /// Rows of the column matrix: `channels·kh·kw`.
    var patchLength: Int { channels * kernel.height * kernel.width }
    /// Columns of the column matrix: `outH·outW`.
    var outputPixels: Int { outputHeight * outputWidth }
    /// Elements of one image: `channels·height·width`.
    var imageCount: Int { channels * height * width }

    /// A 1×1 window with unit stride and no padding: the image itself is the column matrix.
    var isPointwise: Bool {
        kernel == 1 && stride == 1 && padding == 0
    }

    /// Output positions `o` along one axis whose input index `o·stride − padding + offset` lies in `0..<extent`.
    private static func validOutputs(offset: Int, stride: Int, padding: Int, extent: Int, outputs: Int) -> Range<Int> {
        let shift = offset - padding // input index = o·stride + shift
        let first = shift >= 0 ? 0 : (-shift + stride - 1) / stride
        let lastInput = extent - 1 - shift
        let end = lastInput < 0 ? 0 : min(outputs, lastInput / stride + 1)
        return first..<max(first, end)
    }

    /// Bands of output rows whose column matrices `[patchLength, rows·outW]` hold about `budget` floats
    /// (at least one row, and at least `minimumPixels` columns so the matrix products stay efficient):
    /// im2col by bands keeps the scratch matrix in cache instead of writing the whole `[K, outH·outW]` one.
    func outputRowBands(budget: Int = 1 << 20, minimumPixels: Int = 1024) -> [Range<Int>] {
        let rows = max(1, budget / max(patchLength * outputWidth, 1), (minimumPixels + outputWidth - 1) / outputWidth)
        return Swift.stride(from: 0, to: outputHeight, by: rows).map { $0..<min($0 + rows, outputHeight) }
    }

    /// Visits every row `(c, i, j)` of the column matrix of the output rows `band` with the input plane
    /// offset of channel `c`, the output rows (in `band`) and columns whose input pixel lies inside the
    /// image for tap `(i, j)`, and the shifts from output to input index; `imageToColumns` and
    /// `accumulateColumns` share it.
    private func forEachKernelTap(band: Range<Int>, _ body: (_ row: Int, _ plane: Int, _ rows: Range<Int>, _ columns: Range<Int>, _ rowShift: Int, _ columnShift: Int) -> Void) {
        let rowRanges = (0..<kernel.height).map {
            Self.validOutputs(offset: $0, stride: stride.height, padding: padding.height, extent: height, outputs: outputHeight).clamped(to: band)
        }
        let columnRanges = (0..<kernel.width).map {
            Self.validOutputs(offset: $0, stride: stride.width, padding: padding.width, extent: width, outputs: outputWidth)
        }
        for c in 0..<channels {
            for i in 0..<kernel.height {
                for j in 0..<kernel.width {
                    body((c * kernel.height + i) * kernel.width + j, c * height * width, rowRanges[i], columnRanges[j],
                         i - padding.height, j - padding.width)
                }
            }
        }
    }

    /// Writes the column matrix `[patchLength, band.count·outW]` of the output rows `band` (all by default)
    /// of `image` `[channels, height, width]`.
    func imageToColumns(_ image: UnsafePointer<Float>, band: Range<Int>? = nil, into columns: UnsafeMutablePointer<Float>) {
        let band = band ?? 0..<outputHeight
        let (outW, sh, sw) = (outputWidth, stride.height, stride.width)
        let bandPixels = band.count * outW
        forEachKernelTap(band: band) { row, plane, rows, valid, rowShift, columnShift in
            let matrixRow = columns + row * bandPixels
            if rows.isEmpty || valid.isEmpty {
                matrixRow.update(repeating: 0, count: bandPixels)
                return
            }
            matrixRow.update(repeating: 0, count: (rows.lowerBound - band.lowerBound) * outW)
            for y in rows {
                let destination = matrixRow + (y - band.lowerBound) * outW
                let source = image + plane + (y * sh + rowShift) * width + columnShift
                destination.update(repeating: 0, count: valid.lowerBound)
                if sw == 1 {
                    (destination + valid.lowerBound).update(from: source + valid.lowerBound, count: valid.count)
                } else {
                    for x in valid { destination[x] = source[x * sw] }
                }
                (destination + valid.upperBound).update(repeating: 0, count: outW - valid.upperBound)
            }
            (matrixRow + (rows.upperBound - band.lowerBound) * outW).update(repeating: 0, count: (band.upperBound - rows.upperBound) * outW)
        }
    }

    /// Adds every entry of `columns` `[patchLength, band.count·outW]` (the output rows `band`, all by
    /// default) to the image pixel it was read from: the adjoint of `imageToColumns` (col2im). `image`
    /// `[channels, height, width]` is accumulated into.
    func accumulateColumns(_ columns: UnsafePointer<Float>, band: Range<Int>? = nil, into image: UnsafeMutablePointer<Float>) {
        let band = band ?? 0..<outputHeight
        let (outW, sh, sw) = (outputWidth, stride.height, stride.width)
        let bandPixels = band.count * outW
        forEachKernelTap(band: band) { row, plane, rows, valid, rowShift, columnShift in
            let matrixRow = columns + row * bandPixels
            for y in rows {
                let source = matrixRow + (y - band.lowerBound) * outW
                let destination = image + plane + (y * sh + rowShift) * width + columnShift
                if sw == 1 {
                    for x in valid { destination[x] += source[x] }
                } else {
                    for x in valid { destination[x * sw] += source[x] }
                }
            }
        }
    }
}
