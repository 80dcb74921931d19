#!/usr/bin/env python3
"""Generate parity fixtures for RadProbe's convolutional backbones (Tests/Fixtures/cnn).

Reference: torchvision 0.14 (Debian's python3-torchvision) on torch 1.13. Every model is made
from torchvision's own module classes (``torchvision.models.resnet.ResNet`` with its
``BasicBlock``/``Bottleneck``, ``torchvision.models.densenet.DenseNet``,
``torchvision.models.vgg.VGG`` with ``make_layers``), so the state-dict keys are exactly those of
the released checkpoints; only the widths are scaled down so the fixtures stay small:

- ``resnet_bottleneck``: Bottleneck blocks [2, 1, 1, 1] with 1/16 of the stage widths
  (planes 4, 8, 16, 32; outputs 16, 32, 64, 128), the standard 64-channel stem;
- ``resnet_basic``:      BasicBlock blocks [1, 2, 1, 1] with 1/16 of the stage widths;
- ``densenet``:          growth rate 8, blocks (2, 2, 2, 2), 16 initial features, bn_size 2;
- ``vgg_bn`` / ``vgg``:  VGG-19's layout (configuration "E") with widths 4, 8, 8, 16, 16 instead of
                         64, 128, 256, 512, 512, with and without batch norm; the classifier keeps
                         its shape (Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear) with
                         hidden width 8 instead of 4096.

Every batch-norm layer gets random affine parameters and running statistics (not the 0/1
defaults) and the model is put in eval mode. A fixed input ``input`` [2, 3, 64, 64] goes through
the model under ``torch.no_grad()``.

Output (``<out>/``):
    <model>.pth             ``torch.save(model.state_dict())``, as users download checkpoints
    input.safetensors       ``input`` [2, 3, 64, 64], the input of every model
    <model>.reference.safetensors  ``pooled`` (ResNet: the global average pool, i.e. the output
                            with ``fc`` replaced by Identity; DenseNet: ReLU(norm5) then the global
                            average pool; VGG: the classifier up to its last Linear, i.e. the output
                            with ``classifier[6]`` replaced by Identity), and every stage output
                            (ResNet ``layer1``..``layer4``; DenseNet ``denseblock1``..``denseblock4``;
                            VGG ``pool1``..``pool5``), float32
    architectures.json      the state-dict key → shape lists of the full-size torchvision models
                            (resnet18/34/50/101/152, densenet121/161/169/201, vgg11/13/16/19 with and
                            without batch norm), built without weights, for key-inference tests.

How to run (Debian's python3 with python3-torch and python3-torchvision)::

    /usr/bin/python3 scripts/make_cnn_fixtures.py [--out Tests/Fixtures/cnn]

Seeds: each model torch.manual_seed(100 + index) before construction and randomisation; the input
torch.manual_seed(7).
"""

import argparse
import json
import os

import sys

import torch
from torch import nn
import torchvision
from torchvision.models import densenet, resnet, vgg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_dinov2_fixtures import write_safetensors  # noqa: E402


class NarrowResNet(resnet.ResNet):
    """torchvision's ResNet with every stage's width divided by ``divisor`` (same module names)."""

    def __init__(self, block, layers, divisor, num_classes=10):
        self.divisor = divisor
        super().__init__(block, layers, num_classes=num_classes)
        self.fc = nn.Linear(512 // divisor * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        return super()._make_layer(block, planes // self.divisor, blocks, stride, dilate)


def narrow_vgg(batch_norm):
    layout = [4, 4, "M", 8, 8, "M", 8, 8, 8, 8, "M", 16, 16, 16, 16, "M", 16, 16, 16, 16, "M"]
    model = vgg.VGG(vgg.make_layers(layout, batch_norm=batch_norm), num_classes=10)
    hidden = 8
    model.classifier = nn.Sequential(
        nn.Linear(16 * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(),
        nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(),
        nn.Linear(hidden, 10),
    )
    return model


def randomise(model):
    """Random weights everywhere, including batch-norm affine parameters and running statistics."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.2)
                module.running_mean.normal_(0, 0.2)
                module.running_var.uniform_(0.5, 2.0)
            elif isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.normal_(0, (2.0 / fan_in) ** 0.5)
                if module.bias is not None:
                    module.bias.normal_(0, 0.1)
    return model.eval()


def resnet_outputs(model, x):
    y = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    stages = {}
    for name in ["layer1", "layer2", "layer3", "layer4"]:
        y = getattr(model, name)(y)
        stages[name] = y
    model.fc = nn.Identity()
    return model(x), stages


def densenet_outputs(model, x):
    stages = {}
    y = x
    for name, module in model.features.named_children():
        y = module(y)
        if name.startswith("denseblock"):
            stages[name] = y
    model.classifier = nn.Identity()
    return model(x), stages


def vgg_outputs(model, x):
    stages = {}
    y = x
    for module in model.features:
        y = module(y)
        if isinstance(module, nn.MaxPool2d):
            stages[f"pool{len(stages) + 1}"] = y
    model.classifier[6] = nn.Identity()
    return model(x), stages


MODELS = [
    ("resnet_bottleneck", lambda: NarrowResNet(resnet.Bottleneck, [2, 1, 1, 1], divisor=16), resnet_outputs),
    ("resnet_basic", lambda: NarrowResNet(resnet.BasicBlock, [1, 2, 1, 1], divisor=16), resnet_outputs),
    ("densenet", lambda: densenet.DenseNet(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16, bn_size=2,
                                           num_classes=10), densenet_outputs),
    ("vgg_bn", lambda: narrow_vgg(batch_norm=True), vgg_outputs),
    ("vgg", lambda: narrow_vgg(batch_norm=False), vgg_outputs),
]

FULL_SIZE = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
             "densenet121", "densenet161", "densenet169", "densenet201",
             "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="Tests/Fixtures/cnn")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    torch.manual_seed(7)
    x = torch.randn(2, 3, 64, 64)
    metadata = {"reference": f"torchvision {torchvision.__version__}, torch {torch.__version__}"}
    write_safetensors(os.path.join(args.out, "input.safetensors"), {"input": x}, metadata)
    for index, (name, build, outputs) in enumerate(MODELS):
        torch.manual_seed(100 + index)
        model = randomise(build())
        torch.save(model.state_dict(), os.path.join(args.out, f"{name}.pth"))
        with torch.no_grad():
            pooled, stages = outputs(model, x)
        arrays = {"pooled": pooled, **stages}
        write_safetensors(os.path.join(args.out, f"{name}.reference.safetensors"), arrays, metadata)
        print(name, {key: tuple(value.shape) for key, value in arrays.items()})

    architectures = {}
    for name in FULL_SIZE:
        model = getattr(torchvision.models, name)(weights=None)
        architectures[name] = {key: list(value.shape) for key, value in model.state_dict().items()}
    with open(os.path.join(args.out, "architectures.json"), "w") as file:
        json.dump(architectures, file, separators=(",", ":"), sort_keys=True)


if __name__ == "__main__":
    main()
