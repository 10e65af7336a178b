#!/usr/bin/env bash
# Builds and runs one libFuzzer target (or all of them) on its corpus.
#
#   tools/fuzz.sh TARGET [SECONDS=60] [BUILD_DIR=<repo>/build-sanitize]
#   tools/fuzz.sh all SECONDS         each target for SECONDS, one after another
#   tools/fuzz.sh list                the target names
#
# Targets (fuzz/CMakeLists.txt): gguf-reader model-load config npy
# embedding-json image tokenizer tokenizer-json chat-template serve-request
# safetensors-header. The build is tools/sanitize_build.sh's (clang,
# -DTESSEL_FUZZ=ON: ASan + UBSan everywhere, libFuzzer coverage in every
# library and plugin), shared with tools/test.sh's sanitizer suite.
# Seeds come from $TESSEL_SHARED (default <repo>/../shared) via
# tools/fuzz_seeds.py; the corpus grows in BUILD_DIR/fuzz/TARGET/corpus, and
# crashes land in BUILD_DIR/fuzz/TARGET/artifacts (non-zero exit). The run is
# niced: fuzzing shares the machine. FUZZ_FLAGS adds libFuzzer flags
# (e.g. FUZZ_FLAGS=-runs=1000000).
# Needs clang and libFuzzer (Debian: clang libclang-rt-14-dev; tools/setup.sh --fuzz).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
targets=(gguf-reader model-load config npy embedding-json image tokenizer tokenizer-json chat-template serve-request
         safetensors-header)
target=${1:?usage: tools/fuzz.sh TARGET|all|list [SECONDS] [BUILD_DIR]}
seconds=${2:-60}
build=${3:-$root/build-sanitize}
shared=${TESSEL_SHARED:-$root/../shared}
jobs=${JOBS:-2}

if [ "$target" = list ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
if [ "$target" = all ]; then
  for t in "${targets[@]}"; do "$0" "$t" "$seconds" "$build"; done
  exit 0
fi
if [[ ! " ${targets[*]} " =~ " $target " ]]; then
  echo "fuzz: unknown target '$target' (one of: ${targets[*]}, all, list)" >&2
  exit 2
fi
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (tools/setup.sh --fuzz installs clang and libclang-rt-14-dev)" >&2
  exit 2
fi
if [ ! -d "$shared/models" ]; then
  echo "fuzz: shared data not found at $shared (set TESSEL_SHARED)" >&2
  exit 2
fi

# The sanitizer build tools/test.sh runs the suite in (only this target is built).
JOBS=$jobs "$root/tools/sanitize_build.sh" "$build" "fuzz-$target"

work=$build/fuzz/$target
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
rm -f "$work/seeds"/*
python3 "$root/tools/fuzz_seeds.py" "$target" "$work/seeds" "$shared" "$root"

max_len=65536
[ "$target" = model-load ] && max_len=$((3 << 20))
cd "$work"
export TESSEL_SHARED=$shared
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# shellcheck disable=SC2086
exec nice -n 19 "$build/bin/fuzz-$target" corpus seeds -max_total_time="$seconds" -max_len="$max_len" \
  -timeout=20 -rss_limit_mb=2560 -malloc_limit_mb=2048 -artifact_prefix=artifacts/ -print_final_stats=1 \
  ${FUZZ_FLAGS:-}
