#!/usr/bin/env bash
# Fuzzes the GGUF reader (and writer round trip) with libFuzzer.
#
#   tools/fuzz-gguf.sh [SECONDS=60] [BUILD_DIR=<repo>/build-fuzz]
#
# Configures a clang build with -DTESSEL_FUZZ=ON, builds fuzz-gguf-reader
# (ASan + UBSan), makes small seeds from every .gguf under $TESSEL_SHARED
# (default <repo>/../shared) — real metadata and tensor infos, arrays and
# tensors shrunk so each seed is a few KiB — and runs for SECONDS. Crashes are
# written to BUILD_DIR/fuzz-gguf/artifacts/; the corpus grows in
# BUILD_DIR/fuzz-gguf/corpus/ between runs. Exits non-zero when a crash is found.
# Needs clang and libFuzzer (Debian: clang, libclang-rt-14-dev).
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$root/build-fuzz}
shared=${TESSEL_SHARED:-$root/../shared}
jobs=${JOBS:-2}

if ! command -v clang++ >/dev/null; then
  echo "fuzz-gguf: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi
if [ ! -d "$shared/models" ]; then
  echo "fuzz-gguf: shared data not found at $shared (set TESSEL_SHARED)" >&2
  exit 2
fi

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DTESSEL_FUZZ=ON \
  -DTESSEL_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" -j"$jobs" fuzz-gguf-reader

work=$build/fuzz-gguf
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
rm -f "$work/seeds"/*

# Seeds: each shared GGUF with arrays cut to 8 elements, strings to 64 bytes,
# at most 12 tensors shrunk to one block row (offsets re-packed, data zeros).
python3 - "$work/seeds" $(find "$shared/models" "$shared/golden/models" -name '*.gguf' | sort) <<'EOF'
import os, struct, sys

out_dir, files = sys.argv[1], sys.argv[2:]
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
# ggml type id -> (block elements, block bytes)
BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
          9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
          15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
          21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4),
          27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17)}

class Reader:
    def __init__(self, b): self.b, self.o = b, 0
    def get(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.o); self.o += struct.calcsize(fmt); return v[0]
    def string(self):
        n = self.get('<Q'); s = self.b[self.o:self.o + n]; self.o += n; return s

def enc_str(s): return struct.pack('<Q', len(s)) + s

def shrink_value(r, t):
    if t == 8: return enc_str(r.string()[:64])
    if t == 9:
        et, n = r.get('<I'), r.get('<Q')
        keep = min(n, 8)
        if et in (8, 9):
            parts = [shrink_value(r, et) for _ in range(n)][:keep]
        else:
            size = SIZES[et]; parts = [r.b[r.o:r.o + size * keep]]; r.o += size * n
        return struct.pack('<IQ', et, keep) + b''.join(parts)
    v = r.b[r.o:r.o + SIZES[t]]; r.o += SIZES[t]; return v

for path in files:
    r = Reader(open(path, 'rb').read())
    r.o = 4
    version, n_tensors, n_kv = r.get('<I'), r.get('<Q'), r.get('<Q')
    kvs, alignment = [], 32
    for _ in range(n_kv):
        key, t = r.string(), r.get('<I')
        value = shrink_value(r, t)
        if key == b'general.alignment': alignment = struct.unpack('<I', value)[0]
        kvs.append(enc_str(key) + struct.pack('<I', t) + value)
    infos, offset = [], 0
    for k in range(n_tensors):
        name, nd = r.string(), r.get('<I')
        ne = [r.get('<Q') for _ in range(nd)]
        t, _ = r.get('<I'), r.get('<Q')
        if k >= 12: continue
        be, bb = BLOCKS[t]
        infos.append(enc_str(name) + struct.pack('<I', nd) + struct.pack('<Q', be) +
                     b''.join(struct.pack('<Q', 1) for _ in ne[1:]) + struct.pack('<IQ', t, offset))
        offset += (bb + alignment - 1) // alignment * alignment
    img = b'GGUF' + struct.pack('<IQQ', version, len(infos), len(kvs)) + b''.join(kvs) + b''.join(infos)
    if infos:
        img += b'\0' * (-len(img) % alignment) + b'\0' * offset
    with open(os.path.join(out_dir, os.path.basename(path)), 'wb') as f: f.write(img)
print(f"fuzz-gguf: {len(files)} seeds", file=sys.stderr)
EOF

cd "$work"
exec "$build/bin/fuzz-gguf-reader" corpus seeds -max_total_time="$seconds" -max_len=65536 \
  -timeout=10 -rss_limit_mb=2048 -artifact_prefix=artifacts/ -print_final_stats=1
