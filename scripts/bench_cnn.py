#!/usr/bin/env python3
"""Images/s of torchvision CNN backbones in PyTorch, next to `radprobe bench cnn`.

Reference: torchvision (Debian's python3-torchvision 0.14) on torch 1.13 (Debian's python3-torch).
Each preset (default resnet152) is built with random weights (``weights=None``), its head replaced by
the identity as RadProbe's pooled features are (ResNet ``fc``, DenseNet ``classifier``, VGG
``classifier[6]``), put in eval mode, and run under ``torch.no_grad()`` on random images
[batch, 3, size, size]: one warm-up, then ``--repeats`` timed runs, the median reported as one JSON
line per preset.

How to run (threads are set through the environment, before torch starts)::

    OMP_NUM_THREADS=2 /usr/bin/python3 scripts/bench_cnn.py [--presets resnet152] [--size 224] [--batch 32]
    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive /usr/bin/python3 scripts/bench_cnn.py

Seed: torch.manual_seed(0).
"""

import argparse
import json
import os
import statistics
import time

import torch
from torch import nn
import torchvision


def backbone(name):
    model = getattr(torchvision.models, name)(weights=None)
    if name.startswith("resnet"):
        model.fc = nn.Identity()
    elif name.startswith("densenet"):
        model.classifier = nn.Identity()
    else:
        model.classifier[6] = nn.Identity()
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["resnet152"])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    for name in args.presets:
        model = backbone(name)
        images = torch.rand(args.batch, 3, args.size, args.size) * 4 - 2
        times = []
        with torch.no_grad():
            model(images)
            for _ in range(args.repeats):
                start = time.perf_counter()
                model(images)
                times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        print(json.dumps({
            "kind": "cnn_forward", "impl": "pytorch", "preset": name, "size": args.size, "batch": args.batch,
            "threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
            "repeats": args.repeats, "seconds_per_batch": seconds, "images_per_s": args.batch / seconds,
            "torch": torch.__version__, "torchvision": torchvision.__version__,
        }, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
