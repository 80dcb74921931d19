"""Extracts the real DICOM and NIfTI test files RadProbe's tests read from the wheels `make test` downloads.

    python3 scripts/extract_imaging_assets.py PYDICOM_WHEEL NIBABEL_WHEEL PYDICOM_DATA_WHEEL OUT_DIR

Every file lands flat in OUT_DIR under its own name (e.g. OUT_DIR/CT_small.dcm). Standard library only.
"""
import os
import sys
import zipfile

WANTED = {
    # pydicom 2.4.4's test files
    0: ["CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm",
        "MR_small_expb.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_padded.dcm",
        "MR_truncated.dcm", "ExplVR_BigEnd.dcm", "SC_rgb_rle.dcm", "SC_rgb_rle_16bit.dcm", "no_meta.dcm",
        "rtplan.dcm", "liver_1frame.dcm", "SC_ybr_full_422_uncompressed.dcm"],
    # nibabel 5.2.1's test data
    1: ["anatomical.nii", "example4d.nii.gz", "example_nifti2.nii.gz", "functional.nii", "standard.nii.gz"],
    # pydicom-data 1.0.0
    2: ["RG1_UNCR.dcm", "emri_small.dcm", "emri_small_RLE.dcm", "emri_small_big_endian.dcm",
        "emri_small_jpeg_2k_lossless.dcm", "emri_small_jpeg_ls_lossless.dcm", "SC_rgb.dcm", "SC_rgb_expb.dcm",
        "OBXXXX1A_rle.dcm", "MR2_UNCR.dcm", "SC_ybr_full_uncompressed.dcm", "OT-PAL-8-face.dcm"],
}


def main() -> None:
    wheels, out = sys.argv[1:4], sys.argv[4]
    os.makedirs(out, exist_ok=True)
    for index, wheel in enumerate(wheels):
        with zipfile.ZipFile(wheel) as archive:
            by_name = {os.path.basename(n): n for n in archive.namelist()}
            for name in WANTED[index]:
                if name not in by_name:
                    sys.exit(f"{wheel}: has no {name}")
                with archive.open(by_name[name]) as src, open(os.path.join(out, name), "wb") as dst:
                    dst.write(src.read())


if __name__ == "__main__":
    main()
