#!/usr/bin/python3
"""Write the PNG fixtures for the tests of `PNGReader`'s fast path (`PNGFastDecoderTests`).

Run with Debian's Python (numpy, Pillow)::

    /usr/bin/python3 scripts/make_png_fast_path_fixtures.py    # writes Tests/Fixtures/imaging/png_fast/

The tests need no expected values here: they check that the fast path's image equals libpng's, exactly,
for every file (libpng is the reference), and that it declines the corrupt and unusual files, so that
the user sees libpng's error or result. Deterministic (seeded noise, no timestamps); a few KB in all.

* Hand-built with every row filter in turn (noise, so every Paeth branch occurs) and odd sizes:
  ``grey8_filters.png`` (IDAT split into three chunks, a tEXt chunk before them),
  ``grey16_filters.png`` (a 1 KiB zlib window, as large as its row data),
  ``rgb8_filters.png`` (a tIME chunk after the IDAT), ``rgb16_filters.png`` (pHYs),
  ``grey8_one_pixel.png``, ``rgb16_one_column.png``.
* Written by Pillow 9.4 (its own encoder): ``pillow_grey16.png`` (mode I;16), ``pillow_rgb8.png``.
* Declined by the fast path, still read by libpng: ``grey16_small_window.png`` (a 512-byte zlib
  window, smaller than the row data), ``idat_split_by_text.png`` (a tEXt chunk between two IDATs).
* Corrupt, so libpng's error must be the one reported: ``bad_idat_crc.png``, ``bad_filter_type.png``
  (filter type 5, CRC valid), ``short_zlib_stream.png`` (rows missing), ``bad_adler.png`` (the zlib
  checksum changed), ``extra_idat_data.png`` (bytes after the zlib stream), ``unknown_critical_chunk.png``.
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

from make_imaging_fixtures import chunk, filter_row, pack_rows

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "imaging", "png_fast")
SIGNATURE = b"\x89PNG\r\n\x1a\n"


def raw_rows(a, bit_depth, filters):
    """Filter bytes and filtered rows of the samples `a` [h, w, c]."""
    bpp = a.shape[2] * bit_depth // 8
    rows = pack_rows(a, bit_depth)
    raw, prev = bytearray(), bytes(len(rows[0]))
    for n, row in enumerate(rows):
        kind = filters[n % len(filters)]
        raw += bytes([kind]) + filter_row(kind, row, prev, bpp)
        prev = row
    return bytes(raw)


def compress(raw, window_bits=15):
    packer = zlib.compressobj(9, zlib.DEFLATED, window_bits)
    return packer.compress(raw) + packer.flush()


def ihdr(a, bit_depth):
    h, w, c = a.shape
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, 2 if c == 3 else 0, 0, 0, 0))


def write(name, body):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(SIGNATURE + body)


def png(a, bit_depth, idat_parts=(), before=b"", after=b"", window_bits=15, filters=(0, 1, 2, 3, 4), stream=None):
    """A PNG body: IHDR, `before`, the zlib stream split at `idat_parts`, `after`, IEND."""
    data = compress(raw_rows(a, bit_depth, filters), window_bits) if stream is None else stream
    cuts = [0, *idat_parts, len(data)]
    idats = b"".join(chunk(b"IDAT", data[s:e]) for s, e in zip(cuts, cuts[1:]))
    return ihdr(a, bit_depth) + before + idats + after + chunk(b"IEND", b"")


def noise(rng, h, w, c, bit_depth):
    return rng.integers(0, 1 << bit_depth, size=(h, w, c), dtype=np.int64)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261129)
    text = chunk(b"tEXt", b"Comment\x00fast path fixture")
    grey8 = noise(rng, 23, 37, 1, 8)
    write("grey8_filters.png", png(grey8, 8, idat_parts=(100, 300), before=text))
    grey16 = noise(rng, 17, 29, 1, 16)  # 17 × (1 + 58) = 1003 bytes of rows
    write("grey16_filters.png", png(grey16, 16, window_bits=10))
    write("grey16_small_window.png", png(grey16, 16, window_bits=9))
    rgb8 = noise(rng, 19, 31, 3, 8)
    write("rgb8_filters.png", png(rgb8, 8, filters=(4, 3, 2, 1, 0),
                                  after=chunk(b"tIME", struct.pack(">HBBBBB", 2026, 11, 29, 12, 0, 0))))
    rgb16 = noise(rng, 11, 13, 3, 16)
    write("rgb16_filters.png", png(rgb16, 16, filters=(3, 4, 1, 2, 0),
                                   before=chunk(b"pHYs", struct.pack(">IIB", 5000, 5000, 1))))
    write("grey8_one_pixel.png", png(noise(rng, 1, 1, 1, 8), 8, filters=(4,)))
    write("rgb16_one_column.png", png(noise(rng, 9, 1, 3, 16), 16))

    y, x = np.mgrid[0:21, 0:33]
    Image.fromarray((y * 3000 + x * 17).astype(np.uint16), mode="I;16").save(os.path.join(OUT, "pillow_grey16.png"))
    Image.fromarray(noise(rng, 15, 27, 3, 8).astype(np.uint8), mode="RGB").save(os.path.join(OUT, "pillow_rgb8.png"))

    stream = compress(raw_rows(grey8, 8, (0, 1, 2, 3, 4)))
    write("idat_split_by_text.png", ihdr(grey8, 8) + chunk(b"IDAT", stream[:200]) + text
          + chunk(b"IDAT", stream[200:]) + chunk(b"IEND", b""))

    good = png(grey8, 8)
    at = good.index(b"IDAT") + 4
    write("bad_idat_crc.png", good[:at + 10] + bytes([good[at + 10] ^ 0xFF]) + good[at + 11:])
    bad_filter = bytearray(raw_rows(grey8, 8, (0, 1, 2, 3, 4)))
    bad_filter[5 * 38] = 5  # the sixth row's filter byte
    write("bad_filter_type.png", png(grey8, 8, stream=compress(bytes(bad_filter))))
    write("short_zlib_stream.png", png(grey8, 8, stream=compress(raw_rows(grey8[:20], 8, (0, 1, 2, 3, 4)))))
    write("bad_adler.png", png(grey8, 8, stream=stream[:-1] + bytes([stream[-1] ^ 1])))
    write("extra_idat_data.png", png(grey8, 8, stream=stream + b"\x00\x01\x02"))
    write("unknown_critical_chunk.png", png(grey8, 8, before=chunk(b"ABCD", b"\x00")))


if __name__ == "__main__":
    main()
