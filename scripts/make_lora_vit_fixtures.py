#!/usr/bin/env python3
"""Generate PyTorch-autograd parity fixtures for LoRA on the whole ViT (Tests/Fixtures/lora_vit).

The two tiny DINOv2 models of ``Tests/Fixtures/backprop`` (made by ``make_backprop_fixtures.py``, whose
configurations and the helpers of ``make_dinov2_fixtures.py`` are imported, not copied) are rebuilt with the
official ``dinov2.models.vision_transformer.DinoVisionTransformer`` (facebookresearch/dinov2 at commit
b48308a, xFormers disabled) and loaded from their ``model.safetensors``. Every targeted ``nn.Linear`` is
wrapped in plain torch as

    y = base(x) + scale * B(A(x)),   scale = alpha / rank,  no dropout,

with ``A`` [rank, in] and ``B`` [out, rank] of seeded non-zero values; the base model is frozen. Targets:
``qkv``, ``fc1``, ``fc2`` (the study's) for ``plain``; ``qkv``, ``w12``, ``w3`` for ``reg4_swiglu``.
The input and the loss are those of the backprop fixtures (read from their ``reference.safetensors``):

    loss = sum(x_norm_clstoken * cls_direction) + sum(x_norm_patchtokens * patch_direction)

Output ``<out>/<model>.safetensors``: ``loss`` [1], ``input_grad`` [2,3,35,42], and for every target
``<module>.lora_A.weight``, ``<module>.lora_B.weight`` and their gradients ``grad.<module>.lora_A.weight``, ….
The metadata records rank and alpha.

How to run (Debian's python3 with torch 1.13 and numpy)::

    git -C /path/to/dinov2-clone archive b48308a | (mkdir -p /tmp/dinov2 && tar -x -C /tmp/dinov2)
    /usr/bin/python3 scripts/make_lora_vit_fixtures.py /tmp/dinov2 [--out Tests/Fixtures/lora_vit]

Seeds: A and B drawn with torch.manual_seed(11) in module order, A ~ N(0, 1/in), B ~ N(0, 0.5/rank).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_backprop_fixtures as backprop  # noqa: E402
import make_dinov2_fixtures as base  # noqa: E402  (sets XFORMERS_DISABLED before dinov2 is imported)

import torch  # noqa: E402

RANK, ALPHA = 4, 8.0
TARGETS = {"plain": ("qkv", "fc1", "fc2"), "reg4_swiglu": ("qkv", "w12", "w3")}


class LoRA(torch.nn.Module):
    """``base(x) + scale * B(A(x))`` over a frozen ``nn.Linear``."""

    def __init__(self, linear):
        super().__init__()
        self.base = linear
        self.lora_A = torch.nn.Linear(linear.in_features, RANK, bias=False)
        self.lora_B = torch.nn.Linear(RANK, linear.out_features, bias=False)
        with torch.no_grad():
            self.lora_A.weight.normal_(0.0, linear.in_features**-0.5)
            self.lora_B.weight.normal_(0.0, (0.5 / RANK) ** 0.5)

    def forward(self, x):
        return self.base(x) + (ALPHA / RANK) * self.lora_B(self.lora_A(x))


def add_lora(model, targets):
    """Wraps every Linear whose last key component is a target; returns {module key: LoRA}."""
    chosen = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Linear) and name.rsplit(".", 1)[-1] in targets]
    wrapped = {}
    for name in chosen:
        parent_name, leaf = name.rsplit(".", 1)
        parent = model.get_submodule(parent_name)
        wrapped[name] = LoRA(getattr(parent, leaf))
        setattr(parent, leaf, wrapped[name])
    return wrapped


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dinov2_src", nargs="?", default=os.environ.get("DINOV2_SRC"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out", default=os.path.join(root, "Tests", "Fixtures", "lora_vit"))
    args = parser.parse_args()
    if not args.dinov2_src:
        sys.exit("give the path of a dinov2 export (or set DINOV2_SRC)")
    vits, attention_mod = base.import_dinov2(args.dinov2_src)
    torch.set_grad_enabled(True)
    os.makedirs(args.out, exist_ok=True)

    for name, (_, cfg) in backprop.MODELS.items():
        folder = os.path.join(root, "Tests", "Fixtures", "backprop", name)
        state, _ = base.read_safetensors(os.path.join(folder, "model.safetensors"))
        reference, _ = base.read_safetensors(os.path.join(folder, "reference.safetensors"))
        model = base.build(vits, attention_mod, cfg)
        model.load_state_dict(state)
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        torch.manual_seed(11)
        wrapped = add_lora(model, TARGETS[name])

        x = reference["input"].clone().requires_grad_(True)
        features = model.forward_features(x)
        loss = (features["x_norm_clstoken"] * reference["cls_direction"]).sum() + (
            features["x_norm_patchtokens"] * reference["patch_direction"]
        ).sum()
        loss.backward()

        out = {"loss": loss.detach().reshape(1), "input_grad": x.grad}
        for module, lora in wrapped.items():
            for part in ("lora_A", "lora_B"):
                weight = getattr(lora, part).weight
                out[f"{module}.{part}.weight"] = weight.detach()
                out[f"grad.{module}.{part}.weight"] = weight.grad
        meta = {"generator": "scripts/make_lora_vit_fixtures.py", "reference_commit": base.REFERENCE_COMMIT,
                "rank": RANK, "alpha": ALPHA, "targets": ",".join(TARGETS[name])}
        base.write_safetensors(os.path.join(args.out, f"{name}.safetensors"), out, meta)
        print(name, "loss", float(loss), "backprop loss", float(reference["loss"]), "adapters", len(wrapped))


if __name__ == "__main__":
    main()
