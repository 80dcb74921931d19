#!/usr/bin/env bash
# Builds and runs RadProbe's libFuzzer harnesses (the Fuzz/ package; see docs/robustness.md).
#
#   scripts/fuzz.sh FORMAT|all [SECONDS] [libFuzzer options…]   fuzz one format (or every enabled one)
#   scripts/fuzz.sh minimize FORMAT CRASH_FILE                   shrink a crashing input to FORMAT's
#                                                                regression folder
#   scripts/fuzz.sh replay FORMAT FILE…                          run the harness once on each FILE
#
# FORMAT is one of the formats below. SECONDS (default 300) is the run's -max_total_time.
# Harnesses are debug builds with libFuzzer and AddressSanitizer: Swift's bounds and overflow checks
# stay on, so a trap is a crash the fuzzer reports. Seeds come from Tests/Fixtures/imaging/<folder>/ and,
# when `make test` has fetched them, small files in assets/imaging/. The growing corpus, crash
# inputs and logs live in Fuzz/.build-runs/{corpus,crashes,logs}/FORMAT/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ=$ROOT/Fuzz
BUILD=$FUZZ/.build        # SwiftPM's scratch folder
WORK=$FUZZ/.build-runs    # seeds, corpora, crashes, logs (SwiftPM empties some folders of its own)
SWIFT=${SWIFT:-swift}

# format:harness product:fixture folder:seed file patterns:largest generated input (bytes).
# A harness builds only when its format is in `enabledHarnesses` in Fuzz/Package.swift.
FORMATS=(
  "png:FuzzPNG:png:*.png:16384"
  "jpeg:FuzzJPEG:jpeg:*.jpg *.jpeg:16384"
  "nifti:FuzzNIfTI:nifti:*.nii *.nii.gz:65536"
  "dicom:FuzzDICOM:dicom:*.dcm:65536"
  "mat:FuzzMAT:mat:*.mat:65536"
)
SEED_ASSET_LIMIT=102400   # assets larger than this are not used as seeds (they slow every iteration)
# LeakSanitizer is off (in libFuzzer and at exit): Swift packs object pointers into enum payloads
# (Data's storage among them), where it cannot see them, so it reports live Swift objects as leaked.
# An impossible malloc returns NULL, as it does without ASan, instead of aborting: the C libraries
# (libhdf5 asks for 2^56 bytes on some corrupt files) handle NULL as an error. A Swift allocation that
# fails still traps, and libFuzzer still reports any single malloc over -rss_limit_mb as out-of-memory.
LIBFUZZER_COMMON=(-detect_leaks=0)
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=0}

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# Sets HARNESS, FOLDER, PATTERNS, MAX_LEN for format $1.
lookup() {
  local entry
  for entry in "${FORMATS[@]}"; do
    IFS=: read -r name HARNESS FOLDER PATTERNS MAX_LEN <<<"$entry"
    [[ $name == "$1" ]] && return 0
  done
  echo "unknown format '$1' (known: $(formats_known))" >&2; exit 2
}
formats_known() { local e; for e in "${FORMATS[@]}"; do printf '%s ' "${e%%:*}"; done; }
is_enabled() { grep -E '^let enabledHarnesses' "$FUZZ/Package.swift" | grep -q "\"${1#Fuzz}\""; }

build() {
  is_enabled "$HARNESS" || {
    echo "$HARNESS is not enabled: add \"${HARNESS#Fuzz}\" to enabledHarnesses in Fuzz/Package.swift" >&2; exit 1; }
  # swiftc keeps only the last -sanitize= option, so both sanitizers go in one -Xswiftc; SwiftPM's own
  # --sanitize fuzzer makes it link the executable with libFuzzer's main and instrument C targets,
  # to which -Xcc adds ASan.
  mkdir -p "$WORK/logs"
  local log=$WORK/logs/build-$HARNESS.log
  echo "building $HARNESS (log: $log)"
  "$SWIFT" build --package-path "$FUZZ" --scratch-path "$BUILD" -c debug \
    --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address -Xswiftc -parse-as-library \
    --product "$HARNESS" >"$log" 2>&1 || { grep -E "error|warning:" "$log" >&2; exit 1; }
  BINARY=$BUILD/debug/$HARNESS
}

# Fills $WORK/seeds/FORMAT with the fixture (and small asset) files that match the format's patterns.
collect_seeds() {
  SEEDS=$WORK/seeds/$1
  rm -rf "$SEEDS" && mkdir -p "$SEEDS"
  local pattern file
  for pattern in $PATTERNS; do
    for file in "$ROOT/Tests/Fixtures/imaging/$FOLDER"/$pattern "$ROOT/Tests/Fixtures/imaging/fuzz/$1"/*; do
      if [[ -f $file ]]; then cp "$file" "$SEEDS/"; fi
    done
    for file in "$ROOT/assets/imaging"/$pattern; do
      if [[ -f $file && $(stat -c %s "$file") -le $SEED_ASSET_LIMIT ]]; then cp "$file" "$SEEDS/"; fi
    done
  done
}

fuzz() {
  local format=$1 seconds=$2; shift 2
  lookup "$format"; build; collect_seeds "$format"
  local corpus=$WORK/corpus/$format artifacts=$WORK/crashes/$format log=$WORK/logs/$format.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  local dict=()
  if [[ -f $FUZZ/dictionaries/$format.dict ]]; then dict=(-dict="$FUZZ/dictionaries/$format.dict"); fi
  echo "fuzzing $format for ${seconds}s: corpus $corpus, seeds $SEEDS ($(ls "$SEEDS" | wc -l) files), log $log"
  local status=0
  "$BINARY" -max_total_time="$seconds" -max_len="$MAX_LEN" \
    -rss_limit_mb=2048 -timeout=30 "${LIBFUZZER_COMMON[@]}" -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "$@" \
    "$corpus" "$SEEDS" >"$log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|peak_rss_mb)|^SUMMARY|^==[0-9]+==ERROR|Fatal error' "$log" || true
  echo "$format: corpus $(ls "$corpus" | wc -l) files; crash artifacts: $(ls "$artifacts" | wc -l) in $artifacts"
  return $status
}

minimize() {
  lookup "$1"; build
  local out=$ROOT/Tests/Fixtures/imaging/fuzz/$1
  mkdir -p "$out"
  local target=$out/$(basename "$2")
  if [[ -e $target ]]; then echo "$target already exists" >&2; exit 1; fi
  "$BINARY" "${LIBFUZZER_COMMON[@]}" -minimize_crash=1 -max_total_time=60 \
    -exact_artifact_path="$target" "$2" >"$WORK/logs/minimize-$1.log" 2>&1 || true
  if [[ -f $target ]]; then
    echo "kept $(stat -c %s "$target") bytes in $target (log: $WORK/logs/minimize-$1.log)"
  else
    echo "$2 did not crash the $1 harness: nothing kept (log: $WORK/logs/minimize-$1.log)" >&2; exit 1
  fi
}

[[ $# -ge 1 ]] || usage
case $1 in
  minimize) [[ $# -eq 3 ]] || usage; minimize "$2" "$3" ;;
  replay)   [[ $# -ge 3 ]] || usage; lookup "$2"; build; shift 2
            "$BINARY" "${LIBFUZZER_COMMON[@]}" "$@" ;;
  all)      seconds=${2:-300}; failed=0
            for entry in "${FORMATS[@]}"; do
              IFS=: read -r name harness _ <<<"$entry"
              if is_enabled "$harness"; then fuzz "$name" "$seconds" "${@:3}" || failed=1
              else echo "skipping $name: $harness is not enabled in Fuzz/Package.swift"; fi
            done
            exit $failed ;;
  -h|--help) usage ;;
  *)        fuzz "$1" "${2:-300}" "${@:3}" ;;
esac
