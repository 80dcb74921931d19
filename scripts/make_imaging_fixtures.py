#!/usr/bin/python3
"""Write the small PNG and preprocessing fixtures for RadProbe's `MedicalImaging` tests.

Run with Debian's Python, which has numpy, Pillow and torch 1.13 (the default ``python3`` on PATH
has none of Pillow and torch)::

    /usr/bin/python3 scripts/make_imaging_fixtures.py          # writes Tests/Fixtures/imaging/

Everything written is a few KB; the output is deterministic (no random numbers, no timestamps).

PNG decoding fixtures (``Tests/Fixtures/imaging/png/``), and ``png/expected.json`` giving, for each
file, ``width``, ``height``, ``channels`` (alpha dropped), ``bitDepth`` (of the decoded values: 8 or
16) and ``pixels``: the values a reader must return, planar ``[channels, height, width]``, exactly as
stored in the file (no gamma, no alpha compositing; 1/2/4-bit grey scaled to 0..255 as libpng's
``png_set_expand_gray_1_2_4_to_8`` does, i.e. v * 255 / (2**bits - 1)).

* Written by Pillow (its own encoder, adaptive row filters): ``grey8.png`` (mode L), ``rgb8.png``,
  ``rgba8.png`` (alpha dropped), ``grey_alpha8.png`` (mode LA), ``palette8.png`` (mode P),
  ``grey1.png`` (mode 1).
* Written by ``write_png`` below (one IDAT, filter 0 except where noted): ``grey16.png`` (covers 0
  and 65535), ``grey16_gamma.png`` (the same pixels plus gAMA 1/2.2, cHRM and sRGB chunks, which a
  raw reader must ignore), ``grey16_interlaced.png`` (Adam7), ``grey_alpha16.png`` and
  ``rgba16.png`` (alpha far from opaque: libpng's simplified API would pre-multiply these),
  ``rgb16.png``, ``grey4.png``, ``grey2_trns.png`` (with a tRNS chunk, ignored),
  ``palette2_trns.png`` (2-bit palette with tRNS: decoded to RGB, alpha dropped),
  ``rgb8_filters.png`` (row filters None/Sub/Up/Average/Paeth in turn).
* ``corrupt_idat.png``: ``grey16.png`` with bytes of the zlib stream changed and the CRC fixed, so
  only inflating the data can tell; readers must report an error, not crash.

Preprocessing parity (``Tests/Fixtures/imaging/preprocess/``): the study's pipeline in float32
with torch -- min-max to [0, 1] over the image, grey replicated to 3 channels,
``torch.nn.functional.interpolate(x, size=(S, S), mode="bilinear", align_corners=False,
antialias=True)``, then ``(x - mean) / std`` with ImageNet's mean (0.485, 0.456, 0.406) and std
(0.229, 0.224, 0.225) -- saved as float32 ``.npy``:

* ``grey16_61x47_to_32.npy``: ``parity_grey16.png`` (16-bit grey, 61 wide, 47 high) → [1, 3, 32, 32]
  (both axes downscaled, non-integer factors).
* ``rgb8_11x9_to_24.npy``: ``parity_rgb8.png`` (8-bit RGB 11×9) → [1, 3, 24, 24] (upscaled).
* ``grey8_40x10_to_24.npy``: ``parity_grey8_wide.png`` (8-bit grey 40×10) → [1, 3, 24, 24]
  (width downscaled, height upscaled).
* ``synthetic_2000x1800_to_224_stride7.npy``: the procedural 16-bit image ``synthetic(2000, 1800)``
  (no file; the Swift test rebuilds it from the same integer formula) → [1, 3, 224, 224], of which
  only every 7th row and column is kept, ``[:, :, ::7, ::7]`` → [1, 3, 32, 32].
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "imaging")
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


# ----------------------------------------------------------------------------------- PNG writer
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_row(kind, row, prev, bpp):
    """PNG row filter `kind` (0..4) applied to the bytes `row`, `prev` being the unfiltered row above."""
    out = bytearray(len(row))
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out[i] = (x - predictor) & 0xFF
    return bytes(out)


def pack_rows(a, bit_depth):
    """Rows of samples `a` [h, w, c] as PNG bytes (big-endian 16-bit; low bit depths packed MSB first)."""
    h, w, c = a.shape
    if bit_depth == 16:
        return [a[y].astype(">u2").tobytes() for y in range(h)]
    if bit_depth == 8:
        return [a[y].astype(np.uint8).tobytes() for y in range(h)]
    rows = []
    for y in range(h):
        bits = np.unpackbits(a[y].reshape(-1, 1).astype(np.uint8), axis=1)[:, 8 - bit_depth:]
        rows.append(np.packbits(bits.reshape(-1)).tobytes())
    return rows


def write_png(path, a, color_type, bit_depth, extra=b"", interlace=False, filters=(0,), palette=None, trns=None):
    """A PNG of the samples `a` ([h, w] or [h, w, c] integers) with exactly the chunks asked for."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, :, None]
    h, w, c = a.shape
    bpp = max(1, c * bit_depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = bytearray()
    n = 0
    for xs, ys, dx, dy in passes:
        sub = a[ys::dy, xs::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        rows = pack_rows(sub, bit_depth)
        prev = bytes(len(rows[0]))
        for row in rows:
            kind = filters[n % len(filters)]
            n += 1
            raw += bytes([kind]) + filter_row(kind, row, prev, bpp)
            prev = row
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    body += extra
    if palette is not None:
        body += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        body += chunk(b"tRNS", trns)
    body += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + body)


# ------------------------------------------------------------------------------------- patterns
def pattern(h, w, c, modulus, seed):
    """Deterministic integers in [0, modulus) that hit 0 and modulus - 1."""
    y, x, k = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    v = (x * 7919 + y * 104729 + k * 15485863 + x * y * 31 + seed * 2654435761) % modulus
    v = v.astype(np.int64)
    v.reshape(-1)[0] = 0
    v.reshape(-1)[-1] = modulus - 1
    return v if c > 1 else v[:, :, 0]


def synthetic(width, height):
    """The procedural 16-bit test image (also built by the Swift test): float32 [height, width]."""
    y, x = np.meshgrid(np.arange(height, dtype=np.int64), np.arange(width, dtype=np.int64), indexing="ij")
    v = (x * x * 3 + y * 7919 + x * y * 13) % 65521
    return v.astype(np.float32)


def planar(a):
    """[h, w] or [h, w, c] → flat list in [c, h, w] order."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, :, None]
    return [int(v) for v in a.transpose(2, 0, 1).reshape(-1)]


# ----------------------------------------------------------------------------------------- main
def make_pngs(folder):
    os.makedirs(folder, exist_ok=True)
    expected = {}

    def record(name, values, bit_depth):
        values = np.asarray(values)
        h, w = values.shape[:2]
        expected[name] = {"width": w, "height": h, "channels": 1 if values.ndim == 2 else values.shape[2],
                          "bitDepth": bit_depth, "pixels": planar(values)}

    def pillow_check(name, mode, values):
        with Image.open(os.path.join(folder, name)) as im:
            assert im.mode in mode.split("|"), (name, im.mode)
            got = np.asarray(im).astype(np.int64)
        assert np.array_equal(got, values), name

    g8 = pattern(7, 9, 1, 256, 1)
    Image.fromarray(g8.astype(np.uint8), "L").save(os.path.join(folder, "grey8.png"))
    record("grey8.png", g8, 8)

    rgb8 = pattern(6, 5, 3, 256, 2)
    Image.fromarray(rgb8.astype(np.uint8), "RGB").save(os.path.join(folder, "rgb8.png"))
    record("rgb8.png", rgb8, 8)

    rgba8 = pattern(5, 4, 4, 256, 3)
    Image.fromarray(rgba8.astype(np.uint8), "RGBA").save(os.path.join(folder, "rgba8.png"))
    record("rgba8.png", rgba8[:, :, :3], 8)

    la8 = pattern(4, 6, 2, 256, 4)
    Image.fromarray(la8.astype(np.uint8), "LA").save(os.path.join(folder, "grey_alpha8.png"))
    record("grey_alpha8.png", la8[:, :, 0], 8)

    indices = pattern(5, 7, 1, 6, 5)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [17, 99, 201], [255, 255, 255]])
    p = Image.fromarray(indices.astype(np.uint8), "P")
    p.putpalette([int(v) for v in palette.reshape(-1)])
    p.save(os.path.join(folder, "palette8.png"))
    record("palette8.png", palette[indices], 8)

    ones = pattern(3, 11, 1, 2, 6)
    Image.fromarray(ones.astype(bool)).save(os.path.join(folder, "grey1.png"))
    record("grey1.png", ones * 255, 8)

    g16 = pattern(6, 8, 1, 65536, 7)
    write_png(os.path.join(folder, "grey16.png"), g16, 0, 16)
    record("grey16.png", g16, 16)
    pillow_check("grey16.png", "I|I;16", g16)

    colour_chunks = (chunk(b"gAMA", struct.pack(">I", 45455))
                     + chunk(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
                     + chunk(b"sRGB", b"\x00"))
    write_png(os.path.join(folder, "grey16_gamma.png"), g16, 0, 16, extra=colour_chunks)
    record("grey16_gamma.png", g16, 16)

    g16i = pattern(13, 11, 1, 65536, 8)
    write_png(os.path.join(folder, "grey16_interlaced.png"), g16i, 0, 16, interlace=True, filters=(0, 1, 2, 3, 4))
    record("grey16_interlaced.png", g16i, 16)
    pillow_check("grey16_interlaced.png", "I|I;16", g16i)

    ga16 = pattern(4, 5, 2, 65536, 9)
    ga16[:, :, 1] = (ga16[:, :, 1] % 30000) + 1000  # alpha well below opaque
    write_png(os.path.join(folder, "grey_alpha16.png"), ga16, 4, 16)
    record("grey_alpha16.png", ga16[:, :, 0], 16)

    rgb16 = pattern(3, 4, 3, 65536, 10)
    write_png(os.path.join(folder, "rgb16.png"), rgb16, 2, 16, filters=(4, 1))
    record("rgb16.png", rgb16, 16)

    rgba16 = pattern(4, 3, 4, 65536, 11)
    rgba16[:, :, 3] = rgba16[:, :, 3] % 20000
    write_png(os.path.join(folder, "rgba16.png"), rgba16, 6, 16, filters=(3, 2))
    record("rgba16.png", rgba16[:, :, :3], 16)

    g4 = pattern(5, 7, 1, 16, 12)
    write_png(os.path.join(folder, "grey4.png"), g4, 0, 4)
    record("grey4.png", g4 * 17, 8)
    pillow_check("grey4.png", "L", g4 * 17)

    g2 = pattern(3, 9, 1, 4, 13)
    write_png(os.path.join(folder, "grey2_trns.png"), g2, 0, 2, trns=struct.pack(">H", 1))
    record("grey2_trns.png", g2 * 85, 8)

    p2 = pattern(4, 5, 1, 4, 14)
    palette2 = np.array([[10, 20, 30], [250, 128, 0], [0, 0, 0], [255, 255, 255]])
    write_png(os.path.join(folder, "palette2_trns.png"), p2, 3, 2, palette=palette2, trns=bytes([0, 128, 255]))
    record("palette2_trns.png", palette2[p2], 8)

    rgbf = pattern(6, 7, 3, 256, 15)
    write_png(os.path.join(folder, "rgb8_filters.png"), rgbf, 2, 8, filters=(0, 1, 2, 3, 4))
    record("rgb8_filters.png", rgbf, 8)
    pillow_check("rgb8_filters.png", "RGB", rgbf)

    # The zlib stream of grey16.png with bytes in its middle changed; chunk CRC recomputed.
    data = bytearray(open(os.path.join(folder, "grey16.png"), "rb").read())
    start = data.index(b"IDAT")
    length = struct.unpack(">I", data[start - 4:start])[0]
    for i in range(start + 4 + length // 3, start + 4 + length // 3 + 6):
        data[i] ^= 0x5A
    crc = zlib.crc32(bytes(data[start:start + 4 + length])) & 0xFFFFFFFF
    data[start + 4 + length:start + 8 + length] = struct.pack(">I", crc)
    with open(os.path.join(folder, "corrupt_idat.png"), "wb") as f:
        f.write(bytes(data))

    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


def reference(image, size):
    """The study's pipeline in torch: image float32 [h, w] or [h, w, 3] → [1, 3, size, size]."""
    import torch
    import torch.nn.functional as F

    x = np.asarray(image, dtype=np.float32)
    lo, hi = x.min(), x.max()
    x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    t = torch.from_numpy(np.ascontiguousarray(x))
    t = t[None].expand(3, -1, -1) if t.ndim == 2 else t.permute(2, 0, 1)
    t = t[None].contiguous()
    t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    t = (t - torch.from_numpy(MEAN)[None, :, None, None]) / torch.from_numpy(STD)[None, :, None, None]
    return t.numpy().astype(np.float32)


def make_preprocessing(folder):
    os.makedirs(folder, exist_ok=True)
    g16 = pattern(47, 61, 1, 65536, 20)
    write_png(os.path.join(folder, "parity_grey16.png"), g16, 0, 16)
    np.save(os.path.join(folder, "grey16_61x47_to_32.npy"), reference(g16, 32))

    rgb8 = pattern(9, 11, 3, 256, 21)
    Image.fromarray(rgb8.astype(np.uint8), "RGB").save(os.path.join(folder, "parity_rgb8.png"))
    np.save(os.path.join(folder, "rgb8_11x9_to_24.npy"), reference(rgb8, 24))

    wide = pattern(10, 40, 1, 256, 22)
    Image.fromarray(wide.astype(np.uint8), "L").save(os.path.join(folder, "parity_grey8_wide.png"))
    np.save(os.path.join(folder, "grey8_40x10_to_24.npy"), reference(wide, 24))

    big = reference(synthetic(2000, 1800), 224)[:, :, ::7, ::7]
    np.save(os.path.join(folder, "synthetic_2000x1800_to_224_stride7.npy"), np.ascontiguousarray(big))


if __name__ == "__main__":
    make_pngs(os.path.join(OUT, "png"))
    make_preprocessing(os.path.join(OUT, "preprocess"))
    print("wrote", os.path.normpath(OUT))
