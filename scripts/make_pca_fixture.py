"""Make the PCA fixture of the report's patch-feature figure (Tests/Fixtures/report/pca/).

Reference: numpy's symmetric eigen-decomposition (numpy.linalg.eigh) of the sample covariance of synthetic
patch features of two images with a 4 x 5 patch grid each: a flat "background" on each grid's outer ring
(one cluster plus small noise) and structured "foreground" patches inside. The script applies the
conventions documented in docs/report.md and writes, as float32 .npy files:

- features.npy     [40, 6]  the patch features, image after image, rows of each grid in raster order
- components.npy   [4, 6]   the first four principal axes (descending variance), each with its
                            largest-magnitude loading positive
- variances.npy    [4]      their eigenvalues (covariance with N - 1)
- projections.npy  [40, 4]  the centred features projected on the axes
- foreground.npy   [40]     1 for foreground patches: the first projection, oriented so that the border
                            patches' mean is at least the mean of all patches, min-max scaled to [0, 1],
                            is at most the threshold 0.35
- rgb.npy          [40, 3]  projections 2-4 min-max scaled over the foreground patches; background 0

Run with Debian's python3 (numpy 1.24):  python3 scripts/make_pca_fixture.py
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "report", "pca")
THRESHOLD = 0.35
GRID_H, GRID_W, DIM = 4, 5, 6


def main():
    rng = np.random.default_rng(20240611)
    images = []
    for _ in range(2):
        grid = np.zeros((GRID_H, GRID_W, DIM))
        for y in range(GRID_H):
            for x in range(GRID_W):
                border = y in (0, GRID_H - 1) or x in (0, GRID_W - 1)
                if border:
                    grid[y, x] = np.array([3.0, -1.0, 0.5, 0.0, 0.2, -0.4]) + 0.05 * rng.standard_normal(DIM)
                else:
                    grid[y, x] = rng.standard_normal(DIM) * np.array([1.0, 0.8, 0.6, 0.5, 0.3, 0.2])
        images.append(grid.reshape(-1, DIM))
    features = np.concatenate(images).astype(np.float32)
    border = np.array([y in (0, GRID_H - 1) or x in (0, GRID_W - 1)
                       for _ in range(2) for y in range(GRID_H) for x in range(GRID_W)])

    x = features.astype(np.float64)
    centred = x - x.mean(axis=0)
    covariance = centred.T @ centred / (len(x) - 1)
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:4]
    values, vectors = values[order], vectors[:, order].T
    for axis in vectors:
        if axis[np.argmax(np.abs(axis))] < 0:
            axis *= -1
    projections = centred @ vectors.T

    first = projections[:, 0].copy()
    if first[border].mean() < first.mean():
        first = -first
    scaled = (first - first.min()) / (first.max() - first.min())
    foreground = scaled <= THRESHOLD
    rgb = np.zeros((len(x), 3))
    for channel in range(3):
        column = projections[foreground, channel + 1]
        rgb[foreground, channel] = (column - column.min()) / (column.max() - column.min())

    os.makedirs(OUT, exist_ok=True)
    for name, array in [("features", features), ("components", vectors), ("variances", values),
                        ("projections", projections), ("foreground", foreground), ("rgb", rgb)]:
        np.save(os.path.join(OUT, f"{name}.npy"), np.asarray(array, dtype=np.float32))
    print("foreground patches:", int(foreground.sum()), "of", len(x))


if __name__ == "__main__":
    main()
