#!/usr/bin/env bash
# Configures and builds the ASan + UBSan build that tools/test.sh and
# tools/fuzz.sh share (one build, so a developer compiles it once):
#
#   tools/sanitize_build.sh [BUILD_DIR=<repo>/build-sanitize] [TARGET...]
#
# clang with -DTESSEL_FUZZ=ON: -fsanitize=address,undefined
# -fno-sanitize-recover=all plus libFuzzer coverage in every library, plugin
# and test, and the fuzz-* targets. -O1 -g1 (line tables): -O2 -g made the
# build too slow to finish on a shared 2-core machine, and -O1 is what
# sanitizer and fuzzing builds usually use. TESSEL_CMAKE_ARGS is passed on
# (e.g. -DCMAKE_CXX_COMPILER_LAUNCHER=ccache); JOBS sets the parallelism
# (default: the number of cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-sanitize}
[ $# -gt 0 ] && shift
if ! command -v clang++ >/dev/null; then
  echo "sanitize_build: clang++ not found (tools/setup.sh --fuzz installs clang and libclang-rt-14-dev)" >&2
  exit 2
fi
# shellcheck disable=SC2086
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DTESSEL_FUZZ=ON -DTESSEL_BUILD_TESTS=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" ${TESSEL_CMAKE_ARGS:-} >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "${JOBS:-$(nproc 2>/dev/null || echo 2)}" "${targets[@]}"
