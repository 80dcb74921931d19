#!/usr/bin/env python3
"""Images/s of the study's backbones in PyTorch and in RadProbe, in the same run on the same machine.

For each preset (RadProbe's names, `radprobe models list`), one forward pass to the features on random
images [batch, 3, size, size] with random weights (speed does not depend on them), timed like
`radprobe bench backbones`: one warm-up at the timed shape, then the median of ``--repeats`` runs.
Measured, each in its own process so that the OpenMP runtime starts with the wanted environment:

1. RadProbe: ``radprobe bench backbones --presets P --json`` (``--radprobe``, default
   ``.build/release/radprobe``);
2. PyTorch 1.13 (Debian's python3-torch), with the default ``OMP_WAIT_POLICY`` and with ``passive``,
   under ``torch.no_grad()`` in eval mode, the reference library's own module:

   - ``resnet152``, ``densenet201``, ``vgg19``: torchvision 0.14 (Debian's python3-torchvision), the
     head replaced by the identity as RadProbe's pooled features are (ResNet ``fc``, DenseNet
     ``classifier``, VGG ``classifier[6]``);
   - ``vit-l16-in21k``: transformers ``ViTModel(add_pooling_layer=False)`` at google/vit-large-patch16-224-in21k's
     configuration; ``vit-l16-in21k-timm``: timm ``vit_large_patch16_224`` with ``num_classes=0``;
     ``clip-vit-l14``: transformers ``CLIPVisionModel``; ``mae-vit-l16``: transformers ``ViTMAEModel``
     (mask_ratio 0); ``msn-vit-l16``: ``ViTMSNModel``; ``openclip-vit-h14``: open_clip ``ViT-H-14``'s
     visual tower; ``dinov2-vit*14``: transformers ``Dinov2Model``; ``sam-vit-*``: segment_anything's
     ``image_encoder`` (from PyPI: transformers==4.36.2, timm==0.9.12, open_clip_torch==2.23.0,
     segment-anything==1.0, installed with ``pip install --target DIR`` and put on PYTHONPATH).

Every process gets ``OMP_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` = ``--threads``, and PyTorch also
``torch.set_num_threads``. With ``--rounds N`` the engines are measured N times, interleaved, and each
reports its median round (a shared machine's speed drifts over minutes). Seed: torch.manual_seed(0).
One JSON line per measurement, then a table. Run::

    PYTHONPATH=DIR /usr/bin/python3 scripts/bench_backbones.py --presets vit-l16-in21k resnet152 --threads 2
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def build(name):
    import torch
    from torch import nn
    if name in ("resnet152", "densenet201", "vgg19"):
        import torchvision
        model = getattr(torchvision.models, name)(weights=None)
        if name.startswith("resnet"):
            model.fc = nn.Identity()
        elif name.startswith("densenet"):
            model.classifier = nn.Identity()
        else:
            model.classifier[6] = nn.Identity()
        return model, 224
    if name.startswith("sam-vit-"):
        from segment_anything import sam_model_registry
        return sam_model_registry["vit_" + name[-1]]().image_encoder, 1024
    if name == "vit-l16-in21k-timm":
        import timm
        return timm.create_model("vit_large_patch16_224", pretrained=False, num_classes=0), 224
    if name == "openclip-vit-h14":
        import open_clip
        return open_clip.create_model("ViT-H-14").visual, 224
    from transformers import (CLIPVisionConfig, CLIPVisionModel, Dinov2Config, Dinov2Model, ViTConfig, ViTMAEConfig,
                              ViTMAEModel, ViTMSNConfig, ViTMSNModel, ViTModel)
    large = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, patch_size=16, image_size=224)
    if name == "vit-l16-in21k":
        return ViTModel(ViTConfig(**large), add_pooling_layer=False), 224
    if name == "mae-vit-l16":
        return ViTMAEModel(ViTMAEConfig(**large, mask_ratio=0.0)), 224
    if name == "msn-vit-l16":
        return ViTMSNModel(ViTMSNConfig(**large)), 224
    if name == "clip-vit-l14":
        return CLIPVisionModel(CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                                                patch_size=14, image_size=224)), 224
    sizes = {"s": (384, 12, 6), "b": (768, 12, 12), "l": (1024, 24, 16), "g": (1536, 40, 24)}
    if name.startswith("dinov2-vit") and name[10] in sizes and not name.endswith("-reg"):
        width, depth, heads = sizes[name[10]]
        return Dinov2Model(Dinov2Config(hidden_size=width, num_hidden_layers=depth, num_attention_heads=heads, patch_size=14,
                                        image_size=518, use_swiglu_ffn=name[10] == "g")), 224
    raise SystemExit(f"no PyTorch reference for preset {name}")


def torch_worker(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, default_size = build(args.preset)
    model.eval()
    size = args.size or default_size
    images = torch.rand(args.batch, 3, size, size) * 4 - 2
    times = []
    with torch.no_grad():
        model(images)
        for _ in range(args.repeats):
            start = time.perf_counter()
            model(images)
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    print(json.dumps({
        "kind": "backbone_forward", "impl": "pytorch", "preset": args.preset, "size": size, "batch": args.batch,
        "threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "repeats": args.repeats, "seconds_per_batch": seconds, "images_per_s": args.batch / seconds, "torch": torch.__version__,
    }, sort_keys=True), flush=True)


def run(command, threads, extra_env=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), **(extra_env or {}))
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["vit-l16-in21k", "resnet152"])
    parser.add_argument("--size", type=int, help="square input size (default: each preset's)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--radprobe", default=".build/release/radprobe")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--preset", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return torch_worker(args)
    shape = ["--batch", str(args.batch), "--repeats", str(args.repeats)] + (["--size", str(args.size)] if args.size else [])
    results = {}
    for preset in args.presets:
        engines = {
            "radprobe": lambda: run([args.radprobe, "bench", "backbones", "--presets", preset, "--threads", str(args.threads), "--json"] + shape,
                                    args.threads),
            "pytorch": lambda: run([sys.executable, __file__, "--worker", "--preset", preset, "--threads", str(args.threads)] + shape, args.threads),
            "pytorch passive": lambda: run([sys.executable, __file__, "--worker", "--preset", preset, "--threads", str(args.threads)] + shape,
                                           args.threads, {"OMP_WAIT_POLICY": "passive"}),
        }
        for _ in range(args.rounds):
            for engine, measure in engines.items():
                for record in measure():
                    if record.get("kind") != "backbone_forward":
                        continue
                    print(json.dumps(dict(record, engine=engine), sort_keys=True), flush=True)
                    results.setdefault((preset, engine), []).append(record["images_per_s"])
    print(f"\n{'preset':<20} {'engine':<16} {'images/s (median of rounds)':>28}")
    for (preset, engine), rates in results.items():
        print(f"{preset:<20} {engine:<16} {statistics.median(rates):>28.2f}")


if __name__ == "__main__":
    main()
