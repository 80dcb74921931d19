"""Fixtures for the Convolution target (Tests/Fixtures/convolution/*.json).

Reference: PyTorch 1.13 on CPU in float32: torch.nn.functional.conv2d, conv_transpose2d,
torch.nn.BatchNorm2d (training and eval mode, momentum 0.1, eps 1e-5), relu, torch.cat along the
channels and torch.nn.functional.interpolate(mode="bilinear" or "bicubic", align_corners=False). For every case the
files hold the input, the parameters, the output, a random upstream gradient and the gradients that
autograd gives for the input and the parameters (BatchNorm: also the running statistics after the
step). up_block.json chains the layers as an up-block of the U-Net decoder: conv3x3 -> BatchNorm ->
ReLU -> ConvTranspose(2, stride 2) -> concat with a bilinearly resized skip -> conv3x3.

Every tensor is written as {"shape": [...], "values": [...]} (row-major; float32 values print exactly
as doubles).

Run with Debian's python3 (torch 1.13, numpy 1.24):
    python3 scripts/make_convolution_fixtures.py
Seeds are fixed; the output is deterministic.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "convolution")


def write(name, payload):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(payload, f, separators=(",", ":"))


def tensor(t):
    array = t.detach().numpy().astype(np.float64)
    return {"shape": list(array.shape), "values": [float(v) for v in array.reshape(-1)]}


def uniform(*shape):
    return (torch.rand(*shape) * 2 - 1).requires_grad_(True)


def pair(value):
    return list(value) if isinstance(value, tuple) else [value, value]


def conv_cases():
    # (name, input shape, out channels, kernel, stride, padding, bias)
    specs = [
        ("3x3 stride 1 padding 1 bias", (2, 3, 7, 6), 4, 3, 1, 1, True),
        ("3x3 stride 2 no padding no bias", (2, 3, 7, 6), 5, 3, 2, 0, False),
        ("1x1 pointwise bias", (2, 6, 5, 4), 3, 1, 1, 0, True),
        ("1x1 stride 2", (1, 4, 5, 5), 2, 1, 2, 0, True),
        ("2x3 kernel stride (2,1) padding (1,0)", (2, 2, 6, 5), 3, (2, 3), (2, 1), (1, 0), True),
        ("5x5 stride 3 padding 2", (1, 2, 7, 8), 2, 5, 3, 2, True),
        ("5x5 kernel fills the padded 3x3 input", (2, 2, 3, 3), 3, 5, 1, 1, False),
        ("2x2 stride 3 padding 1", (2, 3, 8, 7), 2, 2, 3, 1, True),
    ]
    return convolution_cases(specs, F.conv2d, lambda inputs, outputs: (outputs, inputs))


def conv_transpose_cases():
    specs = [
        ("2x2 stride 2 bias (U-Net upsampling)", (2, 4, 3, 5), 3, 2, 2, 0, True),
        ("3x3 stride 2 padding 1 no bias", (1, 3, 4, 3), 2, 3, 2, 1, False),
        ("3x3 stride 1 padding 1 bias", (2, 2, 5, 4), 3, 3, 1, 1, True),
        ("2x3 kernel stride (1,2) padding (0,1)", (1, 2, 3, 4), 2, (2, 3), (1, 2), (0, 1), True),
        ("1x1 pointwise bias", (2, 3, 4, 4), 2, 1, 1, 0, True),
    ]
    return convolution_cases(specs, F.conv_transpose2d, lambda inputs, outputs: (inputs, outputs))


def convolution_cases(specs, operation, channel_order):
    """One case per spec: random input, weight (channels ordered by channel_order(in, out)) and bias,
    the operation's output, a random output gradient and the gradients it gives."""
    cases = []
    for name, shape, out_channels, kernel, stride, padding, has_bias in specs:
        kh, kw = pair(kernel)
        x = uniform(*shape)
        weight = uniform(*channel_order(shape[1], out_channels), kh, kw)
        bias = uniform(out_channels) if has_bias else None
        y = operation(x, weight, bias, stride=stride, padding=padding)
        g = torch.rand_like(y) * 2 - 1
        y.backward(g)
        cases.append({
            "name": name, "stride": pair(stride), "padding": pair(padding),
            "input": tensor(x), "weight": tensor(weight), "bias": tensor(bias) if has_bias else None,
            "output": tensor(y), "output_gradient": tensor(g), "input_gradient": tensor(x.grad),
            "weight_gradient": tensor(weight.grad), "bias_gradient": tensor(bias.grad) if has_bias else None,
        })
    return cases


def batch_norm_cases():
    cases = []
    for name, shape in [("3x4x5x3", (3, 4, 5, 3)), ("two values per channel", (1, 3, 1, 2))]:
        channels = shape[1]
        bn = torch.nn.BatchNorm2d(channels)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(channels) + 0.5)
            bn.bias.copy_(torch.rand(channels) - 0.5)
            bn.running_mean.copy_(torch.rand(channels) - 0.5)
            bn.running_var.copy_(torch.rand(channels) + 0.5)
        initial = {key: tensor(getattr(bn, key).clone()) for key in ("weight", "bias", "running_mean", "running_var")}
        x = (torch.rand(*shape) * 3 + torch.arange(channels).view(1, -1, 1, 1) - 1).requires_grad_(True)
        bn.train()
        y = bn(x)
        g = torch.rand_like(y) * 2 - 1
        y.backward(g)
        bn.eval()
        eval_input = torch.rand(*shape) * 2 - 1
        with torch.no_grad():
            eval_output = bn(eval_input)
        cases.append({
            "name": name, **initial,
            "input": tensor(x), "output": tensor(y), "output_gradient": tensor(g),
            "input_gradient": tensor(x.grad), "weight_gradient": tensor(bn.weight.grad),
            "bias_gradient": tensor(bn.bias.grad),
            "running_mean_after": tensor(bn.running_mean), "running_var_after": tensor(bn.running_var),
            "eval_input": tensor(eval_input), "eval_output": tensor(eval_output),
        })
    return cases


def resize_cases(mode):
    specs = [
        ("upsample 4x5 to 9x7", (2, 3, 4, 5), (9, 7)),
        ("downsample 9x7 to 4x3", (1, 2, 9, 7), (4, 3)),
        ("same size", (1, 2, 5, 5), (5, 5)),
        ("single row to 3x6", (1, 1, 1, 3), (3, 6)),
        ("width only 6x4 to 6x11", (2, 2, 6, 4), (6, 11)),
        ("exact doubling 3x3 to 6x6", (1, 2, 3, 3), (6, 6)),
    ]
    cases = []
    for name, shape, size in specs:
        x = uniform(*shape)
        y = F.interpolate(x, size=size, mode=mode, align_corners=False)
        g = torch.rand_like(y) * 2 - 1
        y.backward(g)
        cases.append({
            "name": name, "size": list(size), "input": tensor(x), "output": tensor(y),
            "output_gradient": tensor(g), "input_gradient": tensor(x.grad),
        })
    return cases


def composite_case():
    """One U-Net up-block: conv3x3 -> BN -> ReLU -> ConvTranspose(2, 2) -> cat(resized skip) -> conv3x3."""
    features, skip_channels, classes = 6, 3, 2
    x = uniform(2, features, 5, 4)
    skip = uniform(2, skip_channels, 7, 9)
    conv1_weight, conv1_bias = uniform(features, features, 3, 3), uniform(features)
    bn = torch.nn.BatchNorm2d(features)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(features) + 0.5)
        bn.bias.copy_(torch.rand(features) - 0.5)
    up_weight, up_bias = uniform(features, features // 2, 2, 2), uniform(features // 2)
    conv2_weight, conv2_bias = uniform(classes, features // 2 + skip_channels, 3, 3), uniform(classes)

    h = F.conv2d(x, conv1_weight, conv1_bias, padding=1)
    h = F.relu(bn(h))
    h = F.conv_transpose2d(h, up_weight, up_bias, stride=2)
    resized = F.interpolate(skip, size=h.shape[2:], mode="bilinear", align_corners=False)
    y = F.conv2d(torch.cat([h, resized], dim=1), conv2_weight, conv2_bias, padding=1)
    g = torch.rand_like(y) * 2 - 1
    y.backward(g)
    named = {
        "conv1_weight": conv1_weight, "conv1_bias": conv1_bias, "bn_weight": bn.weight, "bn_bias": bn.bias,
        "up_weight": up_weight, "up_bias": up_bias, "conv2_weight": conv2_weight, "conv2_bias": conv2_bias,
    }
    payload = {"input": tensor(x), "skip": tensor(skip), "output": tensor(y), "output_gradient": tensor(g),
               "input_gradient": tensor(x.grad), "skip_gradient": tensor(skip.grad),
               "bn_running_mean_after": tensor(bn.running_mean), "bn_running_var_after": tensor(bn.running_var)}
    for key, parameter in named.items():
        payload[key] = tensor(parameter)
        payload[key + "_gradient"] = tensor(parameter.grad)
    return payload


def main():
    torch.manual_seed(0)
    write("conv2d.json", {"torch": torch.__version__, "cases": conv_cases()})
    write("conv_transpose2d.json", {"torch": torch.__version__, "cases": conv_transpose_cases()})
    write("batch_norm2d.json", {"torch": torch.__version__, "cases": batch_norm_cases()})
    write("bilinear.json", {"torch": torch.__version__, "cases": resize_cases("bilinear")})
    write("up_block.json", {"torch": torch.__version__, **composite_case()})
    write("bicubic.json", {"torch": torch.__version__, "cases": resize_cases("bicubic")})


if __name__ == "__main__":
    main()
