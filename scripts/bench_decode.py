#!/usr/bin/env python3
"""Image decoding speed: RadProbe against Pillow, nibabel and pydicom on the same files, in one run.

What it measures
----------------
``radprobe bench decode --keep-files DIR`` writes its standard benchmark files to DIR (a 1024x1024
16-bit grey PNG, a 512x512 grey JPEG at quality 95 and a 512x512x100 int16 ``.nii.gz``, all made
from the same smooth synthetic phantom with noise, so they compress like real scans) and reports
how fast it decodes each of them plus any extra files given on its command line. This script then
decodes the same files with the Python libraries radiology code uses, timed the same way (one
warm-up, the median of ``--repeats`` runs, the file read from disk each time, one thread):

- PNG, JPEG: Pillow, ``np.asarray(Image.open(path))`` (16-bit PNGs arrive as ``I;16``);
- ``.nii.gz``: nibabel, ``nib.load(path).get_fdata(dtype=np.float32)`` (RadProbe also returns
  float32 after ``scl_slope``/``scl_inter``);
- DICOM: pydicom, ``apply_modality_lut(ds.pixel_array, ds)`` after ``dcmread`` (RadProbe also
  applies Rescale Slope/Intercept). By default the real chest radiograph ``RG1_UNCR.dcm`` that
  ``make test`` fetches (2140x1760, 15-bit, MONOCHROME1) is added.

It prints one row per file: size on disk, decoded megapixels, RadProbe's and the reference's
images/s and MB/s (MB of file read per second), and their ratio.

How to run
----------
With Debian's python3 (Pillow, nibabel and pydicom from Debian's packages)::

    make release imaging-assets
    /usr/bin/python3 scripts/bench_decode.py --repeats 7 --markdown

Options: ``--radprobe PATH`` (default ``.build/release/radprobe``), ``--dicom FILE`` (repeatable;
default the radiograph above when present), ``--markdown`` (a table for docs/performance.md).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import nibabel as nib
import numpy as np
import PIL
import pydicom
from PIL import Image
from pydicom.pixel_data_handlers.util import apply_modality_lut


def decode_with_reference(path):
    """Decodes `path` with the library radiology code uses for its format; returns (library, array)."""
    lower = path.lower()
    if lower.endswith(".png") or lower.endswith(".jpg") or lower.endswith(".jpeg"):
        with Image.open(path) as image:
            return f"Pillow {PIL.__version__}", np.asarray(image)
    if lower.endswith(".nii") or lower.endswith(".nii.gz"):
        return f"nibabel {nib.__version__}", nib.load(path).get_fdata(dtype=np.float32)
    if lower.endswith(".dcm"):
        dataset = pydicom.dcmread(path)
        return f"pydicom {pydicom.__version__}", apply_modality_lut(dataset.pixel_array, dataset)
    raise SystemExit(f"{path}: no reference decoder for this file type")


def time_reference(path, repeats):
    """One warm-up, then the median seconds of `repeats` decodes."""
    library, array = decode_with_reference(path)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        decode_with_reference(path)
        times.append(time.perf_counter() - start)
    return library, array.shape, statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--radprobe", default=".build/release/radprobe")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dicom", action="append", default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    dicoms = args.dicom if args.dicom is not None else [p for p in ["assets/imaging/RG1_UNCR.dcm"] if os.path.exists(p)]

    with tempfile.TemporaryDirectory() as folder:
        command = [args.radprobe, "bench", "decode", "--keep-files", folder, "--repeats", str(args.repeats), "--json"] + dicoms
        print("running:", " ".join(command), file=sys.stderr)
        lines = subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()
        results = [json.loads(line) for line in lines if line.startswith("{")]
        rows = []
        for result in results:
            library, shape, seconds = time_reference(result["file"], args.repeats)
            megabytes = result["file_bytes"] / 1e6
            rows.append({
                "file": result["name"], "format": result["format"], "mb": megabytes, "shape": "×".join(map(str, shape)),
                "radprobe_ips": result["images_per_s"], "radprobe_mbps": result["file_mb_per_s"],
                "library": library, "reference_ips": result["slices"] / seconds, "reference_mbps": megabytes / seconds,
            })

    header = ["file", "on disk MB", "decoded", "RadProbe img/s", "RadProbe MB/s", "reference", "reference img/s",
              "reference MB/s", "ratio"]
    table = [[r["file"], f"{r['mb']:.2f}", r["shape"], f"{r['radprobe_ips']:.1f}", f"{r['radprobe_mbps']:.1f}", r["library"],
              f"{r['reference_ips']:.1f}", f"{r['reference_mbps']:.1f}", f"{r['radprobe_ips'] / r['reference_ips']:.2f}×"]
             for r in rows]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in table:
            print("| " + " | ".join(row) + " |")
        print(f"\nCommand: `/usr/bin/python3 scripts/bench_decode.py --repeats {args.repeats} --markdown`; "
              f"numpy {np.__version__}; images/s counts 2D slices (a volume of 100 slices decoded once a second is 100 img/s).")
    else:
        widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        for row in table:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths)))


if __name__ == "__main__":
    main()
