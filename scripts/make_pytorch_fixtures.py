#!/usr/bin/python3
"""Write the small PyTorch checkpoint fixtures for RadProbe's `PyTorchCheckpoint` tests.

Run with Debian's Python, which has torch 1.13 (the default ``python3`` on PATH has no torch)::

    /usr/bin/python3 scripts/make_pytorch_fixtures.py          # writes Tests/Fixtures/pytorch/

Everything written is a few KB. Files (``Tests/Fixtures/pytorch/``):

``weird_root.pth``
    ``torch.save(sd, "weird_root.pth")``: zip format (the default). torch 1.13 names the zip's root
    folder after the file's stem, so the entries are ``weird_root/data.pkl``, ``weird_root/data/<key>``.
    ``sd`` (see ``state_dict``) holds float32, float16, bfloat16, float64, int64, int32, int16, int8,
    uint8 and bool tensors; a transposed (non-contiguous) tensor; a tensor sharing a storage with
    another one at an element offset; strided slices (one with an offset); a stride-0 expanded tensor;
    a 0-d scalar; an empty tensor and an ``nn.Parameter``.
``legacy.pth``
    The same ``sd`` saved with ``_use_new_zipfile_serialization=False`` (the pre-1.6 non-zip layout).
``zip64_archive_root.pth``
    The entries of ``weird_root.pth`` re-packed under the root ``archive/`` by ``write_zip`` below with
    every ZIP64 record (ZIP64 extra fields with 0xFFFFFFFF placeholders in the local and central
    headers, ZIP64 end-of-central-directory record and locator, 0xFFFF/0xFFFFFFFF in the classic end
    record), and without torch's 64-byte data alignment.
``nested.pth``
    A training-style checkpoint: dicts of tensors nested under ``teacher``/``student``/``model.module``
    plus non-tensor values (ints, a string, a float, a list, a dict without tensors) that a reader
    ignores. Expected keys are the dotted paths, e.g. ``teacher.backbone.cls_token``.
``forbidden_global.pth``
    A zip whose hand-built ``forbidden_global/data.pkl`` asks for the global ``os.system`` and calls it
    with ``touch /tmp/radprobe_forbidden_global_sentinel``. It is only written, never loaded.
``missing_storage.pth``
    ``weird_root.pth`` without its ``weird_root/data/0`` entry.
``short_storage.pth``
    ``weird_root.pth`` with ``weird_root/data/<key of f32>`` cut to fewer bytes than the tensor needs.
``big_endian.pth``
    ``weird_root.pth``'s entries under the root ``big_endian/`` with every storage byte-swapped and a
    ``big_endian/byteorder`` entry saying ``big`` (how torch >= 2.1 marks a file saved on a
    big-endian host; torch 1.13 itself neither writes nor reads that entry).
``compressed.pth``
    ``weird_root.pth``'s entries re-packed with DEFLATE (torch never writes that; readers refuse it).
``expected.json``
    For every readable file: each tensor's dtype, shape, stride, storage offset and its values as the
    reader must produce them -- converted to float32 exactly as torch's ``.to(torch.float32)`` does --
    given as uint32 bit patterns (``bits``) so that the comparison is exact (inf, -0.0, subnormals).

A truncated checkpoint and a text file with the wrong magic are made by the Swift tests themselves.
"""
import collections
import io
import json
import pickle
import os
import shutil
import struct
import sys
import tempfile
import zipfile
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "pytorch")
SENTINEL = "/tmp/radprobe_forbidden_global_sentinel"


def state_dict():
    """The flat state dict saved in zip, legacy and ZIP64 flavours."""
    g = torch.Generator().manual_seed(20240531)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(2, 3, generator=g)
    # float16 corner cases: max, subnormals, infinities, signed zero, a value needing rounding.
    sd["f16"] = torch.tensor(
        [1.0, -2.5, 65504.0, 6.0e-8, -3.0e-5, float("inf"), float("-inf"), -0.0, 0.333], dtype=torch.float16
    )
    sd["bf16"] = (torch.randn(2, 2, generator=g) * 100).to(torch.bfloat16)
    # float64 values that round when narrowed to float32 (and one that overflows, one that underflows).
    sd["f64"] = torch.tensor([1.0 / 3.0, -123456.789012345, 2.5e-40, 1e300, -1e-50], dtype=torch.float64)
    # int64: 2**24 + 1 is not a float32 (rounds to even), large and negative values.
    sd["i64"] = torch.tensor([0, -1, 2**24 + 1, 2**40 + 3, -(2**62)], dtype=torch.int64)
    sd["i32"] = torch.tensor([[7, -8], [2**31 - 1, -(2**31)]], dtype=torch.int32)
    sd["i16"] = torch.tensor([-32768, 32767, 5], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 127, -1], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 255, 17], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    # Non-contiguous: a transposed matrix saved as-is, stride (1, 4).
    sd["transposed"] = torch.randn(3, 4, generator=g).t()
    # Two tensors sharing one storage; the view starts at element 3.
    base = torch.randn(10, generator=g)
    sd["shared_base"] = base
    sd["shared_view"] = base[3:9].view(2, 3)
    # Strided slices of one storage: stride (6, 2) offset 0, and stride (6, 3) offset 7.
    grid = torch.randn(4, 6, generator=g)
    sd["strided"] = grid[:, ::2]
    sd["strided_offset"] = grid[1:, 1::3]
    # Stride 0: broadcast column, stride (1, 0).
    sd["expanded"] = torch.randn(3, 1, generator=g).expand(3, 4)
    sd["scalar"] = torch.tensor(3.25)
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.randn(3, generator=g))
    assert not sd["transposed"].is_contiguous()
    assert sd["shared_view"].storage_offset() == 3
    assert sd["shared_view"].storage().data_ptr() == sd["shared_base"].storage().data_ptr()
    assert sd["strided_offset"].storage_offset() == 7
    assert sd["expanded"].stride() == (1, 0)
    return sd


def nested_checkpoint():
    g = torch.Generator().manual_seed(7)
    return {
        "teacher": collections.OrderedDict(
            [
                ("backbone.cls_token", torch.randn(1, 1, 4, generator=g)),
                ("backbone.blocks.0.norm1.weight", torch.randn(4, generator=g)),
            ]
        ),
        "student": {"backbone.cls_token": torch.randn(1, 1, 4, generator=g)},
        "model": {"module": {"head.weight": torch.randn(2, 4, generator=g).half()}},
        "iteration": 12499,
        "config": "vit_small",
        "lr": 0.5,
        "flags": [1, 2, 3],
        "meta": {"note": "no tensors in here", "epoch": 3},
    }


def flatten(obj, prefix=""):
    """The documented reader rule: dotted paths through nested dicts; non-tensor values dropped."""
    out = collections.OrderedDict()
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            out[prefix + str(k)] = v
        elif isinstance(v, dict):
            out.update(flatten(v, prefix + str(k) + "."))
    return out


def describe(t):
    t = t.detach()
    as_float = t.to(torch.float32).contiguous()
    bits = as_float.numpy().view("<u4").reshape(-1).tolist()
    return {
        "dtype": str(t.dtype).replace("torch.", ""),
        "shape": list(t.shape),
        "stride": list(t.stride()),
        "storage_offset": t.storage_offset(),
        "bits": bits,
    }


def write_zip(path, entries, zip64):
    """A minimal STORED zip writer; with `zip64` every ZIP64 record and placeholder is used."""
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        name_b = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        if zip64:
            local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(name_b), len(local_extra))
            out += name_b + local_extra
        else:
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, len(data), len(data), len(name_b), 0)
            out += name_b
        out += data
        if zip64:
            extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
                                   0xFFFFFFFF, len(name_b), len(extra), 0, 0, 0, 0, 0xFFFFFFFF)
            central += name_b + extra
        else:
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc, len(data), len(data),
                                   len(name_b), 0, 0, 0, 0, 0, offset)
            central += name_b
    cd_offset = len(out)
    out += central
    if zip64:
        eocd64_offset = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central),
                           cd_offset)
        out += struct.pack("<IIQI", 0x07064B50, 0, eocd64_offset, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_offset, 0)
    with open(path, "wb") as f:
        f.write(out)


def storage_types(data_pkl):
    """Storage key -> storage type name of a torch.save data.pkl, read without importing anything."""
    types = {}

    class Marker:
        def __init__(self, name):
            self.name = name

        def __call__(self, *args):  # REDUCE on an allow-listed name: a dict for OrderedDict, else nothing
            return {} if self.name == "OrderedDict" else None

    class Reader(pickle.Unpickler):
        def find_class(self, module, name):
            assert module in ("collections", "torch._utils", "torch"), (module, name)
            return Marker(name)

        def persistent_load(self, pid):
            types[pid[2]] = pid[1].name
            return None

    Reader(io.BytesIO(data_pkl)).load()
    return types


def forbidden_pickle():
    """Protocol 2 pickle of `os.system("touch <SENTINEL>")`, assembled opcode by opcode."""
    command = ("touch " + SENTINEL).encode()
    return (
        b"\x80\x02"  # PROTO 2
        + b"cos\nsystem\n"  # GLOBAL os.system
        + b"q\x00"  # BINPUT 0
        + b"X" + struct.pack("<I", len(command)) + command  # BINUNICODE
        + b"\x85"  # TUPLE1
        + b"R"  # REDUCE: os.system(command)
        + b"q\x01"  # BINPUT 1
        + b"."  # STOP
    )


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    expected = {
        "generator": "scripts/make_pytorch_fixtures.py",
        "torch_version": torch.__version__,
        "python_version": sys.version.split()[0],
        "note": "bits: float32 bit patterns (uint32) of each tensor after .to(torch.float32), row-major",
        "files": {},
    }

    sd = state_dict()
    flat_expected = {k: describe(v) for k, v in sd.items()}

    zip_path = os.path.join(OUT, "weird_root.pth")
    torch.save(sd, zip_path)
    with zipfile.ZipFile(zip_path) as z:
        zip_entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    root = zip_entries[0][0].split("/")[0]
    assert root == "weird_root", root
    expected["files"]["weird_root.pth"] = {"format": "zip", "root": root, "tensors": flat_expected}

    legacy_path = os.path.join(OUT, "legacy.pth")
    torch.save(sd, legacy_path, _use_new_zipfile_serialization=False)
    assert not zipfile.is_zipfile(legacy_path)
    expected["files"]["legacy.pth"] = {"format": "legacy", "tensors": flat_expected}

    renamed = [("archive/" + name.split("/", 1)[1], data) for name, data in zip_entries]
    zip64_path = os.path.join(OUT, "zip64_archive_root.pth")
    write_zip(zip64_path, renamed, zip64=True)
    expected["files"]["zip64_archive_root.pth"] = {"format": "zip64", "root": "archive", "tensors": flat_expected}

    nested = nested_checkpoint()
    nested_path = os.path.join(OUT, "nested.pth")
    torch.save(nested, nested_path)
    expected["files"]["nested.pth"] = {
        "format": "zip",
        "tensors": {k: describe(v) for k, v in flatten(nested).items()},
    }

    # Big-endian storages, flagged the way torch >= 2.1 does it: a <root>/byteorder entry saying "big".
    types = storage_types(dict(zip_entries)[root + "/data.pkl"])
    swapped = [("big_endian/byteorder", b"big")]
    for name, data in zip_entries:
        key = name.split("/data/", 1)[1] if "/data/" in name else None
        if key is not None:
            size = torch.tensor([], dtype=getattr(torch, types[key]).dtype).element_size()
            data = b"".join(data[i : i + size][::-1] for i in range(0, len(data), size))
        swapped.append(("big_endian/" + name.split("/", 1)[1], data))
    write_zip(os.path.join(OUT, "big_endian.pth"), swapped, False)
    expected["files"]["big_endian.pth"] = {"format": "zip, byteorder big", "root": "big_endian", "tensors": flat_expected}

    # Damaged variants of weird_root.pth.
    write_zip(os.path.join(OUT, "missing_storage.pth"), [e for e in zip_entries if e[0] != root + "/data/0"], False)
    # The storage key of "f32" is not exposed by torch.save; find its entry by content.
    f32_bytes = sd["f32"].numpy().tobytes()
    f32_entry = [name for name, data in zip_entries if data == f32_bytes]
    assert len(f32_entry) == 1, f32_entry
    short = [(n, d[:10] if n == f32_entry[0] else d) for n, d in zip_entries]
    write_zip(os.path.join(OUT, "short_storage.pth"), short, False)
    expected["damaged"] = {
        "missing_storage.pth": root + "/data/0",
        "short_storage.pth": f32_entry[0],
        "short_storage_tensor": "f32",
    }
    with zipfile.ZipFile(os.path.join(OUT, "compressed.pth"), "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in zip_entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=zipfile.ZIP_DEFLATED)

    # A checkpoint asking for os.system: written, never loaded.
    write_zip(
        os.path.join(OUT, "forbidden_global.pth"),
        [("forbidden_global/data.pkl", forbidden_pickle()), ("forbidden_global/version", b"3\n")],
        False,
    )
    expected["forbidden_global_sentinel"] = SENTINEL

    # Self-checks with torch itself (never on forbidden_global.pth).
    for name in ("weird_root.pth", "legacy.pth", "zip64_archive_root.pth"):
        loaded = torch.load(os.path.join(OUT, name))
        assert list(loaded.keys()) == list(sd.keys()), name
        for k, v in sd.items():
            assert torch.equal(loaded[k], v.detach()), (name, k)
    with tempfile.TemporaryDirectory() as tmp:
        # zip64 file loads with Python's zipfile too
        with zipfile.ZipFile(zip64_path) as z:
            assert z.testzip() is None
            z.extractall(tmp)

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    for name in sorted(os.listdir(OUT)):
        print(f"{os.path.getsize(os.path.join(OUT, name)):8d}  {name}")


if __name__ == "__main__":
    main()
