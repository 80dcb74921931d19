"""Fixtures for the segmentation decoders and the Dice loss (Tests/Fixtures/decoders/*.json).

Reference: PyTorch 1.13 on CPU in float32 and MONAI 1.1.0 (PyPI) for the losses:
monai.losses.DiceLoss(softmax=True, to_onehot_y=True, include_background=True/False) and
monai.losses.DiceCELoss(same options); the script checks them against a plain torch implementation of
the same formula (softmax over the classes, one-hot labels, per item and class
1 - (2*sum(p*t) + 1e-5) / (sum(p) + sum(t) + 1e-5), mean over items and classes), which is used when
MONAI is absent.

- dice.json: segmentation logits [2, 3, 5, 6] and labels [2, 5, 6]; for both background settings the
  Dice loss and Dice + cross-entropy, values and gradients w.r.t. the logits.
- linear.json: the linear decoder (1x1 conv D -> K on the patch grid, bilinear upsampling to the image,
  align_corners=False) with D = 16, K = 3, grid 4x4, image 28x28: weights, input, output, an upstream
  gradient, and the gradients of the input and the parameters.
- unet.json: the U-Net decoder with D = 16, K = 3 (channel plan 16 -> 8 -> 4 -> 2 -> 1 -> 3), five grids
  [2, 16, 4, 4], image 28x28, in training mode: its state_dict (num_batches_tracked left out), the
  inputs, the output, the labels, the Dice + CE loss and its gradient w.r.t. the output, every
  parameter's gradient, every input's gradient, the running statistics after the forward, the
  evaluation-mode output after it, and the parameters after one AdamW step (lr 1e-3, weight decay
  0.01) on those gradients.

Every tensor is {"shape": [...], "values": [...]} (row-major; each float32 value as its shortest decimal).

Run with Debian's python3 (torch 1.13, numpy 1.24); for the MONAI check, from a virtual environment
made with --system-site-packages holding monai==1.1.0:
    python3 scripts/make_decoder_fixtures.py
Seeds are fixed; the output is deterministic.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "decoders")
SMOOTH = 1e-5


def write(name, payload):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(payload, f, separators=(",", ":"))


def tensor(t):
    array = t.detach().numpy().astype(np.float32)
    return {"shape": list(array.shape), "values": [float(str(v)) for v in array.reshape(-1)]}


def plain_dice(logits, labels, include_background):
    p = torch.softmax(logits, dim=1)
    t = F.one_hot(labels, logits.shape[1]).permute(0, 3, 1, 2).to(p.dtype)
    if not include_background:
        p, t = p[:, 1:], t[:, 1:]
    intersection = (p * t).sum(dim=(2, 3))
    denominator = p.sum(dim=(2, 3)) + t.sum(dim=(2, 3))
    return (1 - (2 * intersection + SMOOTH) / (denominator + SMOOTH)).mean()


def dice_losses(include_background):
    """(dice, dice + CE) as callables on (logits, labels [N, H, W]), and where they come from."""
    plain = (lambda x, y: plain_dice(x, y, include_background),
             lambda x, y: plain_dice(x, y, include_background) + F.cross_entropy(x, y))
    try:
        from monai.losses import DiceCELoss, DiceLoss
    except ImportError:
        return plain, "torch"
    options = dict(softmax=True, to_onehot_y=True, include_background=include_background, smooth_nr=SMOOTH, smooth_dr=SMOOTH)
    dice, dice_ce = DiceLoss(**options), DiceCELoss(**options)
    monai = (lambda x, y: dice(x, y.unsqueeze(1)), lambda x, y: dice_ce(x, y.unsqueeze(1)))
    torch.manual_seed(99)
    x, y = torch.randn(2, 4, 3, 5, dtype=torch.float64), torch.randint(0, 4, (2, 3, 5))
    for a, b in zip(monai, plain):
        assert abs(float(a(x, y)) - float(b(x, y))) < 1e-12, "MONAI and the plain formula disagree"
    return monai, "monai"


def value_and_gradient(loss, logits, labels):
    x = logits.clone().requires_grad_(True)
    value = loss(x, labels)
    value.backward()
    return float(value), tensor(x.grad)


def make_dice():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5, 6) * 2
    labels = torch.randint(0, 3, (2, 5, 6))
    labels[1, :, :] = torch.where(labels[1] == 2, torch.zeros_like(labels[1]), labels[1])  # class 2 absent in item 1
    cases, source = [], None
    for include_background in (True, False):
        (dice, dice_ce), source = dice_losses(include_background)
        dice_value, dice_gradient = value_and_gradient(dice, logits, labels)
        ce_value, ce_gradient = value_and_gradient(dice_ce, logits, labels)
        cases.append({"include_background": include_background, "dice": dice_value, "dice_gradient": dice_gradient,
                      "dice_ce": ce_value, "dice_ce_gradient": ce_gradient})
    write("dice.json", {"torch": torch.__version__, "reference": source, "logits": tensor(logits),
                        "labels": labels.reshape(-1).tolist(), "cases": cases})


class LinearDecoder(nn.Module):
    def __init__(self, dim, classes):
        super().__init__()
        self.head = nn.Conv2d(dim, classes, 1)

    def forward(self, grid, size):
        return F.interpolate(self.head(grid), size=size, mode="bilinear", align_corners=False)


class ConvBNReLU(nn.Module):
    def __init__(self, inputs, outputs):
        super().__init__()
        self.conv = nn.Conv2d(inputs, outputs, 3, padding=1)
        self.bn = nn.BatchNorm2d(outputs)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class UNetDecoder(nn.Module):
    def __init__(self, dim, classes):
        super().__init__()
        channels = [dim, dim // 2, dim // 4, dim // 8, dim // 16]
        self.skips = nn.ModuleList([ConvBNReLU(dim, c) for c in channels[1:]])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(a, b, 2, stride=2) for a, b in zip(channels, channels[1:])])
        self.fuses = nn.ModuleList([ConvBNReLU(2 * c, c) for c in channels[1:]])
        self.head = nn.Conv2d(channels[-1], classes, 1)

    def forward(self, grids, size):
        # grids: the last five blocks, oldest first; the last is the bottleneck and up-block i takes grids[3 - i].
        x = grids[-1]
        for i in range(4):
            x = self.ups[i](x)
            skip = F.interpolate(self.skips[i](grids[3 - i]), size=x.shape[2:], mode="bilinear", align_corners=False)
            x = self.fuses[i](torch.cat([x, skip], dim=1))
        return F.interpolate(self.head(x), size=size, mode="bilinear", align_corners=False)


def make_linear():
    torch.manual_seed(1)
    decoder = LinearDecoder(16, 3)
    grid = torch.randn(2, 16, 4, 4, requires_grad=True)
    output = decoder(grid, (28, 28))
    upstream = torch.randn_like(output)
    output.backward(upstream)
    write("linear.json", {"torch": torch.__version__, "state_dict": {k: tensor(v) for k, v in decoder.state_dict().items()},
                          "input": tensor(grid), "output": tensor(output), "output_gradient": tensor(upstream),
                          "input_gradient": tensor(grid.grad),
                          "gradients": {k: tensor(p.grad) for k, p in decoder.named_parameters()}})


def make_unet():
    torch.manual_seed(2)
    decoder = UNetDecoder(16, 3).train()
    state = {k: tensor(v) for k, v in decoder.state_dict().items() if not k.endswith("num_batches_tracked")}
    grids = [torch.randn(2, 16, 4, 4, requires_grad=True) for _ in range(5)]
    labels = torch.randint(0, 3, (2, 28, 28))
    output = decoder(grids, (28, 28))
    output.retain_grad()
    (_, dice_ce), _ = dice_losses(True)
    loss = dice_ce(output, labels)
    loss.backward()
    running = {k: tensor(v) for k, v in decoder.state_dict().items() if "running" in k}
    with torch.no_grad():
        evaluation = decoder.eval()([g.detach() for g in grids], (28, 28))
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=1e-3, weight_decay=0.01)
    optimizer.step()
    write("unet.json", {
        "torch": torch.__version__, "state_dict": state, "inputs": [tensor(g) for g in grids],
        "labels": labels.reshape(-1).tolist(), "output": tensor(output), "loss": float(loss),
        "output_gradient": tensor(output.grad), "input_gradients": [tensor(g.grad) for g in grids],
        "gradients": {k: tensor(p.grad) for k, p in decoder.named_parameters()},
        "running_statistics": running, "evaluation_output": tensor(evaluation),
        "after_adamw": {k: tensor(p) for k, p in decoder.named_parameters()},
    })


if __name__ == "__main__":
    make_dice()
    make_linear()
    make_unet()
