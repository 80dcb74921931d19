import TensorCore

/// The extents of an `[N, C, H, W]` tensor.
struct ImageBatchShape: Equatable {
    let batch: Int, channels: Int, height: Int, width: Int

    var shape: [Int] { [batch, channels, height, width] }
    /// Elements of one `[C, H, W]` item.
    var itemCount: Int { channels * height * width }
    /// Elements of one `[H, W]` plane.
    var planeCount: Int { height * width }
}

extension Tensor {
    /// The extents of a rank-4 `[N, C, H, W]` tensor, or an error naming `layer` and `role`.
    func imageBatchShape(_ layer: String, _ role: String = "input") throws -> ImageBatchShape {
        guard rank == 4 else {
            throw ConvolutionError("\(layer): \(role) must be [N, C, H, W], got \(describeShape(shape))")
        }
        return ImageBatchShape(batch: shape[0], channels: shape[1], height: shape[2], width: shape[3])
    }
}

/// Throws unless `gradient` has exactly the shape of the forward output it belongs to.
func requireGradientShape(_ gradient: Tensor, _ expected: [Int], _ layer: String) throws {
    guard gradient.shape == expected else {
        throw ConvolutionError("\(layer): output gradient \(describeShape(gradient.shape)) does not match the forward output \(describeShape(expected))")
    }
}

/// Throws unless `parameter` has shape `expected`.
func requireParameterShape(_ parameter: Tensor, _ expected: [Int], _ name: String, _ layer: String) throws {
    guard parameter.shape == expected else {
        throw ConvolutionError("\(layer): \(name) must be \(describeShape(expected)), got \(describeShape(parameter.shape))")
    }
}
