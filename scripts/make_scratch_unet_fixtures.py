"""Fixtures for MaxPool2d and the U-Net trained from scratch (Tests/Fixtures/scratch-unet/*.json).

Reference: PyTorch 1.13 on CPU in float32.

- maxpool.json: torch.nn.functional.max_pool2d cases (kernel 2 stride 2 on an odd-sized input, kernel 3
  stride 2 with overlapping windows, an input with ties): input, output, a random upstream gradient and
  the input gradient autograd gives.
- unet.json: the classic U-Net (encoders of two conv3x3-BatchNorm-ReLU units with 2x2 max pooling,
  channels w, 2w, 4w, 8w, 16w; decoders ConvTranspose(2, stride 2) -> concat the skip -> two
  conv3x3-BatchNorm-ReLU units; 1x1 conv head) with w = 4, 3 input channels, 2 classes, images
  [2, 3, 32, 32], in training mode. Its weights are not stored: they are drawn from RadProbe's
  SeededGenerator (seed 11, scripts/seeded_generator.py) exactly as ScratchUNet(configuration:generator:)
  draws them (every convolution in state-dict order, weight then bias, uniform in +-1/sqrt(fan_in) with
  fan_in = weight.size(1)*kh*kw: PyTorch's default bounds; BatchNorm gamma 1, beta 0). The file holds the
  images, the output, an upstream gradient, the images' gradient, the running statistics after the
  forward, the evaluation-mode output, the first 64 values of every parameter after one AdamW step
  (lr 1e-3, weight decay 0.01), the trainable-parameter count, and the counts of the same network at
  w = 64 with 3 and 1 input channels and 2 classes.
- unet_gradients.npy: every parameter's gradient, flattened and concatenated in named_parameters() order
  (float32; the order and shapes are unet.json's "gradient_layout").

Every tensor is {"shape": [...], "values": [...]} (row-major; each float32 value as its shortest decimal).

Run with Debian's python3 (torch 1.13, numpy 1.24):
    python3 scripts/make_scratch_unet_fixtures.py
Seeds are fixed; the output is deterministic.
"""
import json
import os

import numpy as np
import torch

from seeded_generator import SeededGenerator
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "scratch-unet")


def write(name, payload):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(payload, f, separators=(",", ":"))


def tensor(t):
    array = t.detach().numpy().astype(np.float32)
    return {"shape": list(array.shape), "values": [float(str(v)) for v in array.reshape(-1)]}


class ConvBNReLU(nn.Module):
    def __init__(self, inputs, outputs):
        super().__init__()
        self.conv = nn.Conv2d(inputs, outputs, 3, padding=1)
        self.bn = nn.BatchNorm2d(outputs)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def double_conv(inputs, outputs):
    return nn.Sequential(ConvBNReLU(inputs, outputs), ConvBNReLU(outputs, outputs))


class UNet(nn.Module):
    def __init__(self, inputs, classes, width):
        super().__init__()
        channels = [width << level for level in range(5)]
        self.encoders = nn.ModuleList([double_conv(a, b) for a, b in zip([inputs] + channels[:-1], channels)])
        deep_first = channels[::-1]
        self.ups = nn.ModuleList([nn.ConvTranspose2d(a, b, 2, stride=2) for a, b in zip(deep_first, deep_first[1:])])
        self.decoders = nn.ModuleList([double_conv(2 * b, b) for b in deep_first[1:]])
        self.head = nn.Conv2d(width, classes, 1)

    def forward(self, x):
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x if level == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for j, (up, decoder) in enumerate(zip(self.ups, self.decoders)):
            x = decoder(torch.cat([up(x), skips[-2 - j]], dim=1))
        return self.head(x)


def draw_parameters(module, seed):
    """Sets every convolution's weight and bias as RadProbe's KaimingUniform draws them from `seed`."""
    generator = SeededGenerator(seed)
    with torch.no_grad():
        for _, layer in module.named_modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                bound = 1 / float(np.prod(layer.weight.shape[1:])) ** 0.5
                for p in (layer.weight, layer.bias):
                    values = [-bound + (bound - -bound) * generator.uniform() for _ in range(p.numel())]
                    p.copy_(torch.tensor(np.array(values, dtype=np.float32)).reshape(p.shape))


def parameter_count(module):
    return sum(p.numel() for p in module.parameters())


def make_maxpool():
    torch.manual_seed(5)
    ties = torch.tensor([[1.0, 1.0, 0.0, 2.0], [1.0, 0.0, 2.0, 2.0], [3.0, 3.0, -1.0, -1.0], [3.0, 3.0, -1.0, -1.0]])
    cases = []
    for name, x, kernel, stride in [("k2s2_odd", torch.randn(2, 3, 7, 9), 2, 2),
                                    ("k3s2_overlap", torch.randn(2, 2, 9, 8), 3, 2),
                                    ("k2s2_ties", ties.reshape(1, 1, 4, 4), 2, 2)]:
        x = x.clone().requires_grad_(True)
        y = F.max_pool2d(x, kernel, stride)
        upstream = torch.randn_like(y)
        y.backward(upstream)
        cases.append({"name": name, "kernel": kernel, "stride": stride, "input": tensor(x), "output": tensor(y),
                      "output_gradient": tensor(upstream), "input_gradient": tensor(x.grad)})
    write("maxpool.json", {"torch": torch.__version__, "cases": cases})


def make_unet():
    torch.manual_seed(7)
    net = UNet(3, 2, 4).train()
    draw_parameters(net, 11)
    images = torch.randn(2, 3, 32, 32, requires_grad=True)
    output = net(images)
    upstream = torch.randn_like(output)
    output.backward(upstream)
    running = {k: tensor(v) for k, v in net.state_dict().items() if "running" in k}
    with torch.no_grad():
        evaluation = net.eval()(images.detach())
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    optimizer.step()
    gradients = np.concatenate([p.grad.numpy().reshape(-1) for p in net.parameters()]).astype(np.float32)
    np.save(os.path.join(OUT, "unet_gradients.npy"), gradients)
    write("unet.json", {
        "torch": torch.__version__, "seed": 11, "images": tensor(images), "output": tensor(output),
        "output_gradient": tensor(upstream), "input_gradient": tensor(images.grad),
        "gradient_layout": [{"key": k, "shape": list(p.shape)} for k, p in net.named_parameters()],
        "running_statistics": running, "evaluation_output": tensor(evaluation),
        "after_adamw": {k: tensor(p.reshape(-1)[:64]) for k, p in net.named_parameters()},
        "parameter_count": parameter_count(net),
        "classic_parameter_counts": {"rgb": parameter_count(UNet(3, 2, 64)), "grey": parameter_count(UNet(1, 2, 64))},
    })


if __name__ == "__main__":
    make_maxpool()
    make_unet()
