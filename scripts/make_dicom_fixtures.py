#!/usr/bin/python3
"""Write the DICOM fixtures and expected values for RadProbe's `MedicalImaging` DICOM tests.

Run with Debian's Python (numpy 1.24, pydicom 2.3.1)::

    /usr/bin/python3 scripts/make_dicom_fixtures.py            # writes Tests/Fixtures/imaging/dicom/

The output is deterministic (fixed seeds and UIDs, no timestamps) and about 100 KB.

Synthetic files (``dicom/*.dcm``, small images written by pydicom), described in ``expected.json``:

* ``implicit_le.dcm`` (Implicit VR Little Endian, CT, uint16 with Rescale Slope 1 / Intercept -1024,
  two Window Center/Width values), ``explicit_le.dcm`` (Explicit VR Little Endian, with nested sequences:
  defined and undefined lengths, items of undefined length, and a private element stored as VR UN of
  undefined length holding a sequence), ``explicit_be.dcm`` (Explicit VR Big Endian, int16),
  ``deflated.dcm`` (Deflated Explicit VR Little Endian).
* ``no_meta_implicit.dcm``, ``no_meta_explicit.dcm``: data sets without preamble or meta group.
* ``signed12.dcm``: int16 with Bits Stored 12, values sign-extended as writers store them;
  ``signed12_junk_high_bits.dcm``: the same values with random bits above High Bit, which a reader must
  ignore (PS3.5 §8.1.1); pydicom 2.3's ``pixel_array`` keeps them, so its expected raw values are the
  12-bit values masked and sign-extended in numpy instead.
* ``mono1.dcm``: MONOCHROME1, 10 bits stored in 16, Rescale Slope 2 / Intercept -100.
* ``rgb_planar0.dcm``, ``rgb_planar1.dcm``: 8-bit RGB, interleaved and planar.
* ``uint32.dcm``: 32-bit unsigned samples; ``uint8.dcm``: 8-bit grey.
* ``multiframe.dcm``: 3 frames of int16 with per-frame (plane positions, rescale) and shared (pixel
  measures, plane orientation) functional groups; ``multiframe_rle.dcm`` the same RLE Lossless coded
  (with a Basic Offset Table); ``multiframe_rle_no_bot.dcm`` with an empty Basic Offset Table, one
  fragment per frame; ``rgb_rle.dcm``: 2 frames of 8-bit RGB, RLE Lossless;
  ``multiframe_one_position.dcm``: 4 frames sharing one top-level Image Position/Orientation Patient
  (as a cine series), which RadProbe stacks along the normal by Slice Thickness.
* ``series/``: five CT slices of one series (oblique orientation, 2.5 mm apart) under shuffled file
  names, and ``notes.txt``, which is not DICOM. ``other_series_slice.dcm``: a slice of another series;
  ``series_mismatch_rows.dcm``: a slice of the series with a different number of rows.

* Colour (``DICOMFile.displayImages()``): ``ybr_full.dcm`` (8-bit YBR_FULL, interleaved, with samples at
  0 and 255 so that the conversion clips), ``ybr_full_rle.dcm`` (2 frames, RLE Lossless),
  ``ybr_full_422_rle.dcm`` (RLE Lossless, full-resolution samples labelled YBR_FULL_422);
  ``palette_lut16.dcm`` (Implicit VR LE, int16 indices, a 64-entry table of 16-bit entries whose first
  mapped value is -32, stored as SS), ``palette_lut8.dcm`` (2 frames of uint16 indices, a 200-entry table
  of 8-bit entries from value 1000); both with indices below the first mapped value and past the table.
  Their ``display`` is pydicom's ``convert_color_space(pixel_array, "YBR_FULL", "RGB")`` or
  ``apply_color_lut(pixel_array, ds)`` made planar ``[frames, 3, rows, columns]``, flattened. Refused:
  ``palette_segmented.dcm`` (segmented tables only) and ``palette_bad_descriptor.dcm`` (a descriptor of 100
  entries over 20 entries of data); their ``display`` is null. The colour files draw from their own
  random generator, after every other file, so that adding them changed no other fixture.

``expected.json`` gives for each synthetic file: ``shape`` ``[frames, samples, rows, columns]``,
``raw`` (stored values, planar, flattened), ``values`` (pydicom's ``apply_modality_lut`` in float64,
then for MONOCHROME1 mirrored as ``lo + hi - v`` with ``lo..hi`` the stored range after rescaling,
then rounded to float32), ``window`` (the first Window Center/Width, mirrored the same way), ``pixelSpacing``,
``storedType``, ``transferSyntax``; for ``multiframe*`` the volume's ``affine``; for ``series`` the volume's
``size``, ``voxels``, ``spacing`` and ``affine`` (RAS+: LPS columns row-cosine × PixelSpacing[1],
column-cosine × PixelSpacing[0], slice step, first position; rows 0 and 1 negated).

``expected_assets.json``: for the real files under ``assets/imaging/`` (pydicom's test files and
pydicom-data, fetched by ``make test``), pydicom's ``pixel_array`` made planar ``[frames, samples,
rows, columns]``: ``shape``, ``rawSHA256`` (SHA-256 of the float32 little-endian bytes), ``rawMin``,
``rawMax``, ``samples`` (flat index → raw value at a few indices), and the same for the modality
values (``valuesSHA256``, ``valuesMin``, ``valuesMax``, see above).

``expected_colour_assets.json``: under ``files``, for the real colour files (pydicom-data's
``SC_ybr_full_uncompressed.dcm`` and ``OT-PAL-8-face.dcm``), the ``display`` array as above: ``shape``, ``sha256`` (of the float32
little-endian bytes), ``min``, ``max``, ``samples`` (flat index → value), ``bitDepth``; and ``ybrCubeSHA256``:
the SHA-256 of ``convert_color_space`` applied to every 8-bit (Y, Cb, Cr) triple (pixel ``n`` = Y·65536 +
Cb·256 + Cr), as uint8 planes R, G, B.
"""
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixel_data_handlers.util import apply_color_lut, apply_modality_lut, convert_color_space
from pydicom.sequence import Sequence
from pydicom.uid import (DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian, RLELossless)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "imaging", "dicom")
ASSETS = os.path.join(ROOT, "assets", "imaging")
UID_ROOT = "1.2.826.0.1.3680043.10.1234."
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def base_dataset(syntax, sop_class=CT_IMAGE, instance="1", modality="CT"):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = UID_ROOT + "9." + instance
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = UID_ROOT + "0"
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = syntax != ExplicitVRBigEndian
    ds.is_implicit_VR = syntax == ImplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientID = "RADPROBE-TEST"
    ds.StudyDescription = "Synthetic fixture"
    ds.SeriesInstanceUID = UID_ROOT + "1.1"
    ds.InstanceNumber = int(instance.split(".")[-1]) if instance.split(".")[-1].isdigit() else 1
    return ds


def set_pixels(ds, arr, bits_stored=None, signed=False, photometric="MONOCHROME2", planar=None, stored=None):
    """Image Pixel attributes for `arr` ([frames,] rows, columns[, 3]); `stored` overrides the bytes."""
    arr = np.asarray(arr)
    colour = photometric in ("RGB", "YBR_FULL", "YBR_FULL_422")
    frames = arr.shape[0] if arr.ndim == (4 if colour else 3) else 1
    rows, columns = (arr.shape[-3], arr.shape[-2]) if colour else (arr.shape[-2], arr.shape[-1])
    bits = arr.dtype.itemsize * 8
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = photometric
    if colour:
        ds.PlanarConfiguration = planar or 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated = bits
    ds.BitsStored = bits_stored or bits
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    data = arr if stored is None else stored
    if colour and planar == 1:
        data = np.moveaxis(data, -1, -3)  # [frames,] 3, rows, columns
    big = not ds.is_little_endian
    data = np.ascontiguousarray(data).astype(data.dtype.newbyteorder(">" if big else "<"))
    ds.PixelData = data.tobytes()
    ds["PixelData"].VR = "OB" if bits == 8 else "OW"


def planar_frames(arr, ds):
    """pixel_array → float64 [frames, samples, rows, columns]."""
    arr = np.asarray(arr, dtype=np.float64)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    samples = int(getattr(ds, "SamplesPerPixel", 1))
    if samples == 3:
        arr = arr.reshape(frames, ds.Rows, ds.Columns, 3).transpose(0, 3, 1, 2)
    else:
        arr = arr.reshape(frames, 1, ds.Rows, ds.Columns)
    return arr


def frame_rescale(ds, index):
    """(slope, intercept) of frame `index`: per-frame, shared, top level (as the reader does)."""
    def lookup(keyword):
        for seq in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
            if seq in ds:
                groups = ds[seq].value
                group = groups[index] if seq.startswith("PerFrame") else groups[0]
                if "PixelValueTransformationSequence" in group:
                    item = group.PixelValueTransformationSequence[0]
                    if keyword in item:
                        return float(item[keyword].value)
        return float(ds[keyword].value) if keyword in ds else None
    slope, intercept = lookup("RescaleSlope"), lookup("RescaleIntercept")
    return (1.0 if slope is None else slope), (0.0 if intercept is None else intercept)


def stored_range(ds):
    bits = int(ds.BitsStored)
    if int(ds.PixelRepresentation) == 1:
        return -2.0 ** (bits - 1), 2.0 ** (bits - 1) - 1
    return 0.0, 2.0 ** bits - 1


def modality_values(raw, ds):
    """raw [frames, samples, rows, columns] float64 → float32 values as `DICOMFile.images()` gives them."""
    out = np.empty(raw.shape, dtype=np.float32)
    smin, smax = stored_range(ds)
    for index in range(raw.shape[0]):
        slope, intercept = frame_rescale(ds, index)
        if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
            values = raw[index] * slope + intercept
        else:
            values = apply_modality_lut(raw[index], ds).astype(np.float64) if "RescaleSlope" in ds else raw[index]
        if ds.PhotometricInterpretation == "MONOCHROME1":
            ends = [smin * slope + intercept, smax * slope + intercept]
            values = (min(ends) + max(ends)) - values
        out[index] = values.astype(np.float32)
    return out


def window_of(ds):
    if "WindowCenter" not in ds or "WindowWidth" not in ds:
        return None
    first = lambda v: float(v[0]) if isinstance(v, pydicom.multival.MultiValue) else float(v)
    center, width = first(ds.WindowCenter), first(ds.WindowWidth)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        slope, intercept = frame_rescale(ds, 0)
        smin, smax = stored_range(ds)
        ends = [smin * slope + intercept, smax * slope + intercept]
        center = min(ends) + max(ends) - center
    return [center, width]


def affine_ras(orientation, pixel_spacing, origin, step):
    row, col = np.array(orientation[:3], float), np.array(orientation[3:], float)
    lps = np.eye(4)
    lps[:3, 0] = row * float(pixel_spacing[1])
    lps[:3, 1] = col * float(pixel_spacing[0])
    lps[:3, 2] = step
    lps[:3, 3] = origin
    lps[:2, :] *= -1
    return [float(v) for v in lps.flatten()]


def describe(path, ds_written, raw_override=None, extra=None):
    ds = pydicom.dcmread(path, force=True)
    raw = planar_frames(ds.pixel_array, ds) if raw_override is None else raw_override
    entry = {
        "transferSyntax": str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in ds.file_meta else None,
        "shape": list(raw.shape),
        "raw": [float(v) for v in raw.flatten()],
        "values": [float(v) for v in modality_values(raw, ds).flatten()],
        "window": window_of(ds),
        "pixelSpacing": [float(v) for v in ds.PixelSpacing] if "PixelSpacing" in ds else None,
        "storedType": ("int" if ds.PixelRepresentation == 1 else "uint") + str(ds.BitsAllocated),
    }
    entry.update(extra or {})
    return entry


def grey(rng, frames, rows, columns, low, high, dtype):
    shape = (rows, columns) if frames == 1 else (frames, rows, columns)
    return rng.integers(low, high + 1, size=shape).astype(dtype)


def save(ds, name, **kwargs):
    path = os.path.join(OUT, name)
    ds.save_as(path, write_like_original=False, **kwargs)
    return path


def sequences_dataset(ds):
    """Nested sequences: defined-length SQ with an undefined-length item holding an undefined-length SQ."""
    inner = Dataset()
    inner.CodeValue = "T-A0100"
    inner.CodeMeaning = "Brain"
    inner.is_undefined_length_sequence_item = True
    middle = Dataset()
    middle.ReferencedSOPClassUID = CT_IMAGE
    middle.ReferencedSOPInstanceUID = UID_ROOT + "7.1"
    middle.AnatomicRegionSequence = Sequence([inner])
    middle["AnatomicRegionSequence"].is_undefined_length = True
    middle.is_undefined_length_sequence_item = True
    second = Dataset()
    second.ReferencedSOPClassUID = CT_IMAGE
    second.ReferencedSOPInstanceUID = UID_ROOT + "7.2"
    ds.ReferencedImageSequence = Sequence([middle, second])
    ds.add_new(0x00091010, "LO", "RADPROBE")  # private creator
    ds.add_new(0x00091011, "OB", b"UNSQ")     # replaced below by an UN sequence of undefined length


def un_sequence_bytes():
    """(0009,1011) UN, undefined length: one undefined-length item with (0009,1012) LO "HIDDEN" (implicit LE)."""
    item = bytes([0x09, 0x00, 0x12, 0x10]) + (6).to_bytes(4, "little") + b"HIDDEN"
    return (bytes([0x09, 0x00, 0x11, 0x10]) + b"UN\0\0" + b"\xff\xff\xff\xff"
            + bytes([0xFE, 0xFF, 0x00, 0xE0]) + b"\xff\xff\xff\xff" + item
            + bytes([0xFE, 0xFF, 0x0D, 0xE0]) + b"\0\0\0\0"
            + bytes([0xFE, 0xFF, 0xDD, 0xE0]) + b"\0\0\0\0")


def make_synthetic(expected):
    rng = np.random.default_rng(20240611)

    # Implicit VR LE CT with rescale and two windows.
    ds = base_dataset(ImplicitVRLittleEndian, instance="1")
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = [40, 400], [400, 1500]
    ds.PixelSpacing = [0.7, 0.8]
    set_pixels(ds, grey(rng, 1, 6, 7, 0, 4095, np.uint16), bits_stored=12)
    expected["implicit_le.dcm"] = describe(save(ds, "implicit_le.dcm"), ds)

    # Explicit VR LE with sequences and an UN sequence.
    ds = base_dataset(ExplicitVRLittleEndian, instance="2", modality="MR")
    sequences_dataset(ds)
    ds.PixelSpacing = [1.25, 1.25]
    set_pixels(ds, grey(rng, 1, 5, 4, 0, 65535, np.uint16))
    path = save(ds, "explicit_le.dcm")
    data = open(path, "rb").read()
    placeholder = bytes([0x09, 0x00, 0x11, 0x10]) + b"OB\0\0" + (4).to_bytes(4, "little") + b"UNSQ"
    assert data.count(placeholder) == 1
    open(path, "wb").write(data.replace(placeholder, un_sequence_bytes()))
    check = pydicom.dcmread(path)
    assert check[0x00091011].VR in ("SQ", "UN"), check[0x00091011].VR
    expected["explicit_le.dcm"] = describe(path, ds, extra={
        "referencedInstances": [UID_ROOT + "7.1", UID_ROOT + "7.2"], "anatomy": "Brain", "hidden": "HIDDEN"})

    # Explicit VR BE, signed 16-bit.
    ds = base_dataset(ExplicitVRBigEndian, instance="3", modality="MR")
    ds.WindowCenter, ds.WindowWidth = 0, 2000
    set_pixels(ds, grey(rng, 1, 4, 6, -32768, 32767, np.int16), signed=True)
    expected["explicit_be.dcm"] = describe(save(ds, "explicit_be.dcm"), ds)

    # Deflated explicit VR LE.
    ds = base_dataset(DeflatedExplicitVRLittleEndian, instance="4")
    ds.RescaleSlope, ds.RescaleIntercept = "0.5", "-10.25"
    set_pixels(ds, grey(rng, 1, 8, 8, 0, 1000, np.uint16))
    expected["deflated.dcm"] = describe(save(ds, "deflated.dcm"), ds)

    # Data sets without preamble or meta group.
    for name, syntax in [("no_meta_implicit.dcm", ImplicitVRLittleEndian), ("no_meta_explicit.dcm", ExplicitVRLittleEndian)]:
        ds = base_dataset(syntax, instance="5")
        set_pixels(ds, grey(rng, 1, 3, 5, 0, 255, np.uint8))
        path = os.path.join(OUT, name)
        plain = Dataset()
        plain.update(ds)
        plain.is_little_endian, plain.is_implicit_VR = True, syntax == ImplicitVRLittleEndian
        plain.save_as(path, write_like_original=True)
        entry = describe(path, ds, raw_override=planar_frames(np.frombuffer(ds.PixelData, np.uint8), ds))
        entry["transferSyntax"] = syntax
        expected[name] = entry

    # Signed 12-bit in 16: sign-extended, and with junk above High Bit.
    values = grey(rng, 1, 6, 5, -2048, 2047, np.int16)
    ds = base_dataset(ExplicitVRLittleEndian, instance="6")
    set_pixels(ds, values, bits_stored=12, signed=True)
    expected["signed12.dcm"] = describe(save(ds, "signed12.dcm"), ds)
    junk = ((values.view(np.uint16) & 0x0FFF) | (rng.integers(0, 16, values.shape).astype(np.uint16) << 12))
    ds = base_dataset(ExplicitVRLittleEndian, instance="7")
    set_pixels(ds, values, bits_stored=12, signed=True, stored=junk)
    masked = (junk & 0x0FFF).astype(np.int32)
    masked = np.where(masked >= 2048, masked - 4096, masked)
    assert np.array_equal(masked, values)
    expected["signed12_junk_high_bits.dcm"] = describe(save(ds, "signed12_junk_high_bits.dcm"), ds,
                                                       raw_override=planar_frames(masked, ds))

    # MONOCHROME1, 10 bits stored, rescaled.
    ds = base_dataset(ExplicitVRLittleEndian, instance="8", modality="CR")
    ds.RescaleSlope, ds.RescaleIntercept = 2, -100
    ds.WindowCenter, ds.WindowWidth = 700, 1200
    set_pixels(ds, grey(rng, 1, 5, 6, 0, 1023, np.uint16), bits_stored=10, photometric="MONOCHROME1")
    expected["mono1.dcm"] = describe(save(ds, "mono1.dcm"), ds)

    # RGB interleaved and planar.
    rgb = rng.integers(0, 256, size=(4, 5, 3)).astype(np.uint8)
    for planar in (0, 1):
        ds = base_dataset(ExplicitVRLittleEndian, sop_class=SECONDARY_CAPTURE, instance=f"9.{planar}", modality="OT")
        set_pixels(ds, rgb, photometric="RGB", planar=planar)
        name = f"rgb_planar{planar}.dcm"
        expected[name] = describe(save(ds, name), ds)

    # 32-bit and 8-bit grey.
    ds = base_dataset(ExplicitVRLittleEndian, instance="10")
    set_pixels(ds, grey(rng, 1, 3, 4, 0, 2**24, np.uint32))
    expected["uint32.dcm"] = describe(save(ds, "uint32.dcm"), ds)
    ds = base_dataset(ExplicitVRLittleEndian, instance="11")
    set_pixels(ds, grey(rng, 1, 4, 3, 0, 255, np.uint8))
    expected["uint8.dcm"] = describe(save(ds, "uint8.dcm"), ds)

    # Enhanced multi-frame with functional groups; RLE twins.
    ds = base_dataset(ExplicitVRLittleEndian, sop_class=ENHANCED_CT, instance="12")
    frames = grey(rng, 3, 6, 5, -1000, 3000, np.int16)
    set_pixels(ds, frames, signed=True)
    orientation = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]  # sagittal
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [0.5, 0.75]
    measures.SliceThickness = 3
    shared.PixelMeasuresSequence = Sequence([measures])
    plane = Dataset()
    plane.ImageOrientationPatient = orientation
    shared.PlaneOrientationSequence = Sequence([plane])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per_frame = []
    positions = [[10.0 - 3 * k, -20.0, 30.0] for k in range(3)]
    for k in range(3):
        group = Dataset()
        position = Dataset()
        position.ImagePositionPatient = positions[k]
        group.PlanePositionSequence = Sequence([position])
        transform = Dataset()
        transform.RescaleSlope, transform.RescaleIntercept = 1 + k, -1024
        group.PixelValueTransformationSequence = Sequence([transform])
        per_frame.append(group)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    step = np.subtract(positions[1], positions[0])
    geometry = {"affine": affine_ras(orientation, [0.5, 0.75], positions[0], step), "spacing": [0.75, 0.5, 3.0]}
    path = save(ds, "multiframe.dcm")
    expected["multiframe.dcm"] = describe(path, ds, extra=geometry)
    rle = pydicom.dcmread(path)
    rle.compress(RLELossless)
    expected["multiframe_rle.dcm"] = describe(save(rle, "multiframe_rle.dcm"), rle, extra=geometry)
    no_bot = pydicom.dcmread(path)
    no_bot.compress(RLELossless)
    encoded = [f for f in pydicom.encaps.generate_pixel_data_frame(no_bot.PixelData, 3)]
    no_bot.PixelData = encapsulate(encoded, has_bot=False)
    expected["multiframe_rle_no_bot.dcm"] = describe(save(no_bot, "multiframe_rle_no_bot.dcm"), no_bot, extra=geometry)

    ds = base_dataset(ExplicitVRLittleEndian, sop_class=SECONDARY_CAPTURE, instance="13", modality="OT")
    set_pixels(ds, rng.integers(0, 256, size=(2, 4, 6, 3)).astype(np.uint8), photometric="RGB")
    ds.compress(RLELossless)
    expected["rgb_rle.dcm"] = describe(save(ds, "rgb_rle.dcm"), ds)

    # A cine-like multi-frame file: one top-level position and orientation for every frame.
    ds = base_dataset(ExplicitVRLittleEndian, instance="14", modality="MR")
    set_pixels(ds, grey(rng, 4, 5, 6, 0, 900, np.uint16))
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.ImagePositionPatient = [-40.0, 12.5, 7.0]
    ds.PixelSpacing = [0.9, 1.1]
    ds.SliceThickness = 2
    cine = {"affine": affine_ras(ds.ImageOrientationPatient, [0.9, 1.1], [-40.0, 12.5, 7.0], [0.0, 0.0, 2.0]),
            "spacing": [1.1, 0.9, 2.0]}
    expected["multiframe_one_position.dcm"] = describe(save(ds, "multiframe_one_position.dcm"), ds, extra=cine)


def make_series(expected):
    rng = np.random.default_rng(7)
    folder = os.path.join(OUT, "series")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    angle = np.deg2rad(10)
    row = [np.cos(angle), np.sin(angle), 0.0]
    col = [0.0, 0.0, -1.0]
    normal = np.cross(row, col)
    origin = np.array([-40.0, 12.5, 60.0])
    spacing = [0.9, 1.1]
    slices = grey(rng, 5, 4, 6, -1024, 2000, np.int16)
    names = [f"IM{n:04d}" for n in (3, 0, 4, 1, 2)]  # slice k is written to names[k]: not in name order
    for k in range(5):
        ds = base_dataset(ExplicitVRLittleEndian, instance=f"20.{k + 1}")
        ds.SeriesInstanceUID = UID_ROOT + "2.1"
        ds.SeriesDescription = "Synthetic oblique CT"
        ds.InstanceNumber = 5 - k
        ds.ImageOrientationPatient = [float(f"{v:.6f}") for v in row + col]
        ds.ImagePositionPatient = [float(f"{v:.4f}") for v in origin + 2.5 * k * normal]
        ds.PixelSpacing = spacing
        ds.SliceThickness = 2.5
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        set_pixels(ds, slices[k] + 1024, signed=True)
        save(ds, os.path.join("series", names[k]))
    with open(os.path.join(folder, "notes.txt"), "w") as text:
        text.write("Not a DICOM file: the series reader must skip it.\n")
    first = pydicom.dcmread(os.path.join(folder, names[0]))
    last = pydicom.dcmread(os.path.join(folder, names[4]))
    iop = [float(v) for v in first.ImageOrientationPatient]
    p0 = np.array([float(v) for v in first.ImagePositionPatient])
    p4 = np.array([float(v) for v in last.ImagePositionPatient])
    step = (p4 - p0) / 4
    voxels = np.stack([pydicom.dcmread(os.path.join(folder, names[k])).pixel_array.astype(np.float64) - 1024
                       for k in range(5)])
    expected["series"] = {
        "size": [6, 4, 5], "voxels": [float(v) for v in voxels.astype(np.float32).flatten()],
        "spacing": [spacing[1], spacing[0], float(np.linalg.norm(step))],
        "affine": affine_ras(iop, spacing, p0, step), "sliceFiles": names,
    }

    ds = base_dataset(ExplicitVRLittleEndian, instance="21")
    ds.SeriesInstanceUID = UID_ROOT + "3.1"
    ds.ImageOrientationPatient, ds.ImagePositionPatient, ds.PixelSpacing = [1, 0, 0, 0, 1, 0], [0, 0, 0], [1, 1]
    set_pixels(ds, grey(rng, 1, 4, 6, 0, 100, np.int16), signed=True)
    save(ds, "other_series_slice.dcm")
    ds = pydicom.dcmread(os.path.join(folder, names[2]))
    ds.SOPInstanceUID = UID_ROOT + "22"
    ds.ImagePositionPatient = [float(v) + 50 for v in ds.ImagePositionPatient]
    set_pixels(ds, grey(rng, 1, 3, 6, 0, 100, np.int16), signed=True)
    save(ds, "series_mismatch_rows.dcm")


def display_of(ds):
    """pydicom's RGB for a YBR_FULL(_422) or PALETTE COLOR data set, float32 [frames, 3, rows, columns]."""
    arr = ds.pixel_array
    if ds.PhotometricInterpretation == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
    else:
        rgb = convert_color_space(arr, "YBR_FULL", "RGB")
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    return rgb.reshape(frames, ds.Rows, ds.Columns, 3).transpose(0, 3, 1, 2).astype(np.float32)


def palette_dataset(instance, indices, descriptor, tables, signed, syntax=ExplicitVRLittleEndian):
    """A PALETTE COLOR data set of `indices`; `tables` (red, green, blue) are uint8 or uint16 arrays."""
    ds = base_dataset(syntax, sop_class=SECONDARY_CAPTURE, instance=instance, modality="OT")
    set_pixels(ds, indices, signed=signed, photometric="PALETTE COLOR")
    for colour, table in zip(("Red", "Green", "Blue"), tables):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", descriptor)
        setattr(ds, f"{colour}PaletteColorLookupTableData", np.asarray(table).astype(table.dtype.newbyteorder("<")).tobytes())
    return ds


def make_colour(expected):
    rng = np.random.default_rng(20240614)

    def ybr(frames, rows, columns):
        arr = rng.integers(0, 256, size=(frames, rows, columns, 3)).astype(np.uint8)
        arr[0, 0, 0], arr[0, 0, 1], arr[0, 1, 0] = [0, 255, 255], [255, 0, 0], [128, 128, 128]
        return arr[0] if frames == 1 else arr

    def add(ds, name, display=True):
        path = save(ds, name)
        entry = describe(path, ds)
        entry["display"] = [float(v) for v in display_of(pydicom.dcmread(path)).flatten()] if display else None
        expected[name] = entry

    ds = base_dataset(ExplicitVRLittleEndian, sop_class=SECONDARY_CAPTURE, instance="30", modality="OT")
    set_pixels(ds, ybr(1, 6, 7), photometric="YBR_FULL")
    add(ds, "ybr_full.dcm")
    ds = base_dataset(ExplicitVRLittleEndian, sop_class=SECONDARY_CAPTURE, instance="31", modality="OT")
    set_pixels(ds, ybr(2, 5, 4), photometric="YBR_FULL")
    ds.compress(RLELossless)
    add(ds, "ybr_full_rle.dcm")
    ds = base_dataset(ExplicitVRLittleEndian, sop_class=SECONDARY_CAPTURE, instance="32", modality="OT")
    set_pixels(ds, ybr(1, 4, 6), photometric="YBR_FULL")
    ds.compress(RLELossless)
    ds.PhotometricInterpretation = "YBR_FULL_422"
    add(ds, "ybr_full_422_rle.dcm")

    tables16 = rng.integers(0, 65536, size=(3, 64)).astype(np.uint16)
    ds = palette_dataset("33", grey(rng, 1, 6, 5, -50, 50, np.int16), [64, -32, 16], tables16, signed=True,
                         syntax=ImplicitVRLittleEndian)
    add(ds, "palette_lut16.dcm")
    tables8 = rng.integers(0, 256, size=(3, 200)).astype(np.uint8)
    ds = palette_dataset("34", grey(rng, 2, 5, 6, 950, 1255, np.uint16), [200, 1000, 8], tables8, signed=False)
    add(ds, "palette_lut8.dcm")

    ds = palette_dataset("35", grey(rng, 1, 3, 4, 0, 20, np.uint8), [21, 0, 16], tables16[:, :21], signed=False)
    for colour in ("Red", "Green", "Blue"):
        delattr(ds, f"{colour}PaletteColorLookupTableData")
        # One discrete segment (opcode 0) of 21 entries.
        segment = np.concatenate([[0, 21], rng.integers(0, 65536, 21)]).astype("<u2")
        setattr(ds, f"Segmented{colour}PaletteColorLookupTableData", segment.tobytes())
    add(ds, "palette_segmented.dcm", display=False)
    ds = palette_dataset("36", grey(rng, 1, 3, 4, 0, 20, np.uint8), [100, 0, 16], tables16[:, :20], signed=False)
    add(ds, "palette_bad_descriptor.dcm", display=False)


def make_colour_asset_expectations():
    files = {}
    for name in ["SC_ybr_full_uncompressed.dcm", "OT-PAL-8-face.dcm"]:
        ds = pydicom.dcmread(os.path.join(ASSETS, name), force=True)
        if "TransferSyntaxUID" not in ds.file_meta:  # OT-PAL-8-face.dcm: a bare implicit VR LE data set
            assert ds.is_implicit_VR and ds.is_little_endian
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        display = display_of(ds)
        flat = display.flatten()
        picks = sorted({0, flat.size - 1, flat.size // 2, flat.size // 3, (7 * flat.size) // 11, (5 * flat.size) // 13})
        files[name] = {
            "shape": list(display.shape), "sha256": hashlib.sha256(np.ascontiguousarray(display, dtype="<f4").tobytes()).hexdigest(),
            "min": float(display.min()), "max": float(display.max()),
            "samples": {str(i): float(flat[i]) for i in picks},
            "bitDepth": 8 * apply_color_lut(ds.pixel_array[:1, :1], ds).itemsize
                        if ds.PhotometricInterpretation == "PALETTE COLOR" else 8,
        }
    cube = np.arange(2 ** 24, dtype=np.uint32)
    ybr = np.stack([cube >> 16, (cube >> 8) & 255, cube & 255], -1).astype(np.uint8).reshape(4096, 4096, 3)
    rgb = convert_color_space(ybr, "YBR_FULL", "RGB").reshape(-1, 3)
    return {"files": files, "ybrCubeSHA256": hashlib.sha256(np.ascontiguousarray(rgb.T).tobytes()).hexdigest()}


def array_summary(raw, values):
    flat = raw.flatten()
    picks = sorted({0, flat.size - 1, flat.size // 2, flat.size // 3, (7 * flat.size) // 11})
    sha = lambda a: hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()
    return {
        "shape": list(raw.shape),
        "rawSHA256": sha(raw), "rawMin": float(raw.min()), "rawMax": float(raw.max()),
        "samples": {str(i): float(flat[i]) for i in picks},
        "valuesSHA256": sha(values), "valuesMin": float(values.min()), "valuesMax": float(values.max()),
    }


def make_asset_expectations():
    names = ["CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm",
             "MR_small_expb.dcm", "MR_small_padded.dcm", "ExplVR_BigEnd.dcm", "emri_small.dcm", "emri_small_RLE.dcm",
             "emri_small_big_endian.dcm", "RG1_UNCR.dcm", "MR2_UNCR.dcm", "SC_rgb.dcm", "SC_rgb_expb.dcm",
             "SC_rgb_rle.dcm", "SC_rgb_rle_16bit.dcm", "OBXXXX1A_rle.dcm", "liver_1frame.dcm"]
    expected = {}
    for name in names:
        ds = pydicom.dcmread(os.path.join(ASSETS, name))
        raw = planar_frames(ds.pixel_array, ds)
        entry = array_summary(raw, modality_values(raw, ds))
        entry["window"] = window_of(ds)
        entry["transferSyntax"] = str(ds.file_meta.TransferSyntaxUID)
        expected[name] = entry
    return expected


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.endswith(".dcm") or name.endswith(".json"):
            os.remove(os.path.join(OUT, name))
    expected = {}
    make_synthetic(expected)
    make_series(expected)
    make_colour(expected)
    with open(os.path.join(OUT, "expected.json"), "w") as out:
        json.dump(expected, out, indent=1, sort_keys=True)
    if os.path.isdir(ASSETS):
        with open(os.path.join(OUT, "expected_assets.json"), "w") as out:
            json.dump(make_asset_expectations(), out, indent=1, sort_keys=True)
        with open(os.path.join(OUT, "expected_colour_assets.json"), "w") as out:
            json.dump(make_colour_asset_expectations(), out, indent=1, sort_keys=True)
    else:
        sys.exit(f"{ASSETS} is missing: run `make test` once to fetch the real files, then rerun")


if __name__ == "__main__":
    main()
