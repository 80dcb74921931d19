import Randomness
import TensorCore

/// PyTorch's default initialisation of `Conv2d` and `ConvTranspose2d` (`reset_parameters`):
/// `kaiming_uniform_(weight, a=√5)`, whose bound `gain·√3/√fan_in` with `gain = √(2/(1 + a²))` is
/// `1/√fan_in`, and a bias uniform in `±1/√fan_in`. `fan_in` is `weight.size(1)·kh·kw` for both layers
/// (PyTorch reads dimension 1 even for a transposed kernel `[in, out, kh, kw]`). Values are drawn from
/// `SeededGenerator`, the weight first, then the bias.
enum KaimingUniform {
    /// A weight of `shape` `[a, b, kh, kw]` and a bias of `[biasExtent]`.
    static func parameters(weightShape shape: [Int], biasExtent: Int, generator: inout SeededGenerator) -> (weight: Tensor, bias: Tensor) {
        let fanIn = shape.dropFirst().reduce(1, *)
        let bound = 1 / Double(fanIn).squareRoot()
        let draw = { (count: Int, generator: inout SeededGenerator) -> [Float] in
            (0..<count).map { _ in Float(generator.uniform(in: -bound...bound)) }
        }
        let weight = Tensor(shape: shape, values: draw(Tensor.elementCount(shape), &generator))
        return (weight, Tensor(shape: [biasExtent], values: draw(biasExtent, &generator)))
    }
}
