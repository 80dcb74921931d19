#!/usr/bin/env python3
"""Convert a single-frame greyscale DICOM image to a 16-bit greyscale PNG (used by `make demo`).

Usage: python3 scripts/dicom_to_png.py INPUT.dcm OUTPUT.png

Stored values are kept (no windowing); MONOCHROME1 images are inverted so that bright means dense,
as in MONOCHROME2. Needs pydicom and numpy (Debian: python3-pydicom, python3-numpy). The PNG is
written with the standard library (zlib), so Pillow is not required.
"""
import struct
import sys
import zlib

import numpy as np
import pydicom


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_grey16_png(path: str, pixels: np.ndarray) -> None:
    height, width = pixels.shape
    rows = pixels.astype(">u2").tobytes()
    stride = width * 2
    raw = b"".join(b"\x00" + rows[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    dataset = pydicom.dcmread(sys.argv[1])
    pixels = dataset.pixel_array.astype(np.int64)
    if pixels.ndim != 2:
        sys.exit(f"{sys.argv[1]}: expected one greyscale frame, got pixel array of shape {pixels.shape}")
    if dataset.get("PhotometricInterpretation", "MONOCHROME2") == "MONOCHROME1":
        pixels = pixels.max() - pixels
    pixels -= pixels.min()
    if pixels.max() > 65535:
        sys.exit(f"{sys.argv[1]}: values span more than 16 bits")
    write_grey16_png(sys.argv[2], pixels)
    print(f"wrote {sys.argv[2]}: {pixels.shape[1]}x{pixels.shape[0]}, 16-bit grey, from {dataset.get('Modality', '?')} {dataset.get('PhotometricInterpretation', '?')}")


if __name__ == "__main__":
    main()
