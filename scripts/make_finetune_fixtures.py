#!/usr/bin/env python3
"""Generate PyTorch parity fixtures for whole fine-tuning steps (Tests/Fixtures/finetune).

The tiny ``plain`` DINOv2 model of ``Tests/Fixtures/backprop`` (64 wide, 2 blocks, 2 heads, patch 7, made by
``make_backprop_fixtures.py``, whose configuration and the helpers of ``make_dinov2_fixtures.py`` and
``make_lora_vit_fixtures.py`` are imported, not copied) is rebuilt with the official
``dinov2.models.vision_transformer.DinoVisionTransformer`` (facebookresearch/dinov2 at commit b48308a, xFormers
disabled) and loaded from its ``model.safetensors``. A linear head ``nn.Linear(64, 3)`` reads the final normed
CLS token (``x_norm_clstoken``). Each mode takes two optimiser steps, each on its own batch of 3 images
[3, 3, 28, 28]:

    logits = head(x_norm_clstoken)
    loss   = CrossEntropyLoss(logits, classes)                         (full, lora: multi-class)
           | mean over known entries of BCEWithLogits(logits, findings) (bitfit: multi-label, NaN unknown)
    loss.backward(); clip_grad_norm_(trainable, CLIP); AdamW step

AdamW (betas 0.9/0.999, eps 1e-8, weight decay 0.05) has two parameter groups, the head at HEAD_LR and the
backbone's trainable parameters at BACKBONE_LR; before each step every group's rate is set from the schedule

    lr_t = lr0 * (s + (1 - s) * t / W)                  for t < W (s = 1 / W),
    lr_t = lr0 * (1 + cos(pi * (t - W) / (T - W))) / 2  otherwise,

with T = epochs * steps_per_epoch and W = warmup_epochs * steps_per_epoch (MODES below). Trainable: ``full`` every
parameter but ``mask_token``; ``lora`` A and B on qkv, fc1, fc2 (rank 4, alpha 8, no dropout, the peft-style
wrapper of make_lora_vit_fixtures.py), the backbone frozen; ``bitfit`` every ``*.bias``. The head trains in all.

Output ``<out>/<mode>.safetensors``: ``images.0``, ``images.1`` [3,3,28,28]; ``classes.0``, ``classes.1`` [3]
(as floats) or ``findings.0``, ``findings.1`` [3,3]; ``loss`` [2]; ``initial.<key>`` for the head and LoRA
parameters; ``after.<key>`` for every trainable parameter after the two steps. Metadata: the settings.

How to run (Debian's python3 with torch 1.13 and numpy)::

    git -C /path/to/dinov2-clone archive b48308a | (mkdir -p /tmp/dinov2 && tar -x -C /tmp/dinov2)
    /usr/bin/python3 scripts/make_finetune_fixtures.py /tmp/dinov2 [--out Tests/Fixtures/finetune]

Seeds: torch.manual_seed(31) before the head, 32 before the LoRA matrices, 33 before the batches.
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_backprop_fixtures as backprop  # noqa: E402
import make_dinov2_fixtures as base  # noqa: E402  (sets XFORMERS_DISABLED before dinov2 is imported)
import make_lora_vit_fixtures as lora_vit  # noqa: E402

import torch  # noqa: E402

CLASSES, BATCH, SIZE = 3, 3, 28
HEAD_LR, BACKBONE_LR, WEIGHT_DECAY, CLIP = 1e-2, 1e-3, 0.05, 0.5
# mode: (task, steps per epoch, epochs, warm-up epochs)
MODES = {
    "full": ("multi_class", 2, 3, 1),
    "lora": ("multi_class", 2, 2, 0),
    "bitfit": ("multi_label", 2, 2, 0),
}


def learning_rate(base_rate, t, total, warmup):
    if t < warmup:
        s = 1.0 / warmup
        return base_rate * (s + (1 - s) * t / warmup)
    return base_rate * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2


def batches(task):
    torch.manual_seed(33)
    result = []
    for _ in range(2):
        images = torch.randn(BATCH, 3, SIZE, SIZE)
        if task == "multi_class":
            targets = torch.randint(0, CLASSES, (BATCH,))
        else:
            targets = torch.randint(0, 2, (BATCH, CLASSES)).float()
            targets[1, 2] = float("nan")
        result.append((images, targets))
    return result


def loss_of(logits, targets, task):
    if task == "multi_class":
        return torch.nn.functional.cross_entropy(logits, targets)
    known = ~torch.isnan(targets)
    each = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.nan_to_num(targets), reduction="none")
    return each[known].mean()


def run(mode, vits, attention_mod, state):
    task, per_epoch, epochs, warmup_epochs = MODES[mode]
    model = base.build(vits, attention_mod, backprop.MODELS["plain"][1])
    model.load_state_dict(state)
    model.train()
    torch.manual_seed(31)
    head = torch.nn.Linear(model.embed_dim, CLASSES)
    for p in model.parameters():
        p.requires_grad_(False)
    initial = {"head.weight": head.weight.detach().clone(), "head.bias": head.bias.detach().clone()}
    if mode == "full":
        backbone = {name: p for name, p in model.named_parameters() if name != "mask_token"}
    elif mode == "bitfit":
        backbone = {name: p for name, p in model.named_parameters() if name.endswith(".bias")}
    else:
        torch.manual_seed(32)
        wrapped = lora_vit.add_lora(model, ("qkv", "fc1", "fc2"))
        backbone = {}
        for module, lora in wrapped.items():
            for part in ("lora_A", "lora_B"):
                backbone[f"{module}.{part}.weight"] = getattr(lora, part).weight
        initial.update({k: v.detach().clone() for k, v in backbone.items()})
    for p in backbone.values():
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(
        [{"params": list(head.parameters()), "lr": HEAD_LR}, {"params": list(backbone.values()), "lr": BACKBONE_LR}],
        betas=(0.9, 0.999), eps=1e-8, weight_decay=WEIGHT_DECAY)
    total, warmup = epochs * per_epoch, warmup_epochs * per_epoch
    out, losses = {}, []
    for t, (images, targets) in enumerate(batches(task)):
        for group, rate in zip(optimizer.param_groups, (HEAD_LR, BACKBONE_LR)):
            group["lr"] = learning_rate(rate, t, total, warmup)
        optimizer.zero_grad()
        logits = head(model.forward_features(images)["x_norm_clstoken"])
        loss = loss_of(logits, targets, task)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(head.parameters()) + list(backbone.values()), CLIP)
        optimizer.step()
        losses.append(float(loss))
        out[f"images.{t}"] = images
        out[f"{'classes' if task == 'multi_class' else 'findings'}.{t}"] = targets.float()
    out["loss"] = torch.tensor(losses)
    out.update({f"initial.{k}": v for k, v in initial.items()})
    out.update({f"after.head.{k}": v.detach() for k, v in head.named_parameters()})
    out.update({f"after.{k}": v.detach() for k, v in backbone.items()})
    meta = {"generator": "scripts/make_finetune_fixtures.py", "reference_commit": base.REFERENCE_COMMIT, "task": task,
            "steps_per_epoch": per_epoch, "epochs": epochs, "warmup_epochs": warmup_epochs, "head_lr": HEAD_LR,
            "backbone_lr": BACKBONE_LR, "weight_decay": WEIGHT_DECAY, "clip_norm": CLIP, "lora_rank": lora_vit.RANK,
            "lora_alpha": lora_vit.ALPHA}
    return out, meta, losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dinov2_src", nargs="?", default=os.environ.get("DINOV2_SRC"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out", default=os.path.join(root, "Tests", "Fixtures", "finetune"))
    args = parser.parse_args()
    if not args.dinov2_src:
        sys.exit("give the path of a dinov2 export (or set DINOV2_SRC)")
    vits, attention_mod = base.import_dinov2(args.dinov2_src)
    torch.set_grad_enabled(True)
    os.makedirs(args.out, exist_ok=True)
    state, _ = base.read_safetensors(os.path.join(root, "Tests", "Fixtures", "backprop", "plain", "model.safetensors"))
    for mode in MODES:
        out, meta, losses = run(mode, vits, attention_mod, state)
        base.write_safetensors(os.path.join(args.out, f"{mode}.safetensors"), out, meta)
        print(mode, "losses", losses)


if __name__ == "__main__":
    main()
