import Convolution
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// The tensors of `up_block.json`: one U-Net decoder up-block run forward and backward by PyTorch.
private struct UpBlockFixture: Decodable {
    let input, skip, output, outputGradient, inputGradient, skipGradient: FixtureTensor
    let bnRunningMeanAfter, bnRunningVarAfter: FixtureTensor
    let conv1Weight, conv1Bias, bnWeight, bnBias, upWeight, upBias, conv2Weight, conv2Bias: FixtureTensor
    let conv1WeightGradient, conv1BiasGradient, bnWeightGradient, bnBiasGradient: FixtureTensor
    let upWeightGradient, upBiasGradient, conv2WeightGradient, conv2BiasGradient: FixtureTensor
}

final class UpBlockParityTests: XCTestCase {
    /// conv3×3 → BN → ReLU → ConvTranspose(2, stride 2) → concat with the bilinearly resized skip → conv3×3,
    /// chained by hand forward and backward, against PyTorch autograd.
    func testUpBlockMatchesPyTorch() throws {
        let f = try decodeConvolutionFixture(UpBlockFixture.self, "up_block.json")
        let context = ComputeContext(threads: 2)
        let conv1 = try Conv2d(weight: f.conv1Weight.tensor, bias: f.conv1Bias.tensor, padding: 1)
        var norm = try BatchNorm2d(channels: f.bnWeight.shape[0])
        norm.weight = f.bnWeight.tensor
        norm.bias = f.bnBias.tensor
        let up = try ConvTranspose2d(weight: f.upWeight.tensor, bias: f.upBias.tensor, stride: 2)
        let conv2 = try Conv2d(weight: f.conv2Weight.tensor, bias: f.conv2Bias.tensor, padding: 1)

        let (h1, conv1Cache) = try conv1.forward(f.input.tensor, context: context)
        let (h2, normCache) = try norm.forwardTraining(h1, context: context)
        let (h3, reluCache) = ReLU.forward(h2)
        let (h4, upCache) = try up.forward(h3, context: context)
        let resize = try BilinearResize(outputHeight: h4.shape[2], outputWidth: h4.shape[3])
        let (resized, resizeCache) = try resize.forward(f.skip.tensor, context: context)
        let (joined, joinCache) = try ChannelConcatenation.forward([h4, resized])
        let (output, conv2Cache) = try conv2.forward(joined, context: context)
        assertClose(output, f.output.tensor, tolerance: 1e-5, "output")
        assertClose(norm.runningMean, f.bnRunningMeanAfter.tensor, tolerance: 1e-6, "running mean")
        assertClose(norm.runningVariance, f.bnRunningVarAfter.tensor, tolerance: 1e-6, "running variance")

        let conv2Gradients = try conv2.backward(f.outputGradient.tensor, cache: conv2Cache, context: context)
        let parts = try ChannelConcatenation.backward(conv2Gradients.input, cache: joinCache)
        let skipGradient = try resize.backward(parts[1], cache: resizeCache, context: context)
        let upGradients = try up.backward(parts[0], cache: upCache, context: context)
        let reluGradient = try ReLU.backward(upGradients.input, cache: reluCache)
        let normGradients = try norm.backward(reluGradient, cache: normCache, context: context)
        let conv1Gradients = try conv1.backward(normGradients.input, cache: conv1Cache, context: context)

        let checks: [(String, Tensor, FixtureTensor)] = [
            ("input", conv1Gradients.input, f.inputGradient), ("skip", skipGradient, f.skipGradient),
            ("conv1.weight", conv1Gradients.weight, f.conv1WeightGradient), ("conv1.bias", conv1Gradients.bias!, f.conv1BiasGradient),
            ("bn.weight", normGradients.weight, f.bnWeightGradient), ("bn.bias", normGradients.bias, f.bnBiasGradient),
            ("up.weight", upGradients.weight, f.upWeightGradient), ("up.bias", upGradients.bias!, f.upBiasGradient),
            ("conv2.weight", conv2Gradients.weight, f.conv2WeightGradient), ("conv2.bias", conv2Gradients.bias!, f.conv2BiasGradient),
        ]
        for (name, actual, expected) in checks {
            assertClose(actual, expected.tensor, tolerance: 1e-5 * max(1, expected.values.map(abs).max() ?? 0), "\(name) gradient")
        }
    }
}
