#!/usr/bin/python3
"""Write the NIfTI fixtures for RadProbe's `NIfTIReader` tests, with nibabel as the reference.

Run with Debian's Python (numpy 1.24, nibabel 5.0)::

    /usr/bin/python3 scripts/make_nifti_fixtures.py      # writes Tests/Fixtures/imaging/nifti/

Deterministic (numpy seed 20240607, fixed gzip mtime); about 100 KB in all.

Small images (``Tests/Fixtures/imaging/nifti/*.nii`` and ``*.nii.gz``), most 5 x 4 x 3 voxels:

* ``<type>_le.nii`` and ``<type>_be.nii`` for every readable sample type (uint8, int8, int16, uint16,
  int32, uint32, int64, uint64, float32, float64) in little- and big-endian NIfTI-1, values spanning
  the type's range (its extremes included; 64-bit integers beyond 2**53 test the rounding to float32).
* ``nifti2_int16_le.nii``, ``nifti2_float64_be.nii``: NIfTI-2 headers.
* ``int16_le.nii.gz``, ``nifti2_float32_be.nii.gz``: gzip-compressed; ``two_members.nii.gz``: the
  same gzip stream cut into two concatenated members, plus zero padding at the end.
* ``scaled_int16.nii`` (slope 0.5, intercept -10), ``scaled_uint8.nii`` (2.5, 1.25),
  ``scaled_float32_be.nii`` (0.5, 1), ``scaled_int32_nifti2.nii.gz`` (0.001, 3),
  ``slope_zero.nii`` (slope 0: no scaling), ``slope_nan.nii`` (slope NaN: no scaling).
* ``sform_only.nii`` (oblique, sheared sform, code 2; qform code 0), ``qform_only.nii`` (a rotation
  with qfac -1, code 1; sform code 0), ``no_transform.nii`` (both codes 0: nibabel's fallback
  affine), ``both_transforms.nii`` (sform code 4 wins over qform code 1), ``bad_pixdim.nii``
  (pixdim 0 and negative, qfac 0, qform only: nibabel's repairs), ``invalid_codes.nii`` (sform code 9
  reads as 0, so the qform is used).
* ``four_d.nii.gz`` (5 x 4 x 3 x 2), ``five_d_trailing_one.nii`` (5 x 4 x 3 x 2 x 1), ``two_d.nii``
  (dim[0] 2), ``offset_480.nii`` (voxels at byte 480 after zero padding).

``expected.json`` maps each file name to what nibabel reads from it: ``shape`` (``img.shape``),
``values`` (``img.get_fdata(dtype=np.float64).astype(np.float32)`` in file order, first index fastest:
nibabel's scaling done in float64 and rounded once; ``get_fdata(dtype=np.float32)`` scales in float32
and can be an ulp away for scaled images, and equals it otherwise), ``affine``
(``img.affine``, 16 row-major values), ``zooms`` (``header.get_zooms()[:3]``), ``datatype`` (NIfTI
name), ``version``, ``bigEndian``, ``slope``/``inter`` (the scaling nibabel applies, ``img.dataobj.slope``/``inter``: 1 and 0 for none).

``assets.json`` gives the same facts for nibabel's own test images that ``make test`` fetches into
``assets/imaging/`` (anatomical.nii, example4d.nii.gz, example_nifti2.nii.gz, functional.nii,
standard.nii.gz), too big to commit as arrays: ``shape``, ``affine``, ``zooms``, ``datatype``,
``sha256`` of the float32 array as little-endian bytes in file order, ``min``, ``max``, and
``samples`` (flat file-order index → value) at a dozen spread-out positions.
"""
import gzip
import hashlib
import io
import json
import os
import sys

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "imaging", "nifti")
ASSETS = os.path.join(ROOT, "assets", "imaging")
SHAPE = (5, 4, 3)
RNG = np.random.default_rng(20240607)

SFORM = np.array([[1.5, 0.2, -0.1, -30.25], [-0.15, 1.25, 0.3, 12.5], [0.05, -0.2, 2.75, 7.0], [0, 0, 0, 1]])


def typed_values(dtype, shape=SHAPE):
    """Random values over the whole range of `dtype`, its extremes and zero at the first voxels."""
    n = int(np.prod(shape))
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        extremes = [0.0, -1.5, 3.25e5, -7.0e-3, 3.0e38, -1.0e-38, 0.1]
        if dtype.itemsize == 8:   # not float32 values: rounded to nearest; tiny ones to a signed zero
            extremes += [1 + 2.0**-30, -2.5e-300]
        values = RNG.normal(0, 1000, n).astype(dtype)
    else:
        info = np.iinfo(dtype)
        extremes = [0, info.min, info.max, info.max - 1, info.min + 1]
        if dtype.itemsize == 8:
            # Spread evenly over the range without overflowing: uniform in [min/2, max/2] times 2.
            values = (RNG.integers(info.min // 2, info.max // 2, n, dtype=dtype, endpoint=True) * 2) | 1
            extremes += [2**53 + 1 if dtype.kind == "u" else -(2**53) - 1, 2**60 + 2**36 + 1]
        else:
            values = RNG.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    values[: len(extremes)] = np.array(extremes, dtype=dtype)
    return values.reshape(shape, order="F")


def image(data, version=1, affine=None, header=None):
    cls = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    return cls(data, np.diag([2.0, 3.0, 4.0, 1.0]) if affine is None else affine, header=header, dtype=data.dtype)


def encode(img, big_endian=False):
    """The single-file bytes of `img` in the chosen byte order (nibabel writes native order)."""
    if big_endian:
        img = img.__class__(img.dataobj, img.affine, header=img.header.as_byteswapped(">"))
    stream = io.BytesIO()
    img.to_file_map({"image": nib.FileHolder(fileobj=stream), "header": nib.FileHolder(fileobj=stream)})
    return stream.getvalue()


def gzipped(raw):
    return gzip.compress(raw, compresslevel=6, mtime=0)


def facts(path):
    img = nib.load(path)
    hdr = img.header
    values = img.get_fdata(dtype=np.float64).astype(np.float32)
    slope, inter = img.dataobj.slope, img.dataobj.inter   # the header's scaling, moved here on load
    return img, values, {
        "shape": list(img.shape),
        "affine": [float(v) for v in img.affine.ravel()],
        "zooms": [float(v) for v in hdr.get_zooms()[:3]],
        "datatype": hdr.get_data_dtype().name if hdr.get_data_dtype().kind != "V" else "?",
        "version": 1 if isinstance(img, nib.Nifti1Image) and not isinstance(img, nib.Nifti2Image) else 2,
        "bigEndian": hdr.endianness == ">",
        "slope": float(slope),
        "inter": float(inter),
    }


def write(name, raw, expected):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(raw)
    _, values, entry = facts(path)
    entry["values"] = [float(v) for v in values.ravel(order="F")]
    expected[name] = entry


def fixtures():
    expected = {}
    for dtype in ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]:
        data = typed_values(dtype)
        write(f"{dtype}_le.nii", encode(image(data)), expected)
        write(f"{dtype}_be.nii", encode(image(data), big_endian=True), expected)

    write("nifti2_int16_le.nii", encode(image(typed_values("int16"), version=2, affine=SFORM)), expected)
    write("nifti2_float64_be.nii", encode(image(typed_values("float64"), version=2), big_endian=True), expected)
    plain = encode(image(typed_values("int16"), affine=SFORM))
    write("int16_le.nii.gz", gzipped(plain), expected)
    write("nifti2_float32_be.nii.gz", gzipped(encode(image(typed_values("float32"), version=2), big_endian=True)), expected)
    write("two_members.nii.gz", gzipped(plain[:200]) + gzipped(plain[200:]) + bytes(7), expected)

    def scaled(dtype, slope, inter, version=1, big_endian=False):
        """An image whose header asks for `stored * slope + inter` (nibabel's writer would rescale)."""
        raw = bytearray(encode(image(typed_values(dtype), version=version), big_endian=big_endian))
        offset, kind = (112, "f4") if version == 1 else (176, "f8")
        raw[offset : offset + 2 * int(kind[1])] = np.array([slope, inter], dtype=(">" if big_endian else "<") + kind).tobytes()
        return bytes(raw)

    write("scaled_int16.nii", scaled("int16", 0.5, -10), expected)
    write("scaled_uint8.nii", scaled("uint8", 2.5, 1.25), expected)
    write("scaled_float32_be.nii", scaled("float32", 0.5, 1, big_endian=True), expected)
    write("scaled_int32_nifti2.nii.gz", gzipped(scaled("int32", 0.001, 3, version=2)), expected)
    write("slope_zero.nii", scaled("int16", 0, 5), expected)
    write("slope_nan.nii", scaled("int16", np.nan, 5), expected)

    # nibabel's writer sets the sform (code 2) and qform parameters (code 0) from the image's affine;
    # the codes, and where needed the sform rows, are then set in the little-endian bytes.
    def with_codes(raw, qform_code, sform_code, sform=None):
        raw = bytearray(raw)
        raw[252:256] = np.array([qform_code, sform_code], dtype="<i2").tobytes()
        if sform is not None:
            raw[280:328] = np.asarray(sform[:3], dtype="<f4").tobytes()
        return raw

    data = typed_values("int16")
    write("sform_only.nii", bytes(with_codes(encode(image(data, affine=SFORM)), 0, 2)), expected)

    rotation = np.array([[0.0, -1.0, 0.0], [0.6, 0.0, 0.8], [-0.8, 0.0, 0.6]])
    qform = np.eye(4)
    qform[:3, :3] = rotation @ np.diag([1.25, 2.0, -3.0])   # negative determinant: qfac -1
    qform[:3, 3] = [10.5, -20.25, 30.0]
    rotated = encode(image(data, affine=qform))
    assert np.frombuffer(rotated[76:80], "<f4")[0] == -1
    write("qform_only.nii", bytes(with_codes(rotated, 1, 0)), expected)
    write("both_transforms.nii", bytes(with_codes(rotated, 1, 4, sform=SFORM)), expected)
    write("no_transform.nii", bytes(with_codes(encode(image(data, affine=np.diag([1.5, 2.5, 3.5, 1]))), 0, 0)), expected)

    raw = with_codes(rotated, 1, 0)
    raw[76:92] = np.array([0, 0, -2.0, 3.0], dtype="<f4").tobytes()    # qfac 0, dx 0, dy -2
    write("bad_pixdim.nii", bytes(raw), expected)
    write("invalid_codes.nii", bytes(with_codes(rotated, 1, 9)), expected)

    write("four_d.nii.gz", gzipped(encode(image(typed_values("int16", (5, 4, 3, 2))))), expected)
    write("five_d_trailing_one.nii", encode(image(typed_values("float32", (5, 4, 3, 2, 1)))), expected)
    write("two_d.nii", encode(image(typed_values("uint16", (5, 4)))), expected)

    raw = bytearray(encode(image(data, affine=SFORM)))
    raw[108:112] = np.float32(480).tobytes()
    write("offset_480.nii", bytes(raw[:352]) + bytes(480 - 352) + bytes(raw[352:]), expected)
    return expected


def asset_facts():
    facts_by_name = {}
    for name in ["anatomical.nii", "example4d.nii.gz", "example_nifti2.nii.gz", "functional.nii", "standard.nii.gz"]:
        _, values, entry = facts(os.path.join(ASSETS, name))
        flat = values.ravel(order="F").astype("<f4")
        entry["sha256"] = hashlib.sha256(flat.tobytes()).hexdigest()
        entry["min"] = float(flat.min())
        entry["max"] = float(flat.max())
        picks = sorted(set(np.linspace(0, flat.size - 1, 12).astype(int).tolist()) | {int(flat.argmax()), int(flat.argmin())})
        entry["samples"] = {str(i): float(flat[i]) for i in picks}
        facts_by_name[name] = entry
    return facts_by_name


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    expected = fixtures()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True, allow_nan=False)
    if os.path.isdir(ASSETS):
        with open(os.path.join(OUT, "assets.json"), "w") as f:
            json.dump(asset_facts(), f, indent=1, sort_keys=True, allow_nan=False)
    else:
        sys.exit(f"{ASSETS} is missing: run `make test` once to fetch it, then rerun")
    print(f"wrote {len(expected)} images, expected.json and assets.json to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
