#!/usr/bin/python3
"""Write the JPEG and MATLAB v7.3 (.mat) fixtures for RadProbe's `MedicalImaging` tests.

Run with Debian's Python (numpy, Pillow 9.4 built on libjpeg-turbo, h5py 3.7)::

    /usr/bin/python3 scripts/make_jpeg_mat_fixtures.py     # writes Tests/Fixtures/imaging/{jpeg,mat}/

Deterministic: pixels come from fixed formulas and a seeded generator; the .mat userblock carries a
fixed creation date. Everything written is a few KB.

JPEG fixtures (``Tests/Fixtures/imaging/jpeg/``), each ``NAME.jpg`` with ``NAME.npy``: Pillow's
decoded pixels (``np.asarray(Image.open(...))``) as uint8, planar ``[channels, height, width]``
(grey files have one channel). A reader must reproduce them exactly.

* ``grey_37x23.jpg``: mode L, odd size (partial MCUs on both edges).
* ``colour420_37x23.jpg``: RGB, 4:2:0 chroma subsampling (exercises fancy upsampling), odd size.
* ``colour422_30x17.jpg``: RGB, 4:2:2.
* ``colour444_48x32.jpg``: RGB, 4:4:4.
* ``progressive_41x29.jpg``: RGB 4:2:0, progressive.
* ``restart_grey_35x21.jpg``, ``restart_colour_29x18.jpg``: baseline files with a restart interval
  (DRI) of 2 MCUs and RSTn markers, written by ``encode_baseline`` below (Pillow 9.4 cannot write
  restart markers): one grey, one 3-component 4:4:4 YCbCr.
* ``cmyk_16x8.jpg``: a CMYK JPEG (Pillow mode CMYK, Adobe marker), which readers refuse; no ``.npy``.

MATLAB v7.3 replicas of the figshare brain-tumour files (Cheng et al.) in ``Tests/Fixtures/imaging/mat/``,
written with h5py the way MATLAB writes them: a 512-byte userblock starting "MATLAB 7.3 MAT-file",
a group ``cjdata`` (``MATLAB_class`` "struct") holding ``image`` (int16 or uint8), ``label`` (1×1
double), ``PID`` (char: uint16 codes, ``MATLAB_int_decode`` 2), ``tumorBorder`` (1×n double) and
``tumorMask`` (logical, stored as uint8). MATLAB is column-major, so an H×W array is stored as an
HDF5 dataset of shape (W, H): h5py users read ``np.array(f['cjdata']['image']).T``. Images are not
square, so a reader that forgets the transpose fails.

* ``meningioma_16x12.mat``: int16 image 16 rows × 12 columns (gzip-compressed, chunked like MATLAB),
  label 1, PID "MRN-042", tumorBorder of 10 values.
* ``glioma_10x14.mat``: uint8 image 10 × 14, label 2, PID "100360", tumorBorder of 6 values.
* ``pituitary_9x7.mat``: int16 image 9 × 7 with negative values, label 3, PID "TCGA-α7" (a non-ASCII
  character), and an empty ``tumorBorder`` (1×0), which MATLAB stores as its dimensions flagged
  ``MATLAB_empty``.
* ``expected.json``: for each file, ``height``, ``width``, ``label``, ``patientID``, ``image`` and
  ``tumorMask`` (row-major, in MATLAB's orientation: ``rows`` = MATLAB's first index) and
  ``tumorBorder``.
* Bad inputs: ``no_cjdata.mat`` (v7.3 file whose only group is ``other``), ``no_mask.mat`` (``cjdata``
  without ``tumorMask``), ``mask_wrong_size.mat`` (mask 12 × 16 for a 16 × 12 image),
  ``label_out_of_range.mat`` (label 4), ``odd_integer_type.mat`` (image stored as a 12-bit-precision
  integer, not a standard type), ``oversized_chunks.mat`` (``meningioma_16x12.mat`` with the image's
  chunk size patched to exceed the image, which crashed libhdf5 1.10 in H5Dread), ``v5_header.mat`` (the 128-byte header of a MATLAB v5 file
  followed by a few bytes: not HDF5).
"""

import json
import pathlib

import h5py
import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "imaging"
JPEG_DIR = ROOT / "jpeg"
MAT_DIR = ROOT / "mat"


# ---------------------------------------------------------------------------------------------
# JPEG


def smooth_pattern(height, width, channels, seed):
    """Gradients, a disc and a little noise: content with both smooth areas and edges."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        disc = ((y - height / 2) ** 2 + (x - width / 3) ** 2 < (min(height, width) / 3) ** 2) * (60 + 40 * c)
        ramp = 120 * x / width if c != 1 else 120 * (1 - x / width)
        plane = 30 + ramp + 70 * y / height + disc
        planes.append(plane + rng.normal(0, 6, size=(height, width)))
    return np.clip(np.stack(planes, axis=-1), 0, 255).round().astype(np.uint8)


def save_expected(name, path):
    with Image.open(path) as image:
        pixels = np.asarray(image)
    planar = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    np.save(JPEG_DIR / (name + ".npy"), np.ascontiguousarray(planar, dtype=np.uint8))


def write_pillow_jpeg(name, array, **options):
    mode = "L" if array.shape[-1] == 1 else "RGB"
    image = Image.fromarray(array[..., 0] if mode == "L" else array, mode)
    path = JPEG_DIR / (name + ".jpg")
    image.save(path, "JPEG", quality=85, **options)
    save_expected(name, path)


# Baseline encoder with restart markers (ITU T.81 Annex K tables, all components sampled 1×1).

LUMA_QUANT = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]).reshape(8, 8)
ZIGZAG = sorted(((y, x) for y in range(8) for x in range(8)),
                key=lambda p: (p[0] + p[1], p[1] if (p[0] + p[1]) % 2 == 0 else p[0]))
DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
DC_VALUES = list(range(12))
AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D]
AC_VALUES = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
    0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5,
    0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2,
    0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
    0xF9, 0xFA]


def huffman_codes(bits, values):
    """Canonical codes (T.81 Annex C): value -> (code, length)."""
    codes, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[values[k]] = (code, length)
            code, k = code + 1, k + 1
        code <<= 1
    return codes


class BitWriter:
    def __init__(self):
        self.out, self.acc, self.count = bytearray(), 0, 0

    def write(self, value, length):
        for i in range(length - 1, -1, -1):
            self.acc = self.acc << 1 | (value >> i) & 1
            self.count += 1
            if self.count == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0x00)   # byte stuffing
                self.acc, self.count = 0, 0

    def flush(self):
        """Pads the last byte with 1-bits (T.81 F.1.2.3)."""
        if self.count:
            self.write((1 << (8 - self.count)) - 1, 8 - self.count)


def magnitude(value):
    size = int(abs(value)).bit_length()
    return size, (value if value >= 0 else value + (1 << size) - 1)


def forward_dct(block):
    k = np.arange(8)
    basis = np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / 16) * np.where(k == 0, np.sqrt(1 / 8), np.sqrt(2 / 8))[:, None]
    return basis @ block @ basis.T


def encode_baseline(planes, restart_interval):
    """A baseline JPEG of 1 (grey) or 3 (YCbCr 4:4:4) components with DRI every `restart_interval` MCUs."""
    components, height, width = planes.shape
    dc_codes, ac_codes = huffman_codes(DC_BITS, DC_VALUES), huffman_codes(AC_BITS, AC_VALUES)
    padded_h, padded_w = -(-height // 8) * 8, -(-width // 8) * 8
    padded = np.pad(planes.astype(np.float64), ((0, 0), (0, padded_h - height), (0, padded_w - width)), mode="edge")

    def segment(marker, payload):
        return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload

    head = bytearray(b"\xFF\xD8")
    head += segment(0xDB, bytes([0]) + bytes(int(LUMA_QUANT[y, x]) for y, x in ZIGZAG))
    sof = bytes([8]) + height.to_bytes(2, "big") + width.to_bytes(2, "big") + bytes([components])
    for c in range(components):
        sof += bytes([c + 1, 0x11, 0])
    head += segment(0xC0, sof)
    head += segment(0xC4, bytes([0x00] + DC_BITS + DC_VALUES))
    head += segment(0xC4, bytes([0x10] + AC_BITS + AC_VALUES))
    head += segment(0xDD, restart_interval.to_bytes(2, "big"))
    head += segment(0xDA, bytes([components]) + b"".join(bytes([c + 1, 0x00]) for c in range(components)) + bytes([0, 63, 0]))

    writer, predictors, scan = BitWriter(), [0] * components, bytearray()
    mcus = [(by, bx) for by in range(0, padded_h, 8) for bx in range(0, padded_w, 8)]
    for index, (by, bx) in enumerate(mcus):
        if index and index % restart_interval == 0:
            writer.flush()
            scan += writer.out + bytes([0xFF, 0xD0 + (index // restart_interval - 1) % 8])
            writer, predictors = BitWriter(), [0] * components
        for c in range(components):
            coefficients = np.round(forward_dct(padded[c, by:by + 8, bx:bx + 8] - 128) / LUMA_QUANT).astype(int)
            zigzag = [int(coefficients[y, x]) for y, x in ZIGZAG]
            size, bits = magnitude(zigzag[0] - predictors[c])
            predictors[c] = zigzag[0]
            writer.write(*dc_codes[size])
            writer.write(bits, size)
            run = 0
            for value in zigzag[1:]:
                if value == 0:
                    run += 1
                    continue
                while run > 15:
                    writer.write(*ac_codes[0xF0])
                    run -= 16
                size, bits = magnitude(value)
                writer.write(*ac_codes[run << 4 | size])
                writer.write(bits, size)
                run = 0
            if run:
                writer.write(*ac_codes[0x00])
    writer.flush()
    scan += writer.out
    return bytes(head) + bytes(scan) + b"\xFF\xD9"


def rgb_to_ycbcr(rgb):
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return np.stack([y, 128 + (b - y) / 1.772, 128 + (r - y) / 1.402])


def write_restart_jpeg(name, planes):
    path = JPEG_DIR / (name + ".jpg")
    path.write_bytes(encode_baseline(np.clip(planes, 0, 255), restart_interval=2))
    data = path.read_bytes()
    assert b"\xFF\xDD" in data and b"\xFF\xD0" in data and b"\xFF\xD1" in data
    save_expected(name, path)


def make_jpegs():
    JPEG_DIR.mkdir(parents=True, exist_ok=True)
    write_pillow_jpeg("grey_37x23", smooth_pattern(23, 37, 1, seed=1))
    write_pillow_jpeg("colour420_37x23", smooth_pattern(23, 37, 3, seed=2), subsampling=2)
    write_pillow_jpeg("colour422_30x17", smooth_pattern(17, 30, 3, seed=3), subsampling=1)
    write_pillow_jpeg("colour444_48x32", smooth_pattern(32, 48, 3, seed=4), subsampling=0)
    write_pillow_jpeg("progressive_41x29", smooth_pattern(29, 41, 3, seed=5), subsampling=2, progressive=True)
    write_restart_jpeg("restart_grey_35x21", smooth_pattern(21, 35, 1, seed=6).transpose(2, 0, 1))
    write_restart_jpeg("restart_colour_29x18", rgb_to_ycbcr(smooth_pattern(18, 29, 3, seed=7)))
    cmyk = Image.fromarray(np.concatenate([smooth_pattern(8, 16, 3, seed=8)] * 2, axis=-1)[..., :4], "CMYK")
    cmyk.save(JPEG_DIR / "cmyk_16x8.jpg", "JPEG", quality=90)


# ---------------------------------------------------------------------------------------------
# MATLAB v7.3


def matlab_userblock():
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    header = text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"   # subsystem offset, version, endian
    return header.ljust(512, b"\x00")


def matlab_dataset(group, name, array, matlab_class, **options):
    """Stores `array` (MATLAB's row-major view) transposed, as MATLAB does, with its MATLAB_class."""
    stored = np.ascontiguousarray(np.asarray(array).T)
    dataset = group.create_dataset(name, data=stored, **options)
    dataset.attrs["MATLAB_class"] = np.bytes_(matlab_class)
    return dataset


def write_mat(path, members, group_name="cjdata"):
    """Writes a v7.3 file with `members` (name -> (array, MATLAB class, h5py options)) in `group_name`."""
    with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
        group = f.create_group(group_name)
        group.attrs["MATLAB_class"] = np.bytes_("struct")
        for name, (array, matlab_class, options) in members.items():
            if array.size == 0:
                # MATLAB writes an empty array as its dimensions (uint64) flagged MATLAB_empty.
                dataset = group.create_dataset(name, data=np.array(array.shape, dtype=np.uint64))
                dataset.attrs["MATLAB_class"] = np.bytes_(matlab_class)
                dataset.attrs["MATLAB_empty"] = np.uint8(1)
                continue
            dataset = matlab_dataset(group, name, array, matlab_class, **options)
            if matlab_class == "char":
                dataset.attrs["MATLAB_int_decode"] = np.int32(2)
    with open(path, "r+b") as f:
        f.write(matlab_userblock())


def brain_members(image, label, pid, seed, compress=False, border_length=10):
    rng = np.random.default_rng(seed)
    height, width = image.shape
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[height // 4: height // 4 + 3, width // 3: width // 3 + 4] = 1
    mask[height - 2, 1] = 1                     # an asymmetric pixel: a flipped or transposed mask differs
    border = rng.uniform(1, min(height, width), size=(1, border_length)).round(2)
    codes = np.array([[ord(ch) for ch in pid]], dtype=np.uint16)   # a 1×n char row
    image_options = {"compression": "gzip", "chunks": image.T.shape} if compress else {}
    members = {
        "PID": (codes, "char", {}),
        "image": (image, image.dtype.name, image_options),
        "label": (np.array([[float(label)]]), "double", {}),
        "tumorBorder": (border, "double", {}),
        "tumorMask": (mask, "logical", {}),
    }
    expected = {
        "height": height, "width": width, "label": label, "patientID": pid,
        "image": image.ravel().tolist(), "tumorMask": mask.ravel().tolist(),
        "tumorBorder": border.ravel().tolist(),
    }
    return members, expected


def twelve_bit_integer():
    """A 2-byte signed integer type with 12 bits of precision: valid HDF5, but no standard type."""
    type_id = h5py.h5t.STD_I16LE.copy()
    type_id.set_precision(12)
    return h5py.Datatype(type_id)


def write_oversized_chunks(source, target):
    """`source` with its image's chunk (12, 16) declared as (12, 14417936), as in a corrupt file.

    The layout message (version 3, class 2 chunked, 3 dimensions, an 8-byte address, then the chunk
    sizes 12, 16 and the element size 2 as 32-bit little-endian numbers) is patched in place; version-1
    object headers carry no checksum.
    """
    data = bytearray(source.read_bytes())
    sizes = (12).to_bytes(4, "little") + (16).to_bytes(4, "little") + (2).to_bytes(4, "little")
    starts = [i for i in range(len(data) - 23) if data[i:i + 3] == b"\x03\x02\x03" and data[i + 11:i + 23] == sizes]
    assert len(starts) == 1, starts
    data[starts[0] + 15:starts[0] + 19] = (14417936).to_bytes(4, "little")
    target.write_bytes(bytes(data))


def make_mats():
    MAT_DIR.mkdir(parents=True, exist_ok=True)
    expected = {}
    y, x = np.mgrid[0:16, 0:12]
    images = {
        "meningioma_16x12.mat": ((y * 100 + x * 3 + 7).astype(np.int16), 1, "MRN-042", True, 10),
        "glioma_10x14.mat": (np.arange(140, dtype=np.uint8).reshape(10, 14), 2, "100360", False, 6),
        "pituitary_9x7.mat": ((np.arange(63).reshape(9, 7) * 37 - 900).astype(np.int16), 3, "TCGA-\u03b17", False, 0),
    }
    for seed, (name, (image, label, pid, compress, border_length)) in enumerate(images.items()):
        members, expected[name] = brain_members(image, label, pid, seed, compress, border_length)
        write_mat(MAT_DIR / name, members)
    (MAT_DIR / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")

    base, _ = brain_members(images["meningioma_16x12.mat"][0], 1, "MRN-042", seed=0)
    write_mat(MAT_DIR / "no_cjdata.mat", base, group_name="other")
    write_mat(MAT_DIR / "no_mask.mat", {k: v for k, v in base.items() if k != "tumorMask"})
    wrong_mask = dict(base, tumorMask=(np.zeros((12, 16), dtype=np.uint8), "logical", {}))
    write_mat(MAT_DIR / "mask_wrong_size.mat", wrong_mask)
    write_mat(MAT_DIR / "label_out_of_range.mat", dict(base, label=(np.array([[4.0]]), "double", {})))
    write_mat(MAT_DIR / "odd_integer_type.mat", dict(base, image=(images["meningioma_16x12.mat"][0], "int16",
                                                               {"dtype": twelve_bit_integer()})))
    write_oversized_chunks(MAT_DIR / "meningioma_16x12.mat", MAT_DIR / "oversized_chunks.mat")
    v5 = b"MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024".ljust(116, b" ")
    (MAT_DIR / "v5_header.mat").write_bytes(v5 + b"\x00" * 8 + b"\x00\x01" + b"IM" + bytes(range(32)))


if __name__ == "__main__":
    make_jpegs()
    make_mats()
