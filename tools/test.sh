#!/usr/bin/env bash
# The whole test suite, as CI runs it (README's test command):
#   1. the normal build (tools/setup.sh) and every ctest test;
#   2. an ASan + UBSan build (clang, -fno-sanitize-recover=all, with the
#      libFuzzer targets) running the same ctest suite again;
#   3. each fuzz target for FUZZ_SECONDS (default 20) on its seed corpus.
# Steps 2-3 run when TESSEL_TEST_SANITIZE=1 (the default, also under CI=true,
# once the sanitizer suite has been seen green on CI's machine within the
# 60-minute budget; docs/fuzzing.md has the measured estimate, ~49-56 min).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$SECONDS
stamp() { echo "test.sh: $1 after $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s" >&2; }

./tools/setup.sh --fuzz
stamp "normal build done"
ctest --test-dir build -j2 --output-on-failure --timeout 900
stamp "normal suite done"
[ "${TESSEL_TEST_SANITIZE:-0}" = 1 ] || exit 0

san=$root/build-sanitize
CC=clang CXX=clang++ cmake -S . -B "$san" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSEL_FUZZ=ON \
  ${TESSEL_CMAKE_ARGS:-} >/dev/null
cmake --build "$san" -j "$(nproc 2>/dev/null || echo 2)"
stamp "sanitizer build done"

# Fuzz targets first, briefly, so the suite's summary is the last thing printed.
for t in $(tools/fuzz.sh list); do
  tools/fuzz.sh "$t" "${FUZZ_SECONDS:-20}" "$san" > "$san/fuzz-$t.log" 2>&1 || {
    tail -n 40 "$san/fuzz-$t.log" >&2
    echo "test.sh: fuzz target $t failed (log: $san/fuzz-$t.log)" >&2
    exit 1
  }
  echo "fuzz-$t: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$san/fuzz-$t.log" | grep -o '[0-9]*$') runs, no crash" >&2
done
stamp "fuzz runs done"

# Sanitizer reports abort the process; leaks fail it too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$san" -j2 --output-on-failure --timeout 1800
stamp "sanitizer suite done"
