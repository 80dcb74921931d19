"""PyTorch reference timings for `radprobe bench finetune`.

Times one fine-tuning step (forward, linear head on the CLS token, cross-entropy, backward, gradient clipping to
norm 1, AdamW) of a DINOv2 ViT-S/14 with random weights on random 224x224 images, batch 8, in fp32 on the CPU, for
the modes full, LoRA r=8, LoRA r=48 (alpha 16, dropout 0.1 on qkv, fc1, fc2, backbone frozen) and BitFit (biases
and head). The model is plain torch code that mirrors DINOv2's block (pre-norm, fused qkv with bias, LayerScale,
exact-erf GELU MLP, LayerNorm eps 1e-6, bicubic position-embedding interpolation from the 37x37 grid with offset
0.1). Each mode and OpenMP wait policy runs in a fresh process (so its peak RSS, `ru_maxrss`, is its own), with
OMP_NUM_THREADS=2 (or --threads); both the default and OMP_WAIT_POLICY=passive are measured. Prints JSON lines:
mode, omp_wait_policy, median step seconds over --repeats after --warmup steps, peak RSS in MiB.

Run with Debian's python3 (torch 1.13):
    python3 scripts/bench_finetune.py [--modes full lora8 lora48 bitfit] [--repeats 5] [--threads 2]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time


def build_model(torch, depth=12, width=384, heads=6, patch=14, grid=37, classes=2):
    nn = torch.nn
    F = torch.nn.functional

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)

        def forward(self, x):
            b, n, c = x.shape
            qkv = self.qkv(x).reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0] * (c // heads) ** -0.5, qkv[1], qkv[2]
            attention = (q @ k.transpose(-2, -1)).softmax(dim=-1)
            return self.proj((attention @ v).transpose(1, 2).reshape(b, n, c))

    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(width, 4 * width)
            self.fc2 = nn.Linear(4 * width, width)

        def forward(self, x):
            return self.fc2(F.gelu(self.fc1(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(width, eps=1e-6)
            self.attn = Attention()
            self.ls1 = nn.Parameter(torch.full((width,), 1e-5))
            self.norm2 = nn.LayerNorm(width, eps=1e-6)
            self.mlp = Mlp()
            self.ls2 = nn.Parameter(torch.full((width,), 1e-5))

        def forward(self, x):
            x = x + self.ls1 * self.attn(self.norm1(x))
            return x + self.ls2 * self.mlp(self.norm2(x))

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, width, patch, patch)
            self.cls_token = nn.Parameter(torch.randn(1, 1, width) * 0.02)
            self.pos_embed = nn.Parameter(torch.randn(1, 1 + grid * grid, width) * 0.02)
            self.blocks = nn.ModuleList([Block() for _ in range(depth)])
            self.norm = nn.LayerNorm(width, eps=1e-6)
            self.head = nn.Linear(width, classes)

        def position(self, h, w):
            rows = self.pos_embed[:, 1:].reshape(1, grid, grid, width).permute(0, 3, 1, 2)
            rows = F.interpolate(rows, scale_factor=((h + 0.1) / grid, (w + 0.1) / grid), mode="bicubic")
            return torch.cat([self.pos_embed[:, :1], rows.permute(0, 2, 3, 1).reshape(1, h * w, width)], dim=1)

        def forward(self, images):
            x = self.patch_embed(images).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
            x = x + self.position(images.shape[2] // patch, images.shape[3] // patch)
            for block in self.blocks:
                x = block(x)
            return self.head(self.norm(x)[:, 0])

    return ViT()


def add_lora(torch, model, rank, alpha=16, dropout=0.1):
    nn = torch.nn

    class LoRALinear(nn.Module):
        def __init__(self, base):
            super().__init__()
            self.base = base
            self.a = nn.Parameter(torch.empty(rank, base.in_features).uniform_(-base.in_features ** -0.5, base.in_features ** -0.5))
            self.b = nn.Parameter(torch.zeros(base.out_features, rank))
            self.dropout = nn.Dropout(dropout)
            self.scale = alpha / rank

        def forward(self, x):
            return self.base(x) + (self.dropout(x) @ self.a.t() @ self.b.t()) * self.scale

    for block in model.blocks:
        block.attn.qkv = LoRALinear(block.attn.qkv)
        block.mlp.fc1 = LoRALinear(block.mlp.fc1)
        block.mlp.fc2 = LoRALinear(block.mlp.fc2)


def measure(mode, repeats, warmup, batch, size):
    import resource
    import torch

    torch.manual_seed(0)
    model = build_model(torch)
    if mode.startswith("lora"):
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        add_lora(torch, model, int(mode[4:]))
        for parameter in model.head.parameters():
            parameter.requires_grad_(True)
    elif mode == "bitfit":
        for name, parameter in model.named_parameters():
            parameter.requires_grad_(name.endswith("bias") or name.startswith("head."))
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.05)
    images = torch.randn(batch, 3, size, size)
    targets = torch.randint(0, 2, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(images), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "impl": "pytorch", "torch": torch.__version__, "mode": mode, "batch": batch, "size": size,
        "threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "step_s": times[len(times) // 2], "step_s_min": times[0], "repeats": repeats,
        "trainable_parameters": sum(p.numel() for p in trainable),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["full", "lora8", "lora48", "bitfit"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--policies", nargs="+", default=["default", "passive"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(measure(arguments.child, arguments.repeats, arguments.warmup, arguments.batch, arguments.size)))
        return
    for mode in arguments.modes:
        for policy in arguments.policies:
            environment = dict(os.environ, OMP_NUM_THREADS=str(arguments.threads))
            environment.pop("OMP_WAIT_POLICY", None)
            if policy != "default":
                environment["OMP_WAIT_POLICY"] = policy
            command = [sys.executable, __file__, "--child", mode, "--repeats", str(arguments.repeats), "--warmup", str(arguments.warmup),
                       "--batch", str(arguments.batch), "--size", str(arguments.size)]
            result = subprocess.run(command, env=environment, capture_output=True, text=True)
            if result.returncode != 0:
                sys.exit(f"mode {mode} ({policy}) failed:\n{result.stderr}")
            print(result.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
