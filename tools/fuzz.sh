#!/usr/bin/env bash
# Builds and runs one libFuzzer target (or all of them) on its corpus.
#
#   tools/fuzz.sh TARGET [SECONDS=60] [BUILD_DIR]
#   tools/fuzz.sh all SECONDS         each target for SECONDS, one after another
#   tools/fuzz.sh replay TARGET|all [BUILD_DIR=<repo>/build-fuzz] [ASAN_DIR=<repo>/build-sanitize]
#                                     every unit of BUILD_DIR's grown corpus, once,
#                                     through the ASan + UBSan build
#   tools/fuzz.sh list                the target names
#
# Targets (fuzz/CMakeLists.txt): gguf-reader model-load config npy
# embedding-json image tokenizer tokenizer-json chat-template serve-request
# safetensors-header.
#
# FUZZ_BUILD picks the build:
#   asan (default)  tools/sanitize_build.sh's (clang -O1 -g1, -DTESSEL_FUZZ=ON:
#                   ASan + UBSan everywhere, libFuzzer coverage in every library
#                   and plugin) in <repo>/build-sanitize, shared with
#                   tools/test.sh's sanitizer suite and CI's short fuzz runs.
#   fast            the campaign build in <repo>/build-fuzz: clang -O2 -g1,
#                   libFuzzer coverage and UBSan (-fno-sanitize-recover=all) but
#                   no ASan (-DTESSEL_SANITIZERS=undefined), several times more
#                   executions per second. Memory errors are then caught by
#                   `tools/fuzz.sh replay`, which runs every unit the campaign
#                   kept through the ASan build.
# Seeds come from $TESSEL_SHARED (default <repo>/../shared) via
# tools/fuzz_seeds.py; the corpus grows in BUILD_DIR/fuzz/TARGET/corpus, and
# crashes land in BUILD_DIR/fuzz/TARGET/artifacts (non-zero exit). The run is
# niced: fuzzing shares the machine. FUZZ_FLAGS adds libFuzzer flags
# (e.g. FUZZ_FLAGS=-runs=10000000).
# Needs clang and libFuzzer (Debian: clang libclang-rt-14-dev; tools/setup.sh --fuzz).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
targets=(gguf-reader model-load config npy embedding-json image tokenizer tokenizer-json chat-template serve-request
         safetensors-header)
target=${1:?usage: tools/fuzz.sh TARGET|all|list [SECONDS] [BUILD_DIR] | replay TARGET|all [BUILD_DIR] [ASAN_DIR]}
shared=${TESSEL_SHARED:-$root/../shared}
jobs=${JOBS:-2}
fuzz_build=${FUZZ_BUILD:-asan}
case $fuzz_build in
  asan) default_build=$root/build-sanitize ;;
  fast) default_build=$root/build-fuzz ;;
  *) echo "fuzz: FUZZ_BUILD must be asan or fast, not '$fuzz_build'" >&2; exit 2 ;;
esac

known() {
  if [[ ! " ${targets[*]} " =~ " $1 " ]]; then
    echo "fuzz: unknown target '$1' (one of: ${targets[*]}, all, list)" >&2
    exit 2
  fi
}
# The largest input a target is run with; tools/fuzz_seeds.py leaves out
# larger seeds. model-load: the sanitizer build (CI's short runs) also loads
# the whole shared models (up to 3 MiB, ~10 exec/s); a fast campaign keeps to
# the tiny synthetic ones (tens of KiB, thousands of exec/s).
max_len_of() {
  if [ "$1" != model-load ]; then echo 65536
  elif [ "$2" = fast ]; then echo $((128 << 10))
  else echo $((3 << 20)); fi
}

if [ "$target" = list ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
if [ "$target" = replay ]; then
  # Every unit of a campaign's corpus through the ASan + UBSan build, once:
  # the fast build has no ASan, so this is where its memory errors show.
  what=${2:?usage: tools/fuzz.sh replay TARGET|all [BUILD_DIR] [ASAN_DIR]}
  from=${3:-$root/build-fuzz}
  asan=${4:-$root/build-sanitize}
  if [ "$what" = all ]; then
    for t in "${targets[@]}"; do
      [ -d "$from/fuzz/$t/corpus" ] && "$0" replay "$t" "$from" "$asan"
    done
    exit 0
  fi
  known "$what"
  JOBS=$jobs "$root/tools/sanitize_build.sh" "$asan" "fuzz-$what"
  corpus=$from/fuzz/$what/corpus
  [ -d "$corpus" ] || { echo "fuzz: no corpus at $corpus" >&2; exit 2; }
  mkdir -p "$from/fuzz/$what/replay-artifacts"
  cd "$from/fuzz/$what"
  export TESSEL_SHARED=$shared
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
  echo "fuzz: replaying $(find "$corpus" -type f | wc -l) units of $corpus through $asan/bin/fuzz-$what" >&2
  # -runs=0: execute every corpus unit once, mutate nothing.
  # shellcheck disable=SC2086
  exec nice -n 19 "$asan/bin/fuzz-$what" "$corpus" -runs=0 -max_len="$(max_len_of "$what" asan)" -timeout=60 \
    -rss_limit_mb=2560 -malloc_limit_mb=2048 -artifact_prefix=replay-artifacts/ -print_final_stats=1 ${FUZZ_FLAGS:-}
fi
seconds=${2:-60}
build=${3:-$default_build}
if [ "$target" = all ]; then
  for t in "${targets[@]}"; do "$0" "$t" "$seconds" "$build"; done
  exit 0
fi
known "$target"
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (tools/setup.sh --fuzz installs clang and libclang-rt-14-dev)" >&2
  exit 2
fi
if [ ! -d "$shared/models" ]; then
  echo "fuzz: shared data not found at $shared (set TESSEL_SHARED)" >&2
  exit 2
fi

# model-load's tiny seeds are written by the build's own `tessel synth`.
host=
[ "$target" = model-load ] && host=tessel-host
if [ "$fuzz_build" = asan ]; then
  # The sanitizer build tools/test.sh runs the suite in (only this target is built).
  JOBS=$jobs "$root/tools/sanitize_build.sh" "$build" "fuzz-$target" $host
else
  # The campaign build: UBSan + libFuzzer coverage, no ASan, -O2; no tests.
  # shellcheck disable=SC2086
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DTESSEL_FUZZ=ON -DTESSEL_SANITIZERS=undefined \
    -DTESSEL_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1" \
    ${TESSEL_CMAKE_ARGS:-} >/dev/null
  # shellcheck disable=SC2086
  cmake --build "$build" -j "$jobs" --target "fuzz-$target" $host
fi

work=$build/fuzz/$target
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
rm -f "$work/seeds"/*
max_len=$(max_len_of "$target" "$fuzz_build")
TESSEL_BIN=$build/bin/tessel python3 "$root/tools/fuzz_seeds.py" "$target" "$work/seeds" "$shared" "$root" "$max_len"
cd "$work"
export TESSEL_SHARED=$shared
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# shellcheck disable=SC2086
exec nice -n 19 "$build/bin/fuzz-$target" corpus seeds -max_total_time="$seconds" -max_len="$max_len" \
  -timeout=20 -rss_limit_mb=2560 -malloc_limit_mb=2048 -artifact_prefix=artifacts/ -print_final_stats=1 \
  ${FUZZ_FLAGS:-}
