#!/usr/bin/env python3
"""Generate small DINOv2 parity fixtures for RadProbe's Swift tests.

Two tiny, randomly initialised DINOv2 ViTs are built with the *official*
``dinov2.models.vision_transformer.DinoVisionTransformer`` class, their weights
are written in every checkpoint flavour the Swift loader must understand, and
reference outputs for a handful of input sizes are saved as float32 ``.npy``.

How to run
----------
The official code is never copied into this project. Export the reference
commit of facebookresearch/dinov2 somewhere and point the script at it::

    git clone https://github.com/facebookresearch/dinov2 /tmp/dinov2-src
    git -C /tmp/dinov2-src archive b48308a | (mkdir -p /tmp/dinov2-b48308a && tar -x -C /tmp/dinov2-b48308a)
    /usr/bin/python3 scripts/make_dinov2_fixtures.py /tmp/dinov2-b48308a
    # or: DINOV2_SRC=/tmp/dinov2-b48308a /usr/bin/python3 scripts/make_dinov2_fixtures.py

Options: ``--out DIR`` (default ``Tests/Fixtures/dinov2`` next to this script's
repository root). The script sets ``XFORMERS_DISABLED=1`` itself so that the
official code takes its pure-PyTorch paths (explicit matmul + softmax attention,
plain SwiGLU).

Reference commit: b48308a394a04ccb9c4dd3a1f0a4daa1ce0579b8 ("Update lint.yaml
(#529)"), the parent of "dino.txt inference code (#528)". It is the newest
commit whose Attention does ``q @ k^T -> softmax -> @ v`` explicitly (later
commits call ``F.scaled_dot_product_attention``, torch >= 2.0 only) and it
already has register tokens, ``interpolate_offset`` and ``interpolate_antialias``.
(Older commits such as 81b2b64 predate registers/offset/antialias.)

Requirements: torch (tested with Debian's 1.13) and numpy; nothing else. The
safetensors files are written by hand (see ``write_safetensors``).

Output layout (``<out>/``)::

    manifest.json
    plain/       model.pth  model.safetensors  model_legacy.pth
                 model_teacher_chunked.pth  model_teacher_chunked_bc1.pth
                 <case>/...
    reg4_swiglu/ model.pth  model.safetensors  model_hf.safetensors
                 <case>/...

with cases ``native`` (B=1, 70x70), ``224`` (B=2), ``448`` (B=1) and
``nonsquare`` (B=1, H=182, W=266). Per case: ``input.npy`` [B,3,H,W];
from ``forward_features``: ``cls.npy`` [B,D], ``patch.npy`` [B,N,D],
``registers.npy`` [B,R,D] (only when R>0), ``prenorm.npy`` [B,1+R+N,D];
from ``get_intermediate_layers(x, n=2, return_class_token=True, norm=True)``:
``layers_last2_patch.npy`` [2,B,N,D], ``layers_last2_cls.npy`` [2,B,D];
from ``get_intermediate_layers(x, n=[0, 2], return_class_token=True, norm=False)``:
``layers_0_2_nonorm_patch.npy`` [2,B,N,D], ``layers_0_2_nonorm_cls.npy`` [2,B,D].

Hugging Face key mapping (``reg4_swiglu/model_hf.safetensors``), as done by
transformers' ``convert_dinov2_with_registers_to_hf.py`` / ``convert_dinov2_to_hf.py``
(a model with registers is ``Dinov2WithRegistersModel`` in transformers; plain
``Dinov2Model`` has no ``register_tokens``)::

    cls_token                  -> embeddings.cls_token
    mask_token                 -> embeddings.mask_token
    pos_embed                  -> embeddings.position_embeddings
    register_tokens            -> embeddings.register_tokens
    patch_embed.proj.{w,b}     -> embeddings.patch_embeddings.projection.{w,b}
    blocks.i.norm1.{w,b}       -> encoder.layer.i.norm1.{w,b}
    blocks.i.attn.qkv.{w,b}    -> encoder.layer.i.attention.attention.{query,key,value}.{w,b}
                                  (rows [0:D], [D:2D], [2D:3D] of qkv)
    blocks.i.attn.proj.{w,b}   -> encoder.layer.i.attention.output.dense.{w,b}
    blocks.i.ls1.gamma         -> encoder.layer.i.layer_scale1.lambda1
    blocks.i.norm2.{w,b}       -> encoder.layer.i.norm2.{w,b}
    blocks.i.mlp.fc1/fc2.{w,b} -> encoder.layer.i.mlp.fc1/fc2.{w,b}          (Mlp)
    blocks.i.mlp.w12/w3.{w,b}  -> encoder.layer.i.mlp.weights_in/weights_out.{w,b}  (SwiGLU)
    blocks.i.ls2.gamma         -> encoder.layer.i.layer_scale2.lambda1
    norm.{w,b}                 -> layernorm.{w,b}
"""

import argparse
import copy
import hashlib
import json
import os
import struct
import subprocess
import sys
from collections import OrderedDict
from functools import partial

os.environ["XFORMERS_DISABLED"] = "1"  # must be set before dinov2 is imported

import numpy as np  # noqa: E402
import torch  # noqa: E402

REFERENCE_REPO = "https://github.com/facebookresearch/dinov2"
REFERENCE_COMMIT = "b48308a394a04ccb9c4dd3a1f0a4daa1ce0579b8"

MODEL_SEEDS = {"plain": 1234, "reg4_swiglu": 5678}
# Input seeds depend only on the case, so both models see byte-identical
# inputs (git stores the identical input.npy blobs once).
CASES = OrderedDict(
    [
        ("native", dict(B=1, H=70, W=70, seed=101)),
        ("224", dict(B=2, H=224, W=224, seed=102)),
        ("448", dict(B=1, H=448, W=448, seed=103)),
        ("nonsquare", dict(B=1, H=182, W=266, seed=104)),
    ]
)
COMMON = dict(
    patch_size=14,
    embed_dim=128,
    depth=3,
    num_heads=2,
    mlp_ratio=4,
    qkv_bias=True,
    proj_bias=True,
    ffn_bias=True,
    init_values=1.0,
    block_chunks=0,
    img_size=70,
)
MODELS = OrderedDict(
    [
        (
            "plain",
            dict(COMMON, ffn_layer="mlp", num_register_tokens=0, interpolate_offset=0.1, interpolate_antialias=False),
        ),
        (
            "reg4_swiglu",
            dict(
                COMMON,
                ffn_layer="swiglufused",
                num_register_tokens=4,
                interpolate_offset=0.0,
                interpolate_antialias=True,
            ),
        ),
    ]
)


# --------------------------------------------------------------------------- #
# official code
# --------------------------------------------------------------------------- #
def import_dinov2(src):
    src = os.path.abspath(src)
    if not os.path.isfile(os.path.join(src, "dinov2", "models", "vision_transformer.py")):
        sys.exit(f"{src} does not look like a dinov2 checkout (dinov2/models/vision_transformer.py missing)")
    sys.path.insert(0, src)
    import dinov2.layers.attention as attention_mod
    import dinov2.layers.swiglu_ffn as swiglu_mod
    import dinov2.models.vision_transformer as vits

    assert not attention_mod.XFORMERS_AVAILABLE, "xFormers must be disabled"
    assert not swiglu_mod.XFORMERS_AVAILABLE, "xFormers must be disabled"
    return vits, attention_mod


def source_commit(src):
    """Best effort: the commit of the checkout (git) or of a `git archive` export."""
    try:
        out = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except Exception:
        return None


def build(vits, attention_mod, cfg, block_chunks=None):
    kw = dict(cfg)
    if block_chunks is not None:
        kw["block_chunks"] = block_chunks
    # Same block as the official vit_small/base/large/giant2 constructors.
    kw["block_fn"] = partial(vits.Block, attn_class=attention_mod.MemEffAttention)
    return vits.DinoVisionTransformer(**kw)


# --------------------------------------------------------------------------- #
# parameter randomisation: make every part matter
# --------------------------------------------------------------------------- #
@torch.no_grad()
def randomise(model):
    for name, p in model.named_parameters():  # deterministic registration order
        leaf = name.rsplit(".", 1)[-1]
        if name in ("cls_token", "pos_embed", "register_tokens", "mask_token"):
            p.normal_(0.0, 0.5)
        elif leaf == "gamma":  # LayerScale
            p.uniform_(0.5, 1.0)
        elif "norm" in name and p.dim() == 1:  # LayerNorm (norm1, norm2, norm)
            if leaf == "weight":
                p.uniform_(0.5, 1.5)
            else:
                p.normal_(0.0, 0.1)
        elif leaf == "weight":  # Linear / Conv2d
            fan_in = p[0].numel()
            p.normal_(0.0, 1.0 / fan_in**0.5)
        elif leaf == "bias":
            p.normal_(0.0, 0.1)
        else:
            raise RuntimeError(f"unhandled parameter {name}")


# --------------------------------------------------------------------------- #
# serialisation helpers
# --------------------------------------------------------------------------- #
def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: u64-LE header length, JSON header, raw LE data."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        assert t.dtype == torch.float32, (name, t.dtype)
        data = t.numpy().astype("<f4", copy=False).tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        b, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw[base + b : base + e], dtype="<f4").copy()).reshape(
            info["shape"]
        )
    assert base + max(i["data_offsets"][1] for k, i in header.items() if k != "__metadata__") == len(raw)
    return out, header.get("__metadata__", {})


def to_hf(sd, cfg):
    D = cfg["embed_dim"]
    top = {
        "cls_token": "embeddings.cls_token",
        "mask_token": "embeddings.mask_token",
        "pos_embed": "embeddings.position_embeddings",
        "register_tokens": "embeddings.register_tokens",
        "patch_embed.proj.weight": "embeddings.patch_embeddings.projection.weight",
        "patch_embed.proj.bias": "embeddings.patch_embeddings.projection.bias",
        "norm.weight": "layernorm.weight",
        "norm.bias": "layernorm.bias",
    }
    sub = {
        "norm1": "norm1",
        "norm2": "norm2",
        "attn.proj": "attention.output.dense",
        "mlp.fc1": "mlp.fc1",
        "mlp.fc2": "mlp.fc2",
        "mlp.w12": "mlp.weights_in",
        "mlp.w3": "mlp.weights_out",
    }
    out = OrderedDict()
    for k, v in sd.items():
        if k in top:
            out[top[k]] = v
            continue
        assert k.startswith("blocks."), k
        _, i, rest = k.split(".", 2)
        pre = f"encoder.layer.{i}."
        if rest == "ls1.gamma":
            out[pre + "layer_scale1.lambda1"] = v
        elif rest == "ls2.gamma":
            out[pre + "layer_scale2.lambda1"] = v
        elif rest.startswith("attn.qkv."):
            leaf = rest.rsplit(".", 1)[1]
            for j, qkv in enumerate(("query", "key", "value")):
                out[pre + f"attention.attention.{qkv}.{leaf}"] = v[j * D : (j + 1) * D].clone()
        else:
            mod, leaf = rest.rsplit(".", 1)
            out[pre + sub[mod] + "." + leaf] = v
    assert sum(t.numel() for t in out.values()) == sum(t.numel() for t in sd.values())
    return out


def save_npy(path, t):
    a = np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))
    np.save(path, a)
    return list(a.shape)


# --------------------------------------------------------------------------- #
# independent float64 re-implementation of interpolate_pos_encoding
# (used only for the second float32-vs-float64 figure in the manifest; it pins
# down the exact semantics the Swift port must reproduce)
# --------------------------------------------------------------------------- #
def _cubic(x, a):
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    return 0.0


def bicubic_matrix(n_in, n_out, scale):
    """torch bicubic, align_corners=False, antialias=False: src = scale*(i+0.5)-0.5,
    A=-0.75, taps floor(src)-1..floor(src)+2 with indices clamped to [0, n_in-1].
    `scale` = 1/scale_factor when a scale_factor is given, else n_in/n_out."""
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        src = scale * (i + 0.5) - 0.5
        x0 = int(np.floor(src))
        t = src - x0
        for k in range(-1, 3):
            m[i, min(max(x0 + k, 0), n_in - 1)] += _cubic(k - t, -0.75)
    return m


def bicubic_aa_matrix(n_in, n_out, scale):
    """torch _upsample_bicubic2d_aa (antialias=True), align_corners=False: PIL-style
    separable filter with a=-0.5, centre = scale*(i+0.5), support = 2*max(scale,1),
    taps [int(c-support+0.5), int(c+support+0.5)) clipped to the input, weights
    cubic((j-c+0.5)/max(scale,1)) renormalised to sum 1 (no index clamping).
    Note: even when upsampling this differs from antialias=False (a=-0.5 vs -0.75
    and renormalised borders instead of clamped indices)."""
    m = np.zeros((n_out, n_in))
    support = 2.0 * scale if scale >= 1.0 else 2.0
    inv = 1.0 / scale if scale >= 1.0 else 1.0
    for i in range(n_out):
        c = scale * (i + 0.5)
        lo = max(int(c - support + 0.5), 0)
        hi = min(int(c + support + 0.5), n_in)
        w = np.array([_cubic((j - c + 0.5) * inv, -0.5) for j in range(lo, hi)])
        m[i, lo:hi] = w / w.sum()
    return m


def exact_interpolate_pos_encoding(self, x, w, h):
    """Drop-in float64 replacement for DinoVisionTransformer.interpolate_pos_encoding.
    (`w`, `h` are x.shape[2], x.shape[3] of the image, i.e. really H and W.)"""
    npatch = x.shape[1] - 1
    N = self.pos_embed.shape[1] - 1
    if npatch == N and w == h:
        return self.pos_embed
    pe = self.pos_embed.double()
    M = int(round(N**0.5))
    w0, h0 = w // self.patch_size, h // self.patch_size
    if self.interpolate_offset:
        s0 = 1.0 / (float(w0 + self.interpolate_offset) / M)
        s1 = 1.0 / (float(h0 + self.interpolate_offset) / M)
    else:
        s0, s1 = M / w0, M / h0
    mat = bicubic_aa_matrix if self.interpolate_antialias else bicubic_matrix
    grid = pe[0, 1:].reshape(M, M, -1).numpy()
    out = np.einsum("ia,jb,abc->ijc", mat(M, w0, s0), mat(M, h0, s1), grid).reshape(w0 * h0, -1)
    return torch.cat([pe[:, :1], torch.from_numpy(out)[None]], dim=1).to(x.dtype)


# --------------------------------------------------------------------------- #
# reference outputs
# --------------------------------------------------------------------------- #
@torch.no_grad()
def run_outputs(model, x, R):
    ff = model.forward_features(x)
    out = OrderedDict()
    out["cls"] = ff["x_norm_clstoken"]
    out["patch"] = ff["x_norm_patchtokens"]
    if R > 0:
        out["registers"] = ff["x_norm_regtokens"]
    out["prenorm"] = ff["x_prenorm"]
    last2 = model.get_intermediate_layers(x, n=2, return_class_token=True, norm=True)
    out["layers_last2_patch"] = torch.stack([p for p, _ in last2])
    out["layers_last2_cls"] = torch.stack([c for _, c in last2])
    l02 = model.get_intermediate_layers(x, n=[0, 2], return_class_token=True, norm=False)
    out["layers_0_2_nonorm_patch"] = torch.stack([p for p, _ in l02])
    out["layers_0_2_nonorm_cls"] = torch.stack([c for _, c in l02])
    return out


def expected_shapes(B, H, W, R, D, P=14):
    N = (H // P) * (W // P)
    s = OrderedDict(cls=[B, D], patch=[B, N, D])
    if R > 0:
        s["registers"] = [B, R, D]
    s["prenorm"] = [B, 1 + R + N, D]
    s["layers_last2_patch"] = [2, B, N, D]
    s["layers_last2_cls"] = [2, B, D]
    s["layers_0_2_nonorm_patch"] = [2, B, N, D]
    s["layers_0_2_nonorm_cls"] = [2, B, D]
    return s


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def chunked_state_dict(vits, attention_mod, cfg, sd, block_chunks, prefix):
    """State dict of the official block_chunks>0 layout holding the weights `sd`."""
    torch.manual_seed(0)  # irrelevant: every tensor is overwritten below
    m = build(vits, attention_mod, cfg, block_chunks=block_chunks).eval()
    csd = m.state_dict()
    mapped = OrderedDict()
    for k in csd:
        if k.startswith("blocks."):
            _, c, i, rest = k.split(".", 3)
            mapped[k] = sd[f"blocks.{i}.{rest}"]
        else:
            mapped[k] = sd[k]
    m.load_state_dict(mapped, strict=True)
    out = OrderedDict((prefix + k, v.clone()) for k, v in m.state_dict().items())
    return m, out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dinov2_src", nargs="?", default=os.environ.get("DINOV2_SRC"),
                    help="path to a checkout/export of facebookresearch/dinov2 at %s (or env DINOV2_SRC)"
                    % REFERENCE_COMMIT[:7])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(here), "Tests", "Fixtures", "dinov2"))
    args = ap.parse_args()
    if not args.dinov2_src:
        ap.error("pass the dinov2 source path or set DINOV2_SRC")

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    vits, attention_mod = import_dinov2(args.dinov2_src)
    src_commit = source_commit(args.dinov2_src)
    if src_commit is not None and src_commit != REFERENCE_COMMIT:
        print(f"WARNING: source checkout is at {src_commit}, fixtures are specified for {REFERENCE_COMMIT}")

    out_root = os.path.abspath(args.out)
    os.makedirs(out_root, exist_ok=True)

    manifest = OrderedDict()
    manifest["generator"] = "scripts/make_dinov2_fixtures.py"
    manifest["reference"] = OrderedDict(
        repo=REFERENCE_REPO,
        commit=REFERENCE_COMMIT,
        commit_subject="Update lint.yaml (#529) -- parent of 'dino.txt inference code (#528)'",
        source_checkout_commit=src_commit or "unknown (git archive export)",
        xformers="disabled (XFORMERS_DISABLED=1)",
        block_fn="NestedTensorBlock with attn_class=MemEffAttention (falls back to Attention.forward)",
    )
    manifest["torch_version"] = torch.__version__
    manifest["numpy_version"] = np.__version__
    manifest["python_version"] = sys.version.split()[0]
    manifest["dtype"] = "float32 (all .npy and weights), little-endian, C-contiguous"
    manifest["seeds"] = OrderedDict(
        models=MODEL_SEEDS,
        inputs={c: v["seed"] for c, v in CASES.items()},
        note="torch.manual_seed(model seed) before construction; parameters then overwritten in "
        "named_parameters() order. Inputs: torch.manual_seed(case seed); torch.randn(B,3,H,W). "
        "Input seeds depend on the case only, so both models get identical inputs.",
    )
    manifest["randomisation"] = OrderedDict(
        linear_and_conv_weight="N(0, 1/sqrt(fan_in))",
        bias="N(0, 0.1)",
        layernorm_weight="U(0.5, 1.5)",
        layernorm_bias="N(0, 0.1)",
        layerscale_gamma="U(0.5, 1.0)",
        cls_token_pos_embed_register_tokens_mask_token="N(0, 0.5)",
    )
    manifest["layernorm_eps"] = 1e-6
    manifest["output_definitions"] = OrderedDict(
        cls="forward_features(x)['x_norm_clstoken']",
        patch="forward_features(x)['x_norm_patchtokens']",
        registers="forward_features(x)['x_norm_regtokens'] (only when R>0)",
        prenorm="forward_features(x)['x_prenorm']  (token order: cls, registers, patches row-major)",
        layers_last2="get_intermediate_layers(x, n=2, return_class_token=True, norm=True) -> stacked [2,...]",
        layers_0_2_nonorm="get_intermediate_layers(x, n=[0, 2], return_class_token=True, norm=False) "
        "-> stacked [2,...]",
    )
    manifest["models"] = OrderedDict()
    all_files = []

    def rel(p):
        return os.path.relpath(p, out_root)

    def record(p, shape=None, **extra):
        e = OrderedDict(path=rel(p), bytes=os.path.getsize(p))
        if shape is not None:
            e["shape"] = shape
        e.update(extra)
        e["sha256"] = sha256(p)
        all_files.append(e)
        return e

    for mname, cfg in MODELS.items():
        print(f"== {mname}")
        mdir = os.path.join(out_root, mname)
        os.makedirs(mdir, exist_ok=True)
        torch.manual_seed(MODEL_SEEDS[mname])
        model = build(vits, attention_mod, cfg)
        randomise(model)
        model.eval()
        sd = OrderedDict((k, v.detach().clone().contiguous()) for k, v in model.state_dict().items())
        R = cfg["num_register_tokens"]
        D = cfg["embed_dim"]

        mfiles = []
        # --- weights ---------------------------------------------------------
        if mname == "plain":  # the reg4 model is read from safetensors only, to keep the fixtures small
            p = os.path.join(mdir, "model.pth")
            torch.save(sd, p)
            mfiles.append(record(p, format="torch.save zip (default), flat state_dict, official keys"))
        p = os.path.join(mdir, "model.safetensors")
        meta = {"format": "pt", "source": "dinov2 " + REFERENCE_COMMIT[:7], "model": mname}
        write_safetensors(p, sd, meta)
        mfiles.append(record(p, format="safetensors, official keys"))
        if mname == "plain":
            p = os.path.join(mdir, "model_legacy.pth")
            torch.save(sd, p, _use_new_zipfile_serialization=False)
            mfiles.append(
                record(
                    p,
                    format="torch.save legacy (non-zip) pickle, official keys",
                    note="not byte-reproducible: the legacy writer names storages str(storage._cdata) "
                    "(a memory address) and writes them in string-sorted key order, so the sha256 "
                    "changes on every regeneration; the tensors do not",
                )
            )
            # block_chunks=1 puts every block in chunk 0 (blocks.0.{i}), so the chunk index differs from the
            # block index and a loader that reads the wrong one fails.
            for bc, fname in ((1, "model_teacher_chunked.pth"),):
                cmodel, csd = chunked_state_dict(vits, attention_mod, cfg, sd, bc, "teacher.backbone.")
                # the chunked model must be numerically the same network
                xx = torch.randn(1, 3, 98, 126)
                with torch.no_grad():
                    a = run_outputs(model, xx, R)
                    b = run_outputs(cmodel, xx, R)
                for k in a:
                    assert torch.equal(a[k], b[k]), (fname, k)
                p = os.path.join(mdir, fname)
                torch.save(csd, p)
                block_keys = sorted({".".join(k.split(".")[2:5]) for k in csd if ".blocks." in k})
                mfiles.append(
                    record(
                        p,
                        format=f"torch.save zip, flat state_dict of the official block_chunks={bc} layout, "
                        "keys prefixed 'teacher.backbone.'; blocks.{chunk}.{global_block_index}.*",
                        block_chunks=bc,
                        block_prefixes=block_keys,
                    )
                )
                print(f"  {fname}: block prefixes {block_keys}")
        else:
            hf = to_hf(sd, cfg)
            p = os.path.join(mdir, "model_hf.safetensors")
            write_safetensors(p, hf, dict(meta, naming="transformers Dinov2WithRegistersModel / Dinov2Model"))
            mfiles.append(record(p, format="safetensors, Hugging Face Dinov2(WithRegisters)Model keys"))

        # --- round-trip checks of the weight files --------------------------
        for f in ("model.pth", "model_legacy.pth"):
            fp = os.path.join(mdir, f)
            if os.path.exists(fp):
                l = torch.load(fp, map_location="cpu")
                assert list(l) == list(sd) and all(torch.equal(l[k], sd[k]) for k in sd), fp
        st, _ = read_safetensors(os.path.join(mdir, "model.safetensors"))
        assert set(st) == set(sd) and all(torch.equal(st[k], sd[k]) for k in sd)
        if mname != "plain":
            st, _ = read_safetensors(os.path.join(mdir, "model_hf.safetensors"))
            hf = to_hf(sd, cfg)
            assert set(st) == set(hf) and all(torch.equal(st[k], hf[k]) for k in hf)

        # --- cases -----------------------------------------------------------
        cases_m = OrderedDict()
        f64 = OrderedDict()
        model64 = copy.deepcopy(model).double().eval()
        model64x = copy.deepcopy(model64)
        model64x.interpolate_pos_encoding = exact_interpolate_pos_encoding.__get__(model64x)
        f64x = OrderedDict()
        for cname, c in CASES.items():
            B, H, W = c["B"], c["H"], c["W"]
            cdir = os.path.join(mdir, cname)
            os.makedirs(cdir, exist_ok=True)
            torch.manual_seed(c["seed"])
            x = torch.randn(B, 3, H, W, dtype=torch.float32)
            with torch.no_grad():
                outs = run_outputs(model, x, R)
                outs64 = run_outputs(model64, x.double(), R)
                outs64x = run_outputs(model64x, x.double(), R)
            exp = expected_shapes(B, H, W, R, D)
            assert list(outs) == list(exp), (list(outs), list(exp))
            cfiles = [record(os.path.join(cdir, "input.npy"), save_npy(os.path.join(cdir, "input.npy"), x))]
            diffs = OrderedDict()
            for k, t in outs.items():
                assert list(t.shape) == exp[k], (cname, k, list(t.shape), exp[k])
                if cname == "448" and k not in ("cls", "patch", "registers"):
                    continue  # size: intermediate layers are checked at the other sizes
                fp = os.path.join(cdir, k + ".npy")
                cfiles.append(record(fp, save_npy(fp, t)))
                ref = outs64[k]
                diffs[k] = OrderedDict(
                    max_abs_diff=float((t.double() - ref).abs().max()),
                    max_abs_value=float(ref.abs().max()),
                    rms_value=float(ref.pow(2).mean().sqrt()),
                    max_abs_diff_vs_exact_interp_float64=float((t.double() - outs64x[k]).abs().max()),
                )
            # interpolation bookkeeping
            gh, gw = H // 14, W // 14
            interp = not (gh * gw == (cfg["img_size"] // 14) ** 2 and H == W)
            cases_m[cname] = OrderedDict(
                input_shape=[B, 3, H, W],
                patch_grid=[gh, gw],
                num_patch_tokens=gh * gw,
                pos_embed_interpolated=interp,
                files=[e["path"] for e in cfiles],
                float32_vs_float64=diffs,
            )
            f64[cname] = max(d["max_abs_diff"] for d in diffs.values())
            f64x[cname] = max(d["max_abs_diff_vs_exact_interp_float64"] for d in diffs.values())
            print(f"  case {cname:9s} x{[B, 3, H, W]}  fp32-vs-fp64 max|diff| = {f64[cname]:.3e}  "
                  f"(exact-interp fp64: {f64x[cname]:.3e})  "
                  f"(max |out| = {max(d['max_abs_value'] for d in diffs.values()):.3f})")

        sw_hidden = (int(cfg["embed_dim"] * cfg["mlp_ratio"] * 2 / 3) + 7) // 8 * 8
        manifest["models"][mname] = OrderedDict(
            config=OrderedDict(
                embed_dim=cfg["embed_dim"],
                depth=cfg["depth"],
                num_heads=cfg["num_heads"],
                head_dim=cfg["embed_dim"] // cfg["num_heads"],
                patch_size=cfg["patch_size"],
                mlp_ratio=cfg["mlp_ratio"],
                ffn_layer=cfg["ffn_layer"],
                ffn_hidden=sw_hidden if cfg["ffn_layer"].startswith("swiglu") else cfg["embed_dim"] * cfg["mlp_ratio"],
                num_register_tokens=R,
                img_size=cfg["img_size"],
                pos_grid=[cfg["img_size"] // 14] * 2,
                interpolate_offset=cfg["interpolate_offset"],
                interpolate_antialias=cfg["interpolate_antialias"],
                init_values=cfg["init_values"],
                qkv_bias=cfg["qkv_bias"],
                proj_bias=cfg["proj_bias"],
                ffn_bias=cfg["ffn_bias"],
                block_chunks=cfg["block_chunks"],
                act="GELU (exact, erf)" if cfg["ffn_layer"] == "mlp" else "SiLU gate: w3(silu(x1) * x2), x1,x2 = chunk(w12(x), 2)",
            ),
            parameter_count=int(sum(p.numel() for p in model.parameters())),
            state_dict_keys=len(sd),
            seed=MODEL_SEEDS[mname],
            weight_files=mfiles,
            cases=cases_m,
            float32_vs_float64_max_abs_diff=OrderedDict(
                (("224", f64["224"]), ("all_cases", f64))
            ),
            float32_vs_float64_exact_interp_max_abs_diff=OrderedDict(
                (("224", f64x["224"]), ("all_cases", f64x))
            ),
            float64_note="float64 run = copy.deepcopy(model).double() on x.double(); note the official "
            "interpolate_pos_encoding casts pos_embed to float32 for the bicubic resize, so in the "
            "float64 run the interpolated position embedding is still computed in float32 "
            "(only the 'native' case is float64 end to end). The *_exact_interp_* figures use a fully "
            "float64 run whose position-embedding resize is the independent re-implementation "
            "exact_interpolate_pos_encoding() in the generator (bicubic_matrix / bicubic_aa_matrix).",
        )

    manifest["files"] = all_files
    manifest["total_bytes"] = sum(e["bytes"] for e in all_files)
    with open(os.path.join(out_root, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {len(all_files)} files, {manifest['total_bytes'] / 1e6:.2f} MB (+ manifest.json) to {out_root}")


if __name__ == "__main__":
    main()
