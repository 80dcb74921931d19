#!/usr/bin/env python3
"""Generate parity fixtures for RadProbe's Segment Anything image encoder (Tests/Fixtures/sam).

Reference: segment-anything 1.0 (from PyPI: segment-anything==1.0, installed with
``pip install --target DIR`` and put on PYTHONPATH) on torch 1.13. The model is the package's own
``segment_anything.modeling.ImageEncoderViT`` built with the arguments ``build_sam`` uses (absolute
and decomposed relative positions, LayerNorm eps 1e-6, MLP ratio 4, qkv bias), scaled down:

    img_size 112, patch 16 (a 7×7 grid), embed_dim 32, depth 3, num_heads 2, window_size 3
    (so the 7×7 grid is padded to 9×9 and cut into 3×3 windows), global_attn_indexes (1,), out_chans 16.

Every parameter is randomised (the patch embedding, ``pos_embed``, the norms, ``rel_pos_h``/``rel_pos_w``,
the MLPs and the neck), not left at its zero/one initialisation, and the model is in eval mode.

Output (``<out>/``):
    sam_tiny.pth            ``torch.save`` of a whole-SAM-style state dict, as users download
                            ``sam_vit_l_0b3195.pth``: the encoder's tensors under ``image_encoder.``
                            plus a few stand-in ``prompt_encoder.*`` / ``mask_decoder.*`` tensors
    reference.safetensors   ``input`` [2, 3, 112, 112]; ``neck`` [2, 16, 7, 7] (the encoder's output);
                            ``block0`` (a windowed block) and ``block1`` (the global block) [2, 49, 32]:
                            those blocks' outputs [B, H, W, D] flattened to [B, H·W, D]; float32
    metadata.json           the tiny configuration, its parameter count, the dropped keys, and the
                            encoder parameter counts of the official ViT-B, ViT-L and ViT-H encoders
                            (built with ``build_sam``'s arguments, counted with ``numel``)

How to run (Debian's python3 with python3-torch)::

    PYTHONPATH=DIR /usr/bin/python3 scripts/make_sam_fixtures.py [--out Tests/Fixtures/sam]

Seeds: torch.manual_seed(11) before construction and randomisation, torch.manual_seed(12) for the input.
"""

import argparse
import json
import os
import sys
from functools import partial

import torch
from segment_anything.modeling import ImageEncoderViT

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_dinov2_fixtures import write_safetensors  # noqa: E402

TINY = dict(img_size=112, patch_size=16, embed_dim=32, depth=3, num_heads=2, window_size=3,
            global_attn_indexes=(1,), out_chans=16)

OFFICIAL = {  # build_sam.py: sam_model_registry's encoders
    "vit_b": dict(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11)),
    "vit_l": dict(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23)),
    "vit_h": dict(embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=(7, 15, 23, 31)),
}

STAND_INS = {  # shapes of the real tensors, with SAM's 256 channels scaled to 16
    "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix": (2, 8),
    "prompt_encoder.point_embeddings.0.weight": (1, 16),
    "mask_decoder.iou_token.weight": (1, 16),
}


def encoder(img_size=1024, patch_size=16, window_size=14, out_chans=256, **sizes):
    """``ImageEncoderViT`` with the arguments of ``build_sam``'s ``_build_sam``."""
    return ImageEncoderViT(img_size=img_size, patch_size=patch_size, mlp_ratio=4,
                           norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), qkv_bias=True, use_rel_pos=True,
                           window_size=window_size, out_chans=out_chans, **sizes)


def randomise(model):
    """Replaces every parameter: weights ~ N(0, 1/fan_in), biases ~ N(0, 0.1²), norm weights 1 + N(0, 0.2²),
    position tables ~ N(0, 0.5²)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "rel_pos" in name or name == "pos_embed":
                p.copy_(0.5 * torch.randn_like(p))
            elif p.dim() == 1 and ("norm" in name or name.startswith("neck.1") or name.startswith("neck.3")):
                p.copy_((1 + 0.2 * torch.randn_like(p)) if name.endswith("weight") else 0.1 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn_like(p))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn_like(p) / fan_in ** 0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("Tests", "Fixtures", "sam"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    torch.manual_seed(11)
    model = encoder(**TINY)
    randomise(model)
    model.eval()

    state = {"image_encoder." + k: v.detach().clone() for k, v in model.state_dict().items()}
    for key, shape in STAND_INS.items():
        state[key] = torch.randn(*shape)
    torch.save(state, os.path.join(args.out, "sam_tiny.pth"))

    torch.manual_seed(12)
    x = torch.randn(2, 3, TINY["img_size"], TINY["img_size"])
    captured = {}
    hooks = [model.blocks[i].register_forward_hook(
        lambda module, inputs, output, i=i: captured.__setitem__(i, output.detach().clone())) for i in (0, 1)]
    with torch.no_grad():
        neck = model(x)
    for hook in hooks:
        hook.remove()
    arrays = {"input": x, "neck": neck}
    for i, tokens in captured.items():
        arrays[f"block{i}"] = tokens.reshape(tokens.shape[0], -1, tokens.shape[-1])
    write_safetensors(os.path.join(args.out, "reference.safetensors"), arrays,
                      {"reference": f"segment-anything 1.0, torch {torch.__version__}"})

    official = {}
    for name, sizes in OFFICIAL.items():
        full = encoder(**sizes)
        official[name] = sum(p.numel() for p in full.parameters())
        del full
    metadata = {
        "tiny": {**{k: list(v) if isinstance(v, tuple) else v for k, v in TINY.items()},
                 "parameters": sum(p.numel() for p in model.parameters())},
        "dropped_keys": sorted(STAND_INS),
        "official_encoder_parameters": official,
    }
    with open(os.path.join(args.out, "metadata.json"), "w") as f:
        json.dump(metadata, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
