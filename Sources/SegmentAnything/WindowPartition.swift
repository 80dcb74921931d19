import TensorKernels

/// `window_partition` / `window_unpartition` of SAM's windowed blocks, on rows of `rowWidth` floats.
///
/// Grid order: `[batch, gridHeight, gridWidth, rowWidth]`. Window order: `[windows, window², rowWidth]`,
/// the windows of each image row-major over `ceil(gridHeight / window) × ceil(gridWidth / window)`, and each
/// window's tokens row-major. The grid is padded at the bottom and right up to whole windows; padding
/// tokens take the given fill row.
struct WindowPartition: Sendable {
    let batch: Int
    let gridHeight: Int, gridWidth: Int
    let window: Int

    var windowsDown: Int { (gridHeight + window - 1) / window }
    var windowsAcross: Int { (gridWidth + window - 1) / window }
    var windowCount: Int { batch * windowsDown * windowsAcross }
    var tokensPerWindow: Int { window * window }

    /// Visits each row of window `index`: its first token in window order, the first grid token it reads
    /// (nil when the row lies in the bottom padding) and how many of its `window` tokens lie inside the grid.
    private func forEachRow(ofWindow index: Int, _ body: (_ windowToken: Int, _ gridToken: Int?, _ inside: Int) -> Void) {
        let (image, position) = index.quotientAndRemainder(dividingBy: windowsDown * windowsAcross)
        let (down, across) = position.quotientAndRemainder(dividingBy: windowsAcross)
        let inside = min(window, gridWidth - across * window)
        for row in 0..<window {
            let y = down * window + row
            let gridToken = y < gridHeight ? (image * gridHeight + y) * gridWidth + across * window : nil
            body(index * tokensPerWindow + row * window, gridToken, inside)
        }
    }

    /// Grid-order rows → window order; padding rows are `fill` (`[rowWidth]`), or zeros when nil.
    func partition(_ grid: UnsafePointer<Float>, rowWidth: Int, fill: UnsafePointer<Float>?,
                   into windows: UnsafeMutablePointer<Float>, context: ComputeContext) {
        context.parallelFor(windowCount) { index in
            forEachRow(ofWindow: index) { windowToken, gridToken, inside in
                let destination = windows + windowToken * rowWidth
                let copied = gridToken == nil ? 0 : inside
                if let gridToken { destination.update(from: grid + gridToken * rowWidth, count: copied * rowWidth) }
                for token in copied..<window {
                    let row = destination + token * rowWidth
                    if let fill { row.update(from: fill, count: rowWidth) } else { row.update(repeating: 0, count: rowWidth) }
                }
            }
        }
    }

    /// Window-order rows → grid order, dropping the padding rows.
    func unpartition(_ windows: UnsafePointer<Float>, rowWidth: Int, into grid: UnsafeMutablePointer<Float>, context: ComputeContext) {
        context.parallelFor(windowCount) { index in
            forEachRow(ofWindow: index) { windowToken, gridToken, inside in
                guard let gridToken else { return }
                (grid + gridToken * rowWidth).update(from: windows + windowToken * rowWidth, count: inside * rowWidth)
            }
        }
    }
}
