import Convolution
import TensorCore
import TensorKernels

/// Pooling of channels-last maps (inference), each output pixel a reduction of input pixel rows:
///
/// - `maxPool`: `torch.nn.MaxPool2d(kernel, stride, padding)` (floor mode): the maximum over the window's
///   pixels inside the image (padding never wins, as PyTorch pads with −∞).
/// - `averagePool`: `torch.nn.AvgPool2d(kernel, stride)` without padding: the window's mean.
/// - `adaptiveAveragePool`: `torch.nn.AdaptiveAvgPool2d((outH, outW))`: output row `i` averages input rows
///   `⌊i·H/outH⌋ ..< ⌈(i+1)·H/outH⌉`, likewise columns.
/// - `globalAveragePool`: the mean over all pixels of each item, `[N, C]`.
enum ChannelsLastPooling {
    static func maxPool(_ input: FeatureMap, kernel: Int, stride: Int, padding: Int, context: ComputeContext) throws -> FeatureMap {
        guard input.height + 2 * padding >= kernel, input.width + 2 * padding >= kernel else {
            throw ConvolutionalNetworkError("the input (\(input.height)×\(input.width) at this layer) is smaller than the \(kernel)×\(kernel) pooling window")
        }
        let outH = (input.height + 2 * padding - kernel) / stride + 1, outW = (input.width + 2 * padding - kernel) / stride + 1
        return reduce(input, height: outH, width: outW, context: context) { oy, ox in
            (max(oy * stride - padding, 0)..<min(oy * stride - padding + kernel, input.height),
             max(ox * stride - padding, 0)..<min(ox * stride - padding + kernel, input.width))
        } combine: { destination, rows, channels in
            destination.update(from: rows[0], count: channels)
            for source in rows.dropFirst() {
                for c in 0..<channels where source[c] > destination[c] { destination[c] = source[c] }
            }
        }
    }

    static func averagePool(_ input: FeatureMap, kernel: Int, stride: Int, context: ComputeContext) throws -> FeatureMap {
        guard input.height >= kernel, input.width >= kernel else {
            throw ConvolutionalNetworkError("the input (\(input.height)×\(input.width) at this layer) is smaller than the \(kernel)×\(kernel) pooling window")
        }
        return reduce(input, height: (input.height - kernel) / stride + 1, width: (input.width - kernel) / stride + 1, context: context,
                      window: { oy, ox in (oy * stride..<oy * stride + kernel, ox * stride..<ox * stride + kernel) }, combine: average)
    }

    static func adaptiveAveragePool(_ input: FeatureMap, height: Int, width: Int, context: ComputeContext) -> FeatureMap {
        func window(_ index: Int, _ extent: Int, _ outputs: Int) -> Range<Int> {
            (index * extent / outputs)..<((index + 1) * extent + outputs - 1) / outputs
        }
        return reduce(input, height: height, width: width, context: context,
                      window: { oy, ox in (window(oy, input.height, height), window(ox, input.width, width)) }, combine: average)
    }

    /// `[N, C]`: each item's mean over its pixels.
    static func globalAveragePool(_ input: FeatureMap, context: ComputeContext) -> Tensor {
        adaptiveAveragePool(input, height: 1, width: 1, context: context).values.reshaped([input.batch, input.channels])
    }

    /// The mean of `rows` into `destination`.
    private static func average(_ destination: UnsafeMutablePointer<Float>, _ rows: [UnsafePointer<Float>], _ channels: Int) {
        destination.update(repeating: 0, count: channels)
        for source in rows { for c in 0..<channels { destination[c] += source[c] } }
        let inverse = 1 / Float(rows.count)
        for c in 0..<channels { destination[c] *= inverse }
    }

    /// A map of `height`×`width` whose pixel `(oy, ox)` combines the input pixels of `window(oy, ox)`.
    private static func reduce(
        _ input: FeatureMap, height: Int, width: Int, context: ComputeContext,
        window: (Int, Int) -> (rows: Range<Int>, columns: Range<Int>),
        combine: (UnsafeMutablePointer<Float>, [UnsafePointer<Float>], Int) -> Void
    ) -> FeatureMap {
        let channels = input.channels
        return FeatureMap(batch: input.batch, height: height, width: width, channels: channels) { output in
            input.values.withUnsafeBufferPointer { values in
                context.parallelFor(input.batch * height) { row in
                    let (n, oy) = row.quotientAndRemainder(dividingBy: height)
                    for ox in 0..<width {
                        let (rows, columns) = window(oy, ox)
                        var sources: [UnsafePointer<Float>] = []
                        for y in rows {
                            for x in columns { sources.append(values.baseAddress! + ((n * input.height + y) * input.width + x) * channels) }
                        }
                        combine(output.baseAddress! + ((n * height + oy) * width + ox) * channels, sources, channels)
                    }
                }
            }
        }
    }
}
