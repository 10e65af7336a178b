#!/usr/bin/env bash
# The whole test suite, as CI runs it (README's test command):
#   1. the normal build (tools/setup.sh) and every ctest test;
#   2. an ASan + UBSan build (tools/sanitize_build.sh: clang,
#      -fno-sanitize-recover=all, with the libFuzzer targets);
#   3. each fuzz target for FUZZ_SECONDS (default 20) on its seed corpus;
#   4. ctest again in the sanitizer build.
# TESSEL_TEST_SANITIZE picks how much of 2-4 runs:
#   0       none (the default outside CI);
#   1       the whole suite (the default under CI=true; measured to fit CI's
#           60 minutes on 2 cores, docs/fuzzing.md);
#   subset  a quicker local check: the fuzz targets and the unit and end-to-end
#           tests of the core, tokenizers, GGUF, llama, generate, embed,
#           inputs, clip, packed kernels, serve engine and hardening.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$SECONDS
stamp() { echo "test.sh: $1 after $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s" >&2; }

./tools/setup.sh --fuzz
stamp "normal build done"
ctest --test-dir build -j2 --output-on-failure --timeout 900
stamp "normal suite done"
default_mode=0
[ "${CI:-}" = true ] && default_mode=1
mode=${TESSEL_TEST_SANITIZE:-$default_mode}
[ "$mode" = 0 ] && exit 0

san=$root/build-sanitize
# The tests every change touches (TESSEL_TEST_SANITIZE=subset).
subset_targets=(tessel-host fuzz-all test_hardening test_kit test_tokenizers test_core test_gguf test_llama
                test_generate_e2e test_embed test_inputs test_clip test_codecs-packed test_serve_engine)
subset_tests='^(hardening|kit|tokenizers|core|gguf|llama|generate_e2e|embed|inputs|clip|codecs-packed|serve_engine):'
if [ "$mode" = subset ]; then
  ./tools/sanitize_build.sh "$san" "${subset_targets[@]}"
else
  ./tools/sanitize_build.sh "$san"
fi
stamp "sanitizer build done"

# Fuzz targets first, briefly, so the suite's summary is the last thing printed.
# A fixed seed: a CI run replays the same inputs (a prefix of them on a slower
# machine), so a failure here is reproducible, never a new random find.
for t in $(tools/fuzz.sh list); do
  FUZZ_FLAGS="-seed=1 ${FUZZ_FLAGS:-}" tools/fuzz.sh "$t" "${FUZZ_SECONDS:-20}" "$san" > "$san/fuzz-$t.log" 2>&1 || {
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
ctest_args=()
[ "$mode" = subset ] && ctest_args=(-R "$subset_tests")
ctest --test-dir "$san" -j2 --output-on-failure --timeout 1800 "${ctest_args[@]}"
stamp "sanitizer suite done"
