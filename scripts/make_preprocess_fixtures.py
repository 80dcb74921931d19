#!/usr/bin/python3
"""Write the resize, percentile and pipeline fixtures for RadProbe's `MedicalImaging` preprocessing tests.

Run with Debian's Python, which has numpy 1.24 and torch 1.13 (the default ``python3`` on PATH has no
torch)::

    /usr/bin/python3 scripts/make_preprocess_fixtures.py      # writes Tests/Fixtures/imaging/preprocess/

Inputs come from ``numpy.random.default_rng`` with fixed seeds, so the output is deterministic; all of it
is float32 ``.npy`` (a few KB each, about 120 KB in all). Shapes are planar ``[C, H, W]``.

* ``resize_input_<case>.npy`` and ``resize_<mode>_<case>.npy``: ``F.interpolate(x[None], size=(H', W'),
  mode=..., align_corners=False where it applies, antialias=...)[0]`` for every mode in ``MODES`` (the
  names of ``Resize.Interpolation``) and every case in ``CASES`` (upscaling, downscaling, width down /
  height up in RGB, exact doubling, one axis unchanged).
* ``shortcrop_input_<case>.npy`` and ``shortcrop_<case>.npy``: torchvision's ``Resize(s)`` then
  ``CenterCrop(S)`` on tensors, written out with torchvision 0.14's formulas (torchvision is not
  installed here): the shorter side to ``s``, the longer to ``int(s * long / short)``, then the crop at
  ``int(round((h - S) / 2.0))``, ``int(round((w - S) / 2.0))``.
* ``percentile_input.npy`` (1001 values, some NaN) and ``percentile_expected.npy``: ``np.nanpercentile``
  (linear method) at ``PERCENTILES``.
* ``pipeline_ct_input.npy`` / ``pipeline_ct.npy``: a Hounsfield-unit image through ``window[-1024,600] >
  minmax > grey3 > resize[16,square,bilinear-aa] > imagenet`` in torch, ``[1, 3, 16, 16]``.
* ``pipeline_mri_volume.npy`` / ``pipeline_mri_axial2.npy``: a ``[nz, ny, nx]`` volume (C order, so x is
  fastest as in NIfTI) with an identity (RAS) affine, clipped to its own 5th-95th percentiles, then
  axial slice 2 shown radiologically (``vol[2, ::-1, ::-1]``: columns toward patient left, rows toward
  posterior) through ``minmax > grey3 > resize[16,square,bilinear-aa] > imagenet``, ``[1, 3, 16, 16]``.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "imaging", "preprocess")
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

# name → (channels, height, width, output height, output width)
CASES = {
    "up": (1, 13, 17, 29, 31),
    "down": (1, 37, 41, 11, 16),
    "mixed": (3, 10, 40, 24, 24),
    "double": (1, 7, 9, 14, 18),
    "samerows": (1, 9, 12, 9, 5),
}
# Resize.Interpolation raw value → F.interpolate arguments
MODES = {
    "nearest": dict(mode="nearest"),
    "nearest-exact": dict(mode="nearest-exact"),
    "bilinear": dict(mode="bilinear", align_corners=False, antialias=False),
    "bilinear-aa": dict(mode="bilinear", align_corners=False, antialias=True),
    "bicubic": dict(mode="bicubic", align_corners=False, antialias=False),
    "bicubic-aa": dict(mode="bicubic", align_corners=False, antialias=True),
}
# name → (channels, height, width, shorter side, crop, mode)
SHORT_CROP = {
    "wide": (1, 11, 37, 16, 16, "bilinear-aa"),
    "tall": (3, 30, 19, 20, 16, "bicubic-aa"),
}
PERCENTILES = [0, 5, 37.3, 50, 95, 99.9, 100]


def save(name, array):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(array, dtype=np.float32))


def interpolate(x, height, width, mode):
    """[C, H, W] float32 → [C, height, width] with the torch mode named `mode`."""
    return F.interpolate(torch.from_numpy(x)[None], size=(height, width), **MODES[mode])[0].numpy()


def study_tail(image, size):
    """min-max, grey → 3, square antialiased bilinear resize, ImageNet normalisation: [H, W] → [1, 3, S, S]."""
    x = torch.from_numpy(image.astype(np.float32))
    lo, hi = x.min(), x.max()
    x = (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)
    x = x[None, None].expand(1, 3, -1, -1).contiguous()
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return ((x - MEAN) / STD).numpy()


def make_resize():
    for seed, (case, (c, h, w, oh, ow)) in enumerate(CASES.items()):
        x = np.random.default_rng(100 + seed).random((c, h, w), dtype=np.float32)
        save(f"resize_input_{case}.npy", x)
        for mode in MODES:
            save(f"resize_{mode}_{case}.npy", interpolate(x, oh, ow, mode))


def make_short_crop():
    for seed, (case, (c, h, w, shorter, crop, mode)) in enumerate(SHORT_CROP.items()):
        x = np.random.default_rng(200 + seed).random((c, h, w), dtype=np.float32)
        save(f"shortcrop_input_{case}.npy", x)
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = shorter, int(shorter * long / short)
        nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
        resized = interpolate(x, nh, nw, mode)
        top, left = int(round((nh - crop) / 2.0)), int(round((nw - crop) / 2.0))
        save(f"shortcrop_{case}.npy", resized[:, top:top + crop, left:left + crop])


def make_percentile():
    rng = np.random.default_rng(300)
    values = (rng.standard_normal(1001) * 300 + 40).astype(np.float32)
    values[rng.choice(1001, 37, replace=False)] = np.nan
    save("percentile_input.npy", values)
    np.save(os.path.join(OUT, "percentile_expected.npy"),
            np.array([np.nanpercentile(values, p) for p in PERCENTILES], dtype=np.float64))


def make_pipelines():
    rng = np.random.default_rng(400)
    hu = (rng.random((20, 26)) * 4000 - 2000).astype(np.float32)
    save("pipeline_ct_input.npy", hu)
    save("pipeline_ct.npy", study_tail(np.clip(hu, -1024, 600), 16))

    volume = (rng.gamma(2.0, 150.0, (4, 12, 10))).astype(np.float32)   # [nz, ny, nx]
    save("pipeline_mri_volume.npy", volume)
    lo, hi = np.nanpercentile(volume, 5), np.nanpercentile(volume, 95)
    clipped = np.clip(volume, np.float32(lo), np.float32(hi))
    save("pipeline_mri_axial2.npy", study_tail(clipped[2, ::-1, ::-1], 16))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_resize()
    make_short_crop()
    make_percentile()
    make_pipelines()
    print("wrote", os.path.normpath(OUT))
