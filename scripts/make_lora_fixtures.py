#!/usr/bin/env python3
"""Generate PyTorch-autograd parity fixtures for RadProbe's LoRA Linear (Tests/Fixtures/lora).

The reference is LoRA written in plain torch as its formula (dropout off):

    y = x @ W.T + b + (alpha / r) * (x @ A.T) @ B.T

with W [out=5, in=7], b [5], A [r=3, in], B [out, r] all given explicitly (B non-zero, so the
update is tested), alpha = 2 and an input x [2, 4, 7] (leading dimensions are rows). The loss
is sum(y * direction) with a fixed random direction [2, 4, 5]; loss.backward() gives the
gradients of x, A and B (float32 autograd).

Output (float32 .npy files in <out>):
    x.npy, weight.npy, bias.npy, lora_a.npy, lora_b.npy, direction.npy  inputs
    output.npy, input_grad.npy, lora_a_grad.npy, lora_b_grad.npy       reference results
    manifest.txt                                                       rank, alpha, torch version

How to run (Debian's python3 with torch 1.13 and numpy)::

    python3 scripts/make_lora_fixtures.py Tests/Fixtures/lora
"""
import os
import sys

import numpy as np
import torch

RANK, ALPHA, IN_FEATURES, OUT_FEATURES = 3, 2.0, 7, 5


def main(out):
    os.makedirs(out, exist_ok=True)
    generator = torch.Generator().manual_seed(20240613)

    def uniform(*shape):
        return (torch.rand(*shape, generator=generator) * 2 - 1).float()

    x = uniform(2, 4, IN_FEATURES).requires_grad_(True)
    weight = uniform(OUT_FEATURES, IN_FEATURES)
    bias = uniform(OUT_FEATURES)
    lora_a = uniform(RANK, IN_FEATURES).requires_grad_(True)
    lora_b = uniform(OUT_FEATURES, RANK).requires_grad_(True)
    direction = uniform(2, 4, OUT_FEATURES)

    output = x @ weight.T + bias + (ALPHA / RANK) * (x @ lora_a.T) @ lora_b.T
    (output * direction).sum().backward()

    arrays = {
        "x": x, "weight": weight, "bias": bias, "lora_a": lora_a, "lora_b": lora_b, "direction": direction,
        "output": output, "input_grad": x.grad, "lora_a_grad": lora_a.grad, "lora_b_grad": lora_b.grad,
    }
    for name, tensor in arrays.items():
        np.save(os.path.join(out, name + ".npy"), tensor.detach().numpy().astype(np.float32))
    with open(os.path.join(out, "manifest.txt"), "w") as manifest:
        manifest.write(f"LoRA Linear parity: rank {RANK}, alpha {ALPHA}, dropout off; torch {torch.__version__}, "
                       f"numpy {np.__version__}; made by scripts/make_lora_fixtures.py\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/lora")
