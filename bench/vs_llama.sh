#!/usr/bin/env bash
# Decode side by side with the reference llama.cpp: for each model and thread count,
# llama-bench and `tessel bench --roofline` alternate ROUNDS times on the same file and
# the medians, their ratio and tessel's share of its measured roofline are printed.
# Only such interleaved ratios mean anything on a shared machine (see README.md).
#   bench/vs_llama.sh [-r ROUNDS] [-t THREADS,...] [-n TOKENS] [-p PROMPT] MODEL.gguf...
# -p 512 measures prompt processing instead of decode.
# Env: TESSEL (default ./build/bin/tessel), LLAMA_BIN (default: llama-cpp.sh's output).
set -euo pipefail
rounds=3 threads=2 n=128 p=0
while getopts r:t:n:p: o; do
  case $o in r) rounds=$OPTARG;; t) threads=$OPTARG;; n) n=$OPTARG;; p) p=$OPTARG;; *) exit 2;; esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { sed -n 2,7p "$0" >&2; exit 2; }
[ "$p" -gt 0 ] && n=0
tessel=${TESSEL:-./build/bin/tessel}
bin=${LLAMA_BIN:-$("$(dirname "$0")/../../shared/reference/llama-cpp.sh")}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo ?) load $(cut -d' ' -f1-3 /proc/loadavg)"
for m in "$@"; do
  for t in ${threads//,/ }; do
    for i in $(seq "$rounds"); do
      "$bin/llama-bench" -m "$m" -t "$t" -p "$p" -n "$n" -r 1 -o json >"$work/l$i.json" 2>/dev/null
      "$tessel" bench -m "$m" -t "$t" -p "$p" -n "$n" -r 1 --roofline --json >"$work/t$i.json" 2>/dev/null
    done
    python3 - "$work" "$m" "$t" <<'PY'
import glob, json, statistics, sys, os
work, model, threads = sys.argv[1:4]
rows = lambda p: [r for f in sorted(glob.glob(f"{work}/{p}*.json")) for r in json.load(open(f))]
l, t = rows("l"), rows("t")
a = statistics.median(float(r["avg_ts"]) for r in t)
b = statistics.median(float(r["avg_ts"]) for r in l)
roof = statistics.median(float(r.get("tg_roofline_ts") or 0) for r in t)
share = f"  roofline {roof:6.1f} t/s ({100 * a / roof:.0f} %)" if roof and t[0]["n_gen"] else ""
print(f"{os.path.basename(model):18} {t[0]['test']:6} -t {threads}  tessel {a:7.2f}  llama.cpp {b:7.2f}  ratio {a / b:.2f}x{share}", flush=True)
PY
    rm -f "$work"/*.json
  done
done
