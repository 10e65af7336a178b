#!/usr/bin/env bash
# Reproduces the table in bench/README.md: synthesizes the benchmark models
# (real shapes, random weights) once into $TESSEL_BENCH_DIR and runs
# `tessel bench` on each, printing llama-bench style markdown rows.
#   bench/run.sh [REPS]        (default 5 repetitions; needs ./build from tools/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
T=./build/bin/tessel
dir=${TESSEL_BENCH_DIR:-/tmp/tessel-bench}
mkdir -p "$dir"
synth() {  # preset type file
  [ -s "$dir/$3" ] || "$T" synth --preset "$1" --type "$2" -o "$dir/$3"
}
synth tinyllama-1.1b Q8_0 tl-q8_0.gguf
synth tinyllama-1.1b Q4_0 tl-q4_0.gguf
synth tinyllama-1.1b Q4_K_M tl-q4_k_m.gguf
synth embeddinggemma-300m Q8_0 eg-q8_0.gguf
echo "machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in tl-q8_0 tl-q4_0 tl-q4_k_m; do
  "$T" bench -m "$dir/$m.gguf" -p 512 -n 128 -r "$reps" -t 2 --roofline
done
"$T" bench -m "$dir/eg-q8_0.gguf" --embed --texts 32 --text-len 16 -r "$reps" -t 2
"$T" bench -m "$dir/eg-q8_0.gguf" --embed --texts 8 --text-len 256 -r "$reps" -t 2
"$T" bench -m "$dir/eg-q8_0.gguf" --embed --texts 1 --text-len 4 -r 20 -t 2
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
