#!/usr/bin/env python3
"""Parameter counts of the study's full-size backbones, from their reference libraries
(Tests/Fixtures/backbones/parameter_counts.json), for RadProbe's preset catalog to be checked against.

Each backbone is built at full size with random weights by the library its weights are published for,
and its parameters are counted as RadProbe runs the backbone: every tensor of the encoder's state dict
(position embeddings and mask tokens included, buffers such as ``position_ids`` and batch-norm running
statistics excluded), without classification heads, poolers, projections or decoders:

- DINOv2 ViT-S/B/L/g 14: transformers ``Dinov2Model`` (its parameters are those of the official hub
  models: class, mask and position tokens, patch embedding, blocks with LayerScale, final norm; the
  giant uses SwiGLU);
- ``vit-l16-in21k``: transformers ``ViTModel(add_pooling_layer=False)`` with google/vit-large-patch16-224-in21k's
  configuration; ``vit-l16-in21k-timm``: timm ``vit_large_patch16_224`` with ``num_classes=0``;
- ``clip-vit-l14``: transformers ``CLIPVisionModel`` with openai/clip-vit-large-patch14's vision configuration;
- ``openclip-vit-h14``: open_clip ``create_model("ViT-H-14")``'s ``visual`` tower less its ``proj``;
- ``mae-vit-l16``, ``msn-vit-l16``: transformers ``ViTMAEModel`` and ``ViTMSNModel`` at ViT-L/16;
- ``sam-vit-b/l/h``: segment_anything ``sam_model_registry[...]().image_encoder``;
- torchvision ``resnet152``, ``densenet201``, ``vgg19`` less their last classifier layer.

Reference packages (Debian's python3-torch 1.13 and python3-torchvision 0.14, and from PyPI:
transformers==4.36.2, open_clip_torch==2.23.0, timm==0.9.12, segment-anything==1.0, installed with
``pip install --target DIR`` and put on PYTHONPATH). Needs about 4 GB of memory. Run::

    PYTHONPATH=DIR /usr/bin/python3 scripts/make_backbone_catalog_fixture.py Tests/Fixtures/backbones
"""

import json
import os
import sys

import torch


def count(state_dict, skip=()):
    return sum(t.numel() for k, t in state_dict.items()
               if not any(k.startswith(p) for p in skip)
               and not k.endswith(("position_ids", "running_mean", "running_var", "num_batches_tracked")))


def main(out):
    import open_clip
    import timm
    import torchvision
    from segment_anything import sam_model_registry
    from transformers import (CLIPVisionConfig, CLIPVisionModel, Dinov2Config, Dinov2Model, ViTConfig, ViTMAEConfig,
                              ViTMAEModel, ViTMSNConfig, ViTMSNModel, ViTModel)

    torch.manual_seed(0)
    counts = {}
    for name, (width, depth, heads, swiglu) in {"dinov2-vits14": (384, 12, 6, False), "dinov2-vitb14": (768, 12, 12, False),
                                                 "dinov2-vitl14": (1024, 24, 16, False), "dinov2-vitg14": (1536, 40, 24, True)}.items():
        config = Dinov2Config(hidden_size=width, num_hidden_layers=depth, num_attention_heads=heads, patch_size=14, image_size=518,
                              use_swiglu_ffn=swiglu)
        counts[name] = count(Dinov2Model(config).state_dict())
    large = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, patch_size=16, image_size=224)
    counts["vit-l16-in21k"] = count(ViTModel(ViTConfig(**large), add_pooling_layer=False).state_dict())
    counts["vit-l16-in21k-timm"] = count(timm.create_model("vit_large_patch16_224", pretrained=False, num_classes=0).state_dict())
    counts["mae-vit-l16"] = count(ViTMAEModel(ViTMAEConfig(**large, mask_ratio=0.0)).state_dict())
    counts["msn-vit-l16"] = count(ViTMSNModel(ViTMSNConfig(**large)).state_dict())
    clip = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, patch_size=14,
                            image_size=224, projection_dim=768)
    counts["clip-vit-l14"] = count(CLIPVisionModel(clip).state_dict())
    counts["openclip-vit-h14"] = count(open_clip.create_model("ViT-H-14").visual.state_dict(), skip=("proj",))
    for name, kind in {"sam-vit-b": "vit_b", "sam-vit-l": "vit_l", "sam-vit-h": "vit_h"}.items():
        counts[name] = count(sam_model_registry[kind]().image_encoder.state_dict())
    for name, head in {"resnet152": "fc.", "densenet201": "classifier.", "vgg19": "classifier.6."}.items():
        counts[name] = count(getattr(torchvision.models, name)().state_dict(), skip=(head,))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "parameter_counts.json"), "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(counts, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/backbones")
