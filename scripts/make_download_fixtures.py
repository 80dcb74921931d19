#!/usr/bin/python3
"""Write the SHA-256 parity fixture for RadProbe's `ModelDownloads` tests (``Tests/Fixtures/downloads/``).

``seeded.bin`` holds 100003 bytes (not a multiple of SHA-256's 64-byte block, so padding is exercised)
drawn from SplitMix64 seeded with 2024 (``scripts/seeded_generator.py``), each output's 8 bytes
little-endian; ``seeded.bin.sha256`` holds the digest Python's ``hashlib.sha256`` gives for the file,
in ``sha256sum`` format. The tests hash the file with OpenSSL through ``SHA256Digest`` and compare.

Run with Debian's python3 from the package root::

    /usr/bin/python3 scripts/make_download_fixtures.py
"""
import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seeded_generator import SeededGenerator  # noqa: E402

LENGTH = 100003
folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "downloads")
os.makedirs(folder, exist_ok=True)
generator = SeededGenerator(2024)
payload = b"".join(struct.pack("<Q", generator.next()) for _ in range((LENGTH + 7) // 8))[:LENGTH]
with open(os.path.join(folder, "seeded.bin"), "wb") as file:
    file.write(payload)
with open(os.path.join(folder, "seeded.bin.sha256"), "w") as file:
    file.write(f"{hashlib.sha256(payload).hexdigest()}  seeded.bin\n")
