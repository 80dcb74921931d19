#!/usr/bin/env python3
"""RadProbe against PyTorch and onnxruntime: the same DINOv2 forward passes, same machine, same run.

What it measures
----------------
For every (model, size, batch) shape, the images/s of one forward pass that returns the final-norm
tokens (``forward_features``) of a randomly initialised DINOv2 ViT (speed does not depend on the
weights), in

1. RadProbe: ``radprobe bench --json`` (its own timing loop, its peak RSS and SGEMM peak);
2. PyTorch, twice, each in its own process of this script (``--worker torch``) so the OpenMP
   runtime starts with the wanted environment: once with the default ``OMP_WAIT_POLICY`` and once
   with ``OMP_WAIT_POLICY=passive``. The model is the official ``DinoVisionTransformer``
   (facebookresearch/dinov2 at b48308a, explicit matmul + softmax attention) built as the hub
   builds it (``vit_small``/``vit_base``/... with patch 14, img_size 518, init_values 1.0,
   block_chunks 0), in eval mode under ``torch.inference_mode()``;
3. onnxruntime: the same PyTorch module exported with ``torch.onnx.export`` (opset 14, one file per
   (model, size) with a dynamic batch axis; ``--worker export``) and run by a second interpreter
   (``--worker ort`` under ``--ort-python``) with ``intra_op_num_threads = --threads`` and every
   graph optimisation enabled. Before timing, each exported graph is checked against PyTorch's
   output on a batch of 1 (the export is traced at batch 2, so this also checks the batch axis).

PyTorch and onnxruntime are timed like ``radprobe bench``: one warm-up run at the timed shape,
then the median of ``--repeats`` runs. With ``--rounds N`` every engine is measured N times, the
rounds interleaved (RadProbe, PyTorch, onnxruntime, RadProbe, ...), and each shape reports the
median round: the speed of a shared machine drifts over minutes, and interleaving spreads the drift
over all engines. Every process gets ``OMP_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS`` = ``--threads`` (Debian's torch does its matrix products through
OpenBLAS), and PyTorch also ``torch.set_num_threads(--threads)``.

GFLOP per image (the count RadProbe uses, multiply-adds x 2; tokens = patches + 1)::

    2 * (patches*D*3*14^2 + depth*(tokens*(4*D^2 + 2*D*hidden) + 2*tokens^2*D))

(a SwiGLU feed-forward, ViT-g, counts ``3*D*hidden`` instead of ``2*D*hidden``). The script checks
that RadProbe's reported GFLOP/s agree with it. Because the FLOP count per shape is the same for
all three engines, the img/s ratios are also the GFLOP/s ratios. "RadProbe peak RSS" is the
``ru_maxrss`` of the radprobe process after that shape (a running maximum over the run).

How to run
----------
Debian's torch 1.13 lives only in ``/usr/bin/python3``; onnxruntime only in the default
``python3`` on PATH. Run this script with ``/usr/bin/python3``; it starts the onnxruntime part
with ``--ort-python`` (default ``python3``). The official DINOv2 code is never copied into the
project: export it and pass its path (or set ``DINOV2_SRC``)::

    git clone https://github.com/facebookresearch/dinov2 /tmp/dinov2-src
    git -C /tmp/dinov2-src archive b48308a | (mkdir -p /tmp/dinov2-b48308a && tar -x -C /tmp/dinov2-b48308a)
    make release    # only if .build/release/radprobe is missing
    /usr/bin/python3 scripts/bench_reference.py --dinov2-src /tmp/dinov2-b48308a \\
        --models s b --sizes 224 448 --batches 1 32 --repeats 3 --threads 2 --markdown

Options: ``--radprobe PATH`` (default ``.build/release/radprobe``), ``--skip-torch``,
``--skip-ort``, ``--ort-python PYTHON``, ``--markdown`` (a Markdown table for
docs/performance.md with the CPU, the library versions and the exact command line). Progress goes
to stderr, the table to stdout. Run it on an otherwise idle machine: the engines run one after
the other, so background load skews the ratios.
"""

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from collections import namedtuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DINOV2_COMMIT = "b48308a394a04ccb9c4dd3a1f0a4daa1ce0579b8"
PATCH = 14
ONNX_OPSET = 14
EXPORT_BATCH = 2  # traced batch size; the exported graph's batch axis is dynamic
CHECK_TOLERANCE = 1e-3  # max |onnxruntime - PyTorch| on the final-norm tokens

Arch = namedtuple("Arch", "builder name width depth hidden swiglu")
ARCHS = {
    "s": Arch("vit_small", "ViT-S/14", 384, 12, 4 * 384, False),
    "b": Arch("vit_base", "ViT-B/14", 768, 12, 4 * 768, False),
    "l": Arch("vit_large", "ViT-L/14", 1024, 24, 4 * 1024, False),
    "g": Arch("vit_giant2", "ViT-g/14", 1536, 40, (int(4 * 1536 * 2 / 3) + 7) // 8 * 8, True),
}


# --------------------------------------------------------------------------- #
# shared helpers
# --------------------------------------------------------------------------- #
def gflop_per_image(arch, size):
    """RadProbe's FLOP count (``VisionTransformerConfiguration.flops``) for one size x size image, in GFLOP."""
    patches = (size // PATCH) ** 2
    tokens = patches + 1
    d = arch.width
    feed_forward = (3 if arch.swiglu else 2) * d * arch.hidden
    per_block = tokens * (4 * d * d + feed_forward) + 2 * tokens * tokens * d
    return 2 * (patches * d * 3 * PATCH * PATCH + arch.depth * per_block) / 1e9


def median_seconds(run, repeats):
    """One warm-up call, then the median of ``repeats`` timed calls (the upper one for even counts, as radprobe)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def shapes(args):
    """The (model key, size, batch) triples in table order."""
    return [(m, s, b) for m in args.models for s in args.sizes for b in args.batches]


def emit(record):
    print(json.dumps(record), flush=True)


def log(message):
    print(message, file=sys.stderr, flush=True)


def timing_record(key, size, batch, seconds, **extra):
    images_per_s = batch / seconds
    return dict(kind="vit", model=ARCHS[key].name, size=size, batch=batch, images_per_s=images_per_s,
                gflops=gflop_per_image(ARCHS[key], size) * images_per_s, **extra)


def loaded_libraries(pattern):
    """Real paths of the shared libraries mapped into this process whose file name matches ``pattern``."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/" in line}
    return sorted({os.path.realpath(p) for p in paths if re.search(pattern, os.path.basename(p))})


# --------------------------------------------------------------------------- #
# workers: PyTorch (also the ONNX export) under /usr/bin/python3, onnxruntime under --ort-python
# --------------------------------------------------------------------------- #
def official_features_module(args, key):
    """The hub's DINOv2 architecture from the official code, wrapped to return (cls, patch) final-norm tokens."""
    import torch

    os.environ["XFORMERS_DISABLED"] = "1"  # pure-PyTorch attention; must be set before dinov2 is imported
    warnings.filterwarnings("ignore", message="xFormers is (disabled|not available)")
    if args.dinov2_src not in sys.path:
        sys.path.insert(0, args.dinov2_src)
    from dinov2.models import vision_transformer as vits

    arch = ARCHS[key]
    backbone = getattr(vits, arch.builder)(
        patch_size=PATCH, img_size=518, init_values=1.0, block_chunks=0,
        ffn_layer="swiglufused" if arch.swiglu else "mlp", num_register_tokens=0,
        interpolate_antialias=False, interpolate_offset=0.1,
    )

    class Features(torch.nn.Module):
        def __init__(self, backbone):
            super().__init__()
            self.backbone = backbone

        def forward(self, x):
            out = self.backbone.forward_features(x)
            return out["x_norm_clstoken"], out["x_norm_patchtokens"]

    return Features(backbone).eval()


def torch_worker(args):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    emit(dict(kind="info", torch=torch.__version__, python=platform.python_version(),
              blas=loaded_libraries(r"blas|lapack"), omp_wait_policy=os.environ.get("OMP_WAIT_POLICY", "default")))
    for key in args.models:
        module = official_features_module(args, key)
        with torch.inference_mode():
            for size in args.sizes:
                for batch in args.batches:
                    x = torch.randn(batch, 3, size, size)
                    record = timing_record(key, size, batch, median_seconds(lambda: module(x), args.repeats))
                    log(f"  PyTorch ({os.environ.get('OMP_WAIT_POLICY', 'default')}) {record['model']} "
                        f"{size} x{batch}: {record['images_per_s']:.2f} img/s")
                    emit(record)


def onnx_path(onnx_dir, key, size):
    # One folder per graph: a model over 2 GB is written with external data files named after its tensors.
    return os.path.join(onnx_dir, f"{key}-{size}", "model.onnx")


def export_worker(args):
    """Export one ONNX graph per (model, size) and a batch-1 input with PyTorch's output for checking it."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # Expected: the traced shape arithmetic (patch grid, position-embedding scale) is fixed per input
    # size, which is why there is one graph per size.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant type is missing")
    for key in args.models:
        module = official_features_module(args, key)
        for size in args.sizes:
            path = onnx_path(args.onnx_dir, key, size)
            os.makedirs(os.path.dirname(path))
            with torch.no_grad():
                torch.onnx.export(
                    module, torch.randn(EXPORT_BATCH, 3, size, size), path, opset_version=ONNX_OPSET,
                    input_names=["image"], output_names=["cls", "patch"],
                    dynamic_axes={name: {0: "batch"} for name in ("image", "cls", "patch")},
                )
            check = torch.randn(1, 3, size, size)
            with torch.inference_mode():
                _, patch = module(check)
            np.save(path + ".check_input.npy", check.numpy())
            np.save(path + ".check_patch.npy", patch.numpy())
            log(f"  exported {ARCHS[key].name} {size}: {path}")
    emit(dict(kind="info", torch=torch.__version__))


def ort_worker(args):
    import numpy as np
    import onnxruntime as ort

    emit(dict(kind="info", onnxruntime=ort.__version__, python=platform.python_version()))
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    rng = np.random.default_rng(0)
    for key in args.models:
        for size in args.sizes:
            path = onnx_path(args.onnx_dir, key, size)
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            (patch,) = session.run(["patch"], {"image": np.load(path + ".check_input.npy")})
            error = float(np.max(np.abs(patch - np.load(path + ".check_patch.npy"))))
            if not error <= CHECK_TOLERANCE:
                sys.exit(f"onnxruntime and PyTorch disagree on {ARCHS[key].name} {size}: max |diff| {error:.3g}")
            for batch in args.batches:
                x = rng.standard_normal((batch, 3, size, size), dtype=np.float32)
                seconds = median_seconds(lambda: session.run(None, {"image": x}), args.repeats)
                record = timing_record(key, size, batch, seconds, max_abs_diff_vs_torch=error)
                log(f"  onnxruntime {record['model']} {size} x{batch}: {record['images_per_s']:.2f} img/s "
                    f"(max |diff| vs PyTorch {error:.1e})")
                emit(record)


WORKERS = {"torch": torch_worker, "export": export_worker, "ort": ort_worker}


# --------------------------------------------------------------------------- #
# driver
# --------------------------------------------------------------------------- #
def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def run_json(command, threads=None, wait_policy=None):
    """Runs ``command`` (stderr passes through) and returns the JSON objects it printed, one a line.

    With ``threads``, the command gets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS = threads and the
    OpenMP wait policy ``wait_policy`` (None: the runtime's default, whatever the caller's environment says).
    """
    env, settings = dict(os.environ), {}
    if threads:
        env.pop("OMP_WAIT_POLICY", None)
        settings = dict(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
        if wait_policy:
            settings["OMP_WAIT_POLICY"] = wait_policy
    env.update(settings)
    log("$ " + " ".join(f"{k}={v}" for k, v in settings.items()) + (" " if settings else "") + shlex.join(command))
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"failed (exit status {done.returncode}): {shlex.join(command)}")
    return json_lines(done.stdout)


def run_worker(args, python, worker, wait_policy=None, onnx_dir=None):
    command = [python, os.path.abspath(__file__), "--worker", worker, "--models", *args.models,
               "--sizes", *map(str, args.sizes), "--batches", *map(str, args.batches),
               "--repeats", str(args.repeats), "--threads", str(args.threads)]
    if args.dinov2_src:
        command += ["--dinov2-src", args.dinov2_src]
    if onnx_dir:
        command += ["--onnx-dir", onnx_dir]
    return run_json(command, args.threads, wait_policy)


def by_shape(records):
    return {(r["model"], r["size"], r["batch"]): r for r in records if r.get("kind") == "vit"}


def info_of(records):
    return next((r for r in records if r.get("kind") == "info"), {})


def run_radprobe(args):
    records = run_json([args.radprobe, "bench", "--models", *args.models, "--sizes", *map(str, args.sizes),
                        "--batches", *map(str, args.batches), "--repeats", str(args.repeats),
                        "--threads", str(args.threads), "--json"])
    for r in by_shape(records).values():
        arch = next(a for a in ARCHS.values() if a.name == r["model"])
        expected = gflop_per_image(arch, r["size"]) * r["images_per_s"]
        if abs(r["gflops"] - expected) > 1e-6 * expected:
            log(f"warning: RadProbe's GFLOP/s for {r['model']} {r['size']} ({r['gflops']:.2f}) differ from "
                f"this script's FLOP count ({expected:.2f})")
    return records


def median_of_rounds(rounds):
    """One record list from several rounds: per shape, the round with the median images/s."""
    if not rounds:
        return []
    groups = {}
    for records in rounds:
        for shape, record in by_shape(records).items():
            groups.setdefault(shape, []).append(record)
    merged = [r for r in rounds[0] if r.get("kind") != "vit"]
    for records in groups.values():
        records.sort(key=lambda r: r["images_per_s"])
        merged.append(records[len(records) // 2])
    return merged


def measure(args):
    """Every engine once per round, rounds interleaved so that drift of the machine's speed over the
    run affects all engines alike; per shape, the median over rounds."""
    rounds = {"radprobe": [], "torch_default": [], "torch_passive": [], "ort": []}
    with tempfile.TemporaryDirectory(prefix="radprobe-bench-onnx-") as onnx_dir:
        exported = [] if args.skip_ort else run_worker(args, sys.executable, "export", onnx_dir=onnx_dir)
        for number in range(args.rounds):
            log(f"round {number + 1} of {args.rounds}")
            rounds["radprobe"].append(run_radprobe(args))
            if not args.skip_torch:
                rounds["torch_default"].append(run_worker(args, sys.executable, "torch"))
                rounds["torch_passive"].append(run_worker(args, sys.executable, "torch", wait_policy="passive"))
            if not args.skip_ort:
                rounds["ort"].append(run_worker(args, args.ort_python, "ort", onnx_dir=onnx_dir))
    results = {engine: median_of_rounds(records) for engine, records in rounds.items()}
    results["ort"] = exported + results["ort"]
    return results


def ratio(numerator, denominator):
    return numerator / denominator if numerator and denominator else None


def table_rows(args, results):
    """One row per shape: the columns of the output table, numbers or None where not measured."""
    rows = []
    for key, size, batch in shapes(args):
        shape = (ARCHS[key].name, size, batch)
        ips = {engine: by_shape(records).get(shape, {}).get("images_per_s") for engine, records in results.items()}
        radprobe = by_shape(results["radprobe"]).get(shape, {})
        best_torch = max((v for v in (ips["torch_default"], ips["torch_passive"]) if v), default=None)
        rows.append([ARCHS[key].name, size, batch, ips["radprobe"], ips["torch_default"], ips["torch_passive"],
                     ips["ort"], ratio(ips["radprobe"], best_torch), ratio(ips["radprobe"], ips["ort"]),
                     radprobe.get("gflops"), radprobe.get("peak_rss_mib")])
    return rows


HEADERS = ["model", "size", "batch", "RadProbe img/s", "PyTorch img/s (default)", "PyTorch img/s (passive)",
           "onnxruntime img/s", "RadProbe/PyTorch (best)", "RadProbe/onnxruntime", "RadProbe GFLOP/s",
           "RadProbe peak RSS MiB"]
FORMATS = ["{}", "{}", "{}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.1f}", "{:.0f}"]


def format_rows(rows):
    return [[("—" if value is None else fmt.format(value)) for fmt, value in zip(FORMATS, row)] for row in rows]


def text_table(rows):
    cells = [HEADERS] + format_rows(rows)
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    return "\n".join(lines[:1] + ["  ".join("-" * w for w in widths)] + lines[1:])


def markdown_table(rows):
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join([":---"] + ["---:"] * (len(HEADERS) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in format_rows(rows)]
    return "\n".join(lines)


def cpu_model():
    with open("/proc/cpuinfo") as cpuinfo:
        return next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown")


def version_of(binary):
    done = subprocess.run([binary, "--version"], stdout=subprocess.PIPE, text=True)
    return done.stdout.strip() or "unknown"


def markdown_report(args, results, rows):
    torch_info = info_of(results["torch_default"]) or info_of(results["torch_passive"]) or info_of(results["ort"])
    ort_info = next((r for r in results["ort"] if r.get("kind") == "info" and "onnxruntime" in r), {})
    sgemm_record = next((r for r in results["radprobe"] if r.get("kind") == "sgemm"), {})
    sgemm = sgemm_record.get("gflops")
    blas = ", ".join(os.path.basename(os.path.dirname(p)) + "/" + os.path.basename(p)
                     for p in torch_info.get("blas", []))
    torch_text = f"PyTorch {torch_info['torch']}" if "torch" in torch_info else "PyTorch not run"
    if blas:
        torch_text += f" (BLAS: {blas})"
    ort_text = f"onnxruntime {ort_info['onnxruntime']}" if ort_info else "onnxruntime not run"
    sgemm_text = f", SGEMM {sgemm:.1f} GFLOP/s" if sgemm else ""
    command = shlex.join([sys.executable] + sys.argv)
    return "\n".join([
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}; "
        f"{args.threads} threads for every engine",
        f"- RadProbe {version_of(args.radprobe)} ({sgemm_record.get('backend', 'unknown GEMM')}{sgemm_text}); {torch_text}; "
        f"{ort_text}; DINOv2 code {DINOV2_COMMIT[:7]}",
        f"- Median of {args.repeats} timed run{'' if args.repeats == 1 else 's'} after one warm-up"
        f"{f', median over {args.rounds} interleaved rounds' if args.rounds > 1 else ''}; random weights; final-norm tokens; "
        f"PyTorch with the default and with `OMP_WAIT_POLICY=passive`; onnxruntime on the graph exported "
        f"by torch.onnx (opset {ONNX_OPSET}), all graph optimisations",
        f"- Command: `{command}`",
        "",
        markdown_table(rows),
    ])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--models", nargs="+", choices=sorted(ARCHS), default=["s", "b"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[224, 448])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per shape (the median is reported)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every engine this many times, interleaved; report the median round per shape")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--radprobe", default=os.path.join(ROOT, ".build", "release", "radprobe"))
    parser.add_argument("--dinov2-src", default=os.environ.get("DINOV2_SRC"),
                        help="an export of facebookresearch/dinov2 at b48308a (default: $DINOV2_SRC)")
    parser.add_argument("--ort-python", default="python3", help="an interpreter with numpy and onnxruntime")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-ort", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown report for docs/performance.md")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--onnx-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any(s <= 0 or s % PATCH for s in args.sizes):
        parser.error(f"sizes must be positive multiples of {PATCH}")
    if args.repeats < 1 or args.rounds < 1 or args.threads < 1 or any(b < 1 for b in args.batches):
        parser.error("--repeats, --rounds, --threads and --batches must be at least 1")
    needs_dinov2 = args.worker in ("torch", "export") or (not args.worker and not (args.skip_torch and args.skip_ort))
    if needs_dinov2 and not (args.dinov2_src and os.path.isfile(
            os.path.join(args.dinov2_src, "dinov2", "models", "vision_transformer.py"))):
        parser.error("--dinov2-src (or DINOV2_SRC) must point at an export of facebookresearch/dinov2 at b48308a")
    if not args.worker and not os.access(args.radprobe, os.X_OK):
        parser.error(f"{args.radprobe} is missing: build it with `make release`")
    if args.dinov2_src:
        args.dinov2_src = os.path.abspath(args.dinov2_src)
    return args


def main():
    args = parse_args()
    if args.worker:
        WORKERS[args.worker](args)
        return
    results = measure(args)
    rows = table_rows(args, results)
    print(markdown_report(args, results, rows) if args.markdown else text_table(rows))


if __name__ == "__main__":
    main()
