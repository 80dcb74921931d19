#!/usr/bin/env python3
"""PyTorch's side of `radprobe bench segment`: the same segmentation workloads, timed the same way.

What it measures (each in its own process, once with the default OMP_WAIT_POLICY and once with
OMP_WAIT_POLICY=passive; OMP_NUM_THREADS and OPENBLAS_NUM_THREADS = --threads, torch.set_num_threads
the same):

1. decoder step: the study's U-Net decoder (the torch module of scripts/make_decoder_fixtures.py with
   D = 384, the same channel plan as RadProbe's UNetDecoder) on five random grids
   [batch, 384, size/14, size/14] (ViT-S/14's cached patch tokens), in training mode: forward to
   logits at size x size, Dice + cross-entropy loss (softmax Dice with one-hot labels, smoothing 1e-5,
   plus mean cross-entropy), backward, AdamW step (lr 1e-3, weight decay 0.01). One warm-up step,
   then the median of --repeats steps.
2. volume inference: a random 512x512x--slices CT volume in HU through the study's CT preprocessing
   (window [-1024, 600] over the volume, min-max to [0, 1], grey to 3 channels, antialiased bilinear
   resize to --size, ImageNet mean/std), the official DINOv2 ViT-S/14 (facebookresearch/dinov2 at
   b48308a, random weights, eval mode, get_intermediate_layers(5, reshape=True, norm=True)), the
   decoder in eval mode with logits at 512x512, the arg-max over the classes and the copy into a
   uint8 label volume; --batch slices per forward pass, under torch.inference_mode(). Seconds per
   volume are extrapolated to --volume-depth slices when --slices is smaller (and flagged).
3. with --scratch, one training step of the U-Net trained from scratch (the module of
   scripts/make_scratch_unet_fixtures.py at --scratch-width) on random images [batch, 3, size, size].

How to run (Debian's python3 has torch 1.13; the DINOv2 code is never copied into the project: export
it and pass its folder, or set DINOV2_SRC):

    git clone https://github.com/facebookresearch/dinov2 dinov2-src
    git -C dinov2-src archive b48308a | (mkdir -p dinov2-b48308a && tar -x -C dinov2-b48308a)
    /usr/bin/python3 scripts/bench_segmentation.py --dinov2-src dinov2-b48308a --threads 2

Output: a text line per measurement, or JSON lines with --json (kind decoder_step, volume_inference,
scratch_step, as radprobe bench segment --json, plus omp_wait_policy).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
SIDE = 512  # CT slice side
BLOCKS = 5  # grids the decoder reads


def median_seconds(run, repeats):
    """One warm-up call, then the median of `repeats` timed calls (the upper one for even counts, as radprobe)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def emit(record):
    print(json.dumps(record, sort_keys=True), flush=True)


def training_step(torch, model, forward, labels):
    """A closure running forward, Dice + CE, backward and one AdamW step on `model`."""
    from make_decoder_fixtures import plain_dice
    import torch.nn.functional as F

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = forward()
        loss = plain_dice(logits, labels, True) + F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
    return step


def decoder_step(args, torch, policy):
    from make_decoder_fixtures import UNetDecoder

    side = args.size // 14
    decoder = UNetDecoder(384, args.classes).train()
    grids = [torch.rand(args.batch, 384, side, side) * 2 - 1 for _ in range(BLOCKS)]
    labels = torch.randint(0, args.classes, (args.batch, args.size, args.size))
    step = training_step(torch, decoder, lambda: decoder(grids, (args.size, args.size)), labels)
    seconds = median_seconds(step, args.repeats)
    emit(dict(kind="decoder_step", engine="pytorch", omp_wait_policy=policy, model="ViT-S/14", size=args.size, batch=args.batch,
              classes=args.classes, threads=args.threads, seconds=seconds, images_per_s=args.batch / seconds))


def scratch_step(args, torch, policy):
    from make_scratch_unet_fixtures import UNet, parameter_count

    net = UNet(3, args.classes, args.scratch_width).train()
    batch = args.scratch_batch or args.batch
    images = torch.randn(batch, 3, args.size, args.size)
    labels = torch.randint(0, args.classes, (batch, args.size, args.size))
    seconds = median_seconds(training_step(torch, net, lambda: net(images), labels), args.repeats)
    emit(dict(kind="scratch_step", engine="pytorch", omp_wait_policy=policy, width=args.scratch_width, parameters=parameter_count(net),
              size=args.size, batch=batch, classes=args.classes, threads=args.threads, seconds=seconds, images_per_s=batch / seconds))


def vit_small(args):
    os.environ["XFORMERS_DISABLED"] = "1"  # pure-PyTorch attention; set before dinov2 is imported
    warnings.filterwarnings("ignore", message="xFormers is (disabled|not available)")
    sys.path.insert(0, args.dinov2_src)
    from dinov2.models import vision_transformer as vits

    return vits.vit_small(patch_size=14, img_size=518, init_values=1.0, block_chunks=0, num_register_tokens=0,
                          interpolate_antialias=False, interpolate_offset=0.1).eval()


def volume_inference(args, torch, policy):
    import numpy as np
    import torch.nn.functional as F
    from make_decoder_fixtures import UNetDecoder

    vit = vit_small(args)
    decoder = UNetDecoder(384, args.classes).eval()
    rng = np.random.default_rng(0)
    volume = torch.from_numpy(rng.integers(-1100, 1500, size=(args.slices, SIDE, SIDE)).astype(np.int16))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    labels = np.zeros((args.slices, SIDE, SIDE), dtype=np.uint8)
    phases = {"preprocess": 0.0, "backbone": 0.0, "decoder": 0.0, "argmax": 0.0}

    def timed(name, run):
        start = time.perf_counter()
        result = run()
        phases[name] += time.perf_counter() - start
        return result

    def window():
        clipped = volume.float().clamp(-1024, 600)
        low, high = clipped.min(), clipped.max()
        return (clipped - low) / (high - low)

    def preprocess(scaled, first, last):
        grey = scaled[first:last].unsqueeze(1)
        resized = F.interpolate(grey, size=(args.size, args.size), mode="bilinear", align_corners=False, antialias=True)
        return (resized.expand(-1, 3, -1, -1) - mean) / std

    start = time.perf_counter()
    with torch.inference_mode():
        scaled = timed("preprocess", window)
        for first in range(0, args.slices, args.batch):
            last = min(first + args.batch, args.slices)
            x = timed("preprocess", lambda: preprocess(scaled, first, last))
            grids = timed("backbone", lambda: list(vit.get_intermediate_layers(x, n=BLOCKS, reshape=True, norm=True)))
            logits = timed("decoder", lambda: decoder(grids, (SIDE, SIDE)))
            timed("argmax", lambda: labels.__setitem__(slice(first, last), logits.argmax(dim=1).to(torch.uint8).numpy()))
    seconds = time.perf_counter() - start
    per_slice = seconds / args.slices
    emit(dict(kind="volume_inference", engine="pytorch", omp_wait_policy=policy, model="ViT-S/14", size=args.size, batch=args.batch,
              classes=args.classes, threads=args.threads, volume=f"512x512x{args.slices}", slices=args.slices, seconds=seconds,
              seconds_per_slice=per_slice, slices_per_s=1 / per_slice, volume_depth=args.volume_depth,
              seconds_per_volume=per_slice * args.volume_depth, seconds_per_volume_extrapolated=args.slices < args.volume_depth,
              phases_seconds=phases))


def worker(args):
    import torch

    sys.path.insert(0, SCRIPTS)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    policy = os.environ.get("OMP_WAIT_POLICY", "default")
    emit(dict(kind="info", engine="pytorch", torch=torch.__version__, python=platform.python_version(), omp_wait_policy=policy))
    if not args.skip_decoder:
        decoder_step(args, torch, policy)
    if not args.skip_volume:
        volume_inference(args, torch, policy)
    if args.scratch:
        scratch_step(args, torch, policy)


def describe(record):
    policy = record.get("omp_wait_policy", "default")
    if record["kind"] == "decoder_step":
        return (f"PyTorch ({policy}) U-Net decoder step ({record['size']}², batch {record['batch']}, {record['classes']} classes, "
                f"{record['threads']} threads): {record['seconds']:.3f} s")
    if record["kind"] == "scratch_step":
        return (f"PyTorch ({policy}) scratch U-Net step (w = {record['width']}, {record['parameters'] / 1e6:.1f} M parameters, "
                f"{record['size']}², batch {record['batch']}): {record['seconds']:.3f} s")
    if record["kind"] == "volume_inference":
        phases = ", ".join(f"{k} {v:.3f} s" for k, v in record["phases_seconds"].items())
        label = "extrapolated" if record["seconds_per_volume_extrapolated"] else "measured"
        return (f"PyTorch ({policy}) volume inference ({record['volume']}, {record['size']}², {record['batch']} slices per pass): "
                f"{record['seconds']:.2f} s, {record['seconds_per_slice']:.3f} s per slice, {record['slices_per_s']:.2f} slices/s ({phases}); "
                f"{label}: {record['seconds_per_volume']:.1f} s per 512×512×{record['volume_depth']} volume")
    return json.dumps(record)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dinov2-src", default=os.environ.get("DINOV2_SRC"), help="an export of facebookresearch/dinov2 at b48308a")
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=448)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--volume-depth", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-decoder", action="store_true")
    parser.add_argument("--skip-volume", action="store_true")
    parser.add_argument("--scratch", action="store_true")
    parser.add_argument("--scratch-width", type=int, default=64)
    parser.add_argument("--scratch-batch", type=int)
    parser.add_argument("--policies", nargs="+", default=["default", "passive"], choices=["default", "passive"])
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.skip_volume and not args.dinov2_src:
        parser.error("volume inference needs --dinov2-src (or DINOV2_SRC), or pass --skip-volume")
    if args.worker:
        worker(args)
        return
    for policy in args.policies:
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
        env.pop("OMP_WAIT_POLICY", None)
        if policy == "passive":
            env["OMP_WAIT_POLICY"] = "passive"
        process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker"] + sys.argv[1:], env=env,
                                   stdout=subprocess.PIPE, text=True)
        for line in process.stdout:
            record = json.loads(line)
            if args.json:
                print(line, end="", flush=True)
            elif record["kind"] != "info":
                print(describe(record), flush=True)
        if process.wait() != 0:
            sys.exit(f"the PyTorch worker ({policy}) failed")


if __name__ == "__main__":
    main()
