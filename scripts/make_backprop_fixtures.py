#!/usr/bin/env python3
"""Generate PyTorch-autograd parity fixtures for RadProbe's backward pass (Tests/Fixtures/backprop).

Two tiny, randomly initialised DINOv2 ViTs are built with the official
``dinov2.models.vision_transformer.DinoVisionTransformer`` (facebookresearch/dinov2
at commit b48308a, xFormers disabled), exactly as ``make_dinov2_fixtures.py``
builds and randomises its models (that script's helpers are imported, not copied):

- ``plain``:       embed_dim 64, depth 2, 2 heads, patch 7, img_size 28 (4x4 position grid),
                   MLP (ratio 2), LayerScale, offset-0.1 interpolation, no registers;
- ``reg4_swiglu``: the same with ``ffn_layer="swiglufused"``, 4 register tokens and the
                   antialiased, offset-0 interpolation.

A fixed input ``x`` [2, 3, 35, 42] (5x6 patches, so the position grid is resized
bicubically) goes through ``forward_features``; the scalar loss is

    loss = sum(x_norm_clstoken * cls_direction) + sum(x_norm_patchtokens * patch_direction)

with fixed random directions, and ``loss.backward()`` gives every parameter
gradient and the input gradient (float32 autograd).

Output per model folder ``<out>/<model>/``:
    model.safetensors  official keys, float32 (loaded by LoadedBackbone)
    reference.safetensors
        input [2,3,35,42], cls_direction [D], patch_direction [2,30,D], loss [1],
        input_grad [2,3,35,42], and "grad.<parameter key>" for every parameter
        that receives a gradient (mask_token does not).

How to run (Debian's python3 with torch 1.13 and numpy)::

    git -C /path/to/dinov2-clone archive b48308a | (mkdir -p /tmp/dinov2 && tar -x -C /tmp/dinov2)
    /usr/bin/python3 scripts/make_backprop_fixtures.py /tmp/dinov2 [--out Tests/Fixtures/backprop]

Seeds: models 2024 (plain) and 2025 (reg4_swiglu) via torch.manual_seed before
construction; the input, directions: torch.manual_seed(7).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_dinov2_fixtures as base  # noqa: E402  (sets XFORMERS_DISABLED before dinov2 is imported)

import torch  # noqa: E402

COMMON = dict(
    patch_size=7,
    embed_dim=64,
    depth=2,
    num_heads=2,
    mlp_ratio=2,
    qkv_bias=True,
    proj_bias=True,
    ffn_bias=True,
    init_values=1.0,
    block_chunks=0,
    img_size=28,
)
MODELS = {
    "plain": (2024, dict(COMMON, ffn_layer="mlp", num_register_tokens=0, interpolate_offset=0.1, interpolate_antialias=False)),
    "reg4_swiglu": (
        2025,
        dict(COMMON, ffn_layer="swiglufused", num_register_tokens=4, interpolate_offset=0.0, interpolate_antialias=True),
    ),
}
BATCH, HEIGHT, WIDTH = 2, 35, 42


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dinov2_src", nargs="?", default=os.environ.get("DINOV2_SRC"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out", default=os.path.join(root, "Tests", "Fixtures", "backprop"))
    args = parser.parse_args()
    if not args.dinov2_src:
        sys.exit("give the path of a dinov2 export (or set DINOV2_SRC)")
    vits, attention_mod = base.import_dinov2(args.dinov2_src)
    torch.set_grad_enabled(True)

    for name, (seed, cfg) in MODELS.items():
        torch.manual_seed(seed)
        model = base.build(vits, attention_mod, cfg)
        base.randomise(model)
        model.eval()
        torch.manual_seed(7)
        x = torch.randn(BATCH, 3, HEIGHT, WIDTH, requires_grad=True)
        cls_direction = torch.randn(cfg["embed_dim"])
        patches = (HEIGHT // cfg["patch_size"]) * (WIDTH // cfg["patch_size"])
        patch_direction = torch.randn(BATCH, patches, cfg["embed_dim"]) * 0.1

        features = model.forward_features(x)
        loss = (features["x_norm_clstoken"] * cls_direction).sum() + (features["x_norm_patchtokens"] * patch_direction).sum()
        loss.backward()

        out = os.path.join(args.out, name)
        os.makedirs(out, exist_ok=True)
        state = {k: v.detach() for k, v in model.state_dict().items()}
        meta = {"generator": "scripts/make_backprop_fixtures.py", "reference_commit": base.REFERENCE_COMMIT, "config": str(cfg)}
        base.write_safetensors(os.path.join(out, "model.safetensors"), state, meta)
        reference = {
            "input": x.detach(),
            "cls_direction": cls_direction,
            "patch_direction": patch_direction,
            "loss": loss.detach().reshape(1),
            "input_grad": x.grad,
        }
        for key, parameter in model.named_parameters():
            if parameter.grad is not None:
                reference["grad." + key] = parameter.grad
        base.write_safetensors(os.path.join(out, "reference.safetensors"), reference, meta)
        print(name, "loss", float(loss), "gradients", len(reference) - 5)


if __name__ == "__main__":
    main()
