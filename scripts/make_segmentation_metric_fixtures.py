#!/usr/bin/env python3
"""Fixtures for the segmentation metrics (Tests/Fixtures/segmentation-metrics/cases.json).

Small random label maps in 2D and 3D with anisotropic spacing, built from random ellipses/ellipsoids
(some cut by the array's border), a prediction made from the truth by shifting, eroding, dilating and
flipping voxels, and per-class:

- Dice = 2|P∩T| / (|P| + |T|) and Jaccard = |P∩T| / |P∪T| (numpy), null when the class is absent from
  both maps;
- hd95: MONAI's 95th-percentile Hausdorff distance re-derived in float64 with scipy: surfaces are
  `mask ^ scipy.ndimage.binary_erosion(mask)` (face connectivity, voxels at the array border count as
  surface), distances from one surface to the other come from
  `scipy.ndimage.distance_transform_edt(~surface, sampling=spacing)`, and
  hd95 = max(percentile95(d(P→T)), percentile95(d(T→P))) with numpy's linear percentile — the maximum
  of the two directed percentiles, not the percentile of their union. Null when either mask is empty.
- monai_hd95: `monai.metrics.compute_hausdorff_distance(percentile=95, spacing=spacing)` of MONAI
  1.3.2 (PyPI, in a venv made with `--system-site-packages` over Debian's torch 1.13) on the one-hot
  maps, background excluded. MONAI computes in float32; this script checks that it agrees with hd95 to
  float32 rounding before writing anything. Where a mask is empty MONAI returns no number: nan when
  both are empty, and also nan when only one is (its directed distances are all inf, and
  torch.quantile interpolates inf − inf); the script checks that and writes the string "nan".

Label maps are written flattened in C order (last axis fastest) with their shape; `spacing` is the
voxel size along each axis of `shape`.

Run (Debian's python3 with numpy, scipy and torch; MONAI from PyPI in a venv over them):
     python3 -m venv --system-site-packages .venv-monai && .venv-monai/bin/pip install monai==1.3.2
     .venv-monai/bin/python scripts/make_segmentation_metric_fixtures.py   (deterministic seeds)
"""
import json
import math
from pathlib import Path

import numpy as np
import torch
from monai.metrics import compute_hausdorff_distance
from scipy import ndimage

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "segmentation-metrics"


def ellipsoid(shape, centre, radii):
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii)) <= 1


def random_truth(rng, shape, labels, blobs_per_label=2):
    truth = np.zeros(shape, dtype=np.int32)
    for label in labels:
        for _ in range(blobs_per_label):
            # Centres up to 2 voxels outside the array so that some blobs are cut by the border.
            centre = [rng.uniform(-2, n + 1) for n in shape]
            radii = [rng.uniform(1.5, max(2.0, n / 3)) for n in shape]
            truth[ellipsoid(shape, centre, radii)] = label
    return truth


def perturbed(rng, truth, labels, flip_fraction=0.015):
    """A plausible prediction: each class shifted by up to a voxel, eroded or dilated, then noise."""
    prediction = np.zeros_like(truth)
    for label in labels:
        mask = truth == label
        mask = np.roll(mask, shift=[int(s) for s in rng.integers(-1, 2, size=truth.ndim)], axis=range(truth.ndim))
        operation = rng.integers(0, 3)
        if operation == 1:
            mask = ndimage.binary_erosion(mask)
        elif operation == 2:
            mask = ndimage.binary_dilation(mask)
        prediction[mask] = label
    flips = rng.random(truth.shape) < flip_fraction
    prediction[flips] = rng.choice(labels + [0], size=int(flips.sum()))
    return prediction


def surface(mask):
    return mask ^ ndimage.binary_erosion(mask)


def reference_hd95(prediction, truth, spacing):
    if not prediction.any() or not truth.any():
        return None
    prediction_surface, truth_surface = surface(prediction), surface(truth)
    to_truth = ndimage.distance_transform_edt(~truth_surface, sampling=spacing)[prediction_surface]
    to_prediction = ndimage.distance_transform_edt(~prediction_surface, sampling=spacing)[truth_surface]
    return float(max(np.percentile(to_truth, 95), np.percentile(to_prediction, 95)))


def monai_hd95(prediction, truth, class_count, spacing):
    def one_hot(labels):
        return torch.from_numpy(np.stack([labels == c for c in range(class_count)])[None].astype(np.float32))

    values = compute_hausdorff_distance(one_hot(prediction), one_hot(truth), include_background=False,
                                        percentile=95, spacing=list(spacing))
    return [float(v) for v in values[0]]


def overlap(prediction, truth):
    p, t = int(prediction.sum()), int(truth.sum())
    both = int((prediction & truth).sum())
    if p + t == 0:
        return None, None
    return 2 * both / (p + t), both / (p + t - both)


def make_case(name, prediction, truth, class_count, spacing):
    monai_values = monai_hd95(prediction, truth, class_count, spacing)
    classes = {}
    for c in range(1, class_count):
        p, t = prediction == c, truth == c
        dice, jaccard = overlap(p, t)
        hd95 = reference_hd95(p, t, spacing)
        monai_value = monai_values[c - 1]
        if hd95 is None:
            assert not math.isfinite(monai_value), f"{name} class {c}: MONAI gives {monai_value} for an empty mask"
            monai_entry = str(monai_value)
        else:
            assert abs(monai_value - hd95) <= 1e-5 * max(1.0, hd95), f"{name} class {c}: MONAI {monai_value} vs {hd95}"
            monai_entry = monai_value
        classes[str(c)] = {"dice": dice, "jaccard": jaccard, "hd95": hd95, "monai_hd95": monai_entry,
                           "prediction_voxels": int(p.sum()), "truth_voxels": int(t.sum())}
    dices = [v["dice"] for v in classes.values() if v["dice"] is not None]
    jaccards = [v["jaccard"] for v in classes.values() if v["jaccard"] is not None]
    return {
        "name": name,
        "shape": list(truth.shape),
        "spacing": list(spacing),
        "class_count": class_count,
        "prediction": prediction.ravel().tolist(),
        "truth": truth.ravel().tolist(),
        "classes": classes,
        "mean_dice": float(np.mean(dices)) if dices else None,
        "mean_jaccard": float(np.mean(jaccards)) if jaccards else None,
    }


def main():
    cases = []

    # 2D, classes 1–2 in both maps, 3 only in the truth, 4 absent from both.
    rng = np.random.default_rng(20240611)
    truth = random_truth(rng, (40, 32), [1, 2, 3])
    prediction = perturbed(rng, truth, [1, 2])
    prediction[prediction == 3] = 0
    cases.append(make_case("blobs_2d", prediction, truth, 5, (0.7, 1.3)))

    # 3D, classes 1–3 in both maps, 4 only in the prediction, 5 absent from both.
    rng = np.random.default_rng(7)
    truth = random_truth(rng, (10, 20, 18), [1, 2, 3])
    prediction = perturbed(rng, truth, [1, 2, 3])
    prediction[rng.random(truth.shape) < 0.01] = 4
    cases.append(make_case("blobs_3d", prediction, truth, 6, (2.5, 0.8, 1.1)))

    # 3D with masks touching every face: class 1 fills whole slabs, class 2 a column through the volume.
    rng = np.random.default_rng(11)
    truth = np.zeros((6, 9, 7), dtype=np.int32)
    truth[:2] = 1
    truth[:, 3:6, 2:5] = 2
    prediction = truth.copy()
    prediction[2, :, :] = 1
    prediction[:, 3:7, 1:5][rng.random((6, 4, 4)) < 0.7] = 2
    cases.append(make_case("touching_borders_3d", prediction, truth, 3, (3.0, 0.6, 0.9)))

    # 2D, a single predicted pixel against a blob, and a full-image class.
    truth = np.zeros((9, 11), dtype=np.int32)
    truth[2:7, 3:9] = 1
    prediction = np.zeros_like(truth)
    prediction[8, 0] = 1
    cases.append(make_case("single_pixel_2d", prediction, truth, 2, (1.0, 2.0)))

    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "cases.json", "w") as f:
        json.dump({"reference": "MONAI 1.3.2 compute_hausdorff_distance(percentile=95, spacing); scipy "
                   "distance_transform_edt(sampling) in float64; numpy Dice/Jaccard", "cases": cases}, f)
        f.write("\n")
    for case in cases:
        print(case["name"], {c: (v["dice"], v["hd95"]) for c, v in case["classes"].items()})


if __name__ == "__main__":
    main()
