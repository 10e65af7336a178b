#!/usr/bin/env bash
# `tessel serve` vs llama-server -np N on the same synthetic tinyllama-1.1b
# Q4_K_M: aggregate generated tokens/s and time to first token for 1, 4 and 8
# concurrent streams (bench/serve_load.mjs), one server at a time, loopback.
#   bench/serve.sh [TOKENS]     (default 64 tokens per stream; needs ./build and node)
# llama-server comes from ../shared/reference/llama-cpp.sh (skipped if not built).
set -euo pipefail
cd "$(dirname "$0")/.."
tokens=${1:-64}
T=$PWD/build/bin/tessel
dir=${TESSEL_BENCH_DIR:-/tmp/tessel-bench}
model=$dir/tl-q4_k_m.gguf
mkdir -p "$dir"
[ -s "$model" ] || "$T" synth --preset tinyllama-1.1b --type Q4_K_M -o "$model"
ref=${TESSEL_REF_DIR:-$HOME/.cache/tessel-ref}/build/bin/llama-server
free_port() { node -e 'const s=require("net").createServer(); s.listen(0,"127.0.0.1",()=>{console.log(s.address().port); s.close()})'; }

run() {  # name n command...
  local name=$1 n=$2; shift 2
  local port; port=$(free_port)
  "$@" --host 127.0.0.1 --port "$port" >"$dir/serve-$name-$n.log" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "$name exited: $(tail -3 "$dir/serve-$name-$n.log")" >&2; return 1; }
    sleep 0.2
  done
  node bench/serve_load.mjs "http://127.0.0.1:$port" 1 8 >/dev/null  # warm-up (packing, page cache)
  local r; r=$(node bench/serve_load.mjs "http://127.0.0.1:$port" "$n" "$tokens")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  node -e 'const r=JSON.parse(process.argv[1]); console.log(`| ${process.argv[2]} | ${r.streams} | ${r.aggregate_tps.toFixed(1)} | ${r.ttft_ms_mean.toFixed(0)} | ${r.ttft_ms_max.toFixed(0)} |`)' "$r" "$name"
}

echo "machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg); $tokens tokens per stream"
echo "| server | streams | aggregate t/s | TTFT mean ms | TTFT max ms |"
echo "|---|---|---|---|---|"
for n in 1 4 8; do
  run tessel "$n" "$T" serve -m "$model" -np "$n" -c $((n * 512)) -t 2
  if [ -x "$ref" ]; then run llama-server "$n" "$ref" -m "$model" -np "$n" -c $((n * 512)) -t 2; fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
