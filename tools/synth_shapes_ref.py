#!/usr/bin/env python3
"""Records llama.cpp's logits for `tessel synth --shape` models into
tests/plugins/arch2/synth_shapes_llama_cpp.json (the test regenerates the same
seeded F32 files and compares). Usage, from the repo root after a build:

  g++ -O1 -std=c++17 tools/refdump/refdump.cpp -I$R/llama.cpp/include -I$R/llama.cpp/ggml/include \
      -L$R/build/bin -lllama -Wl,-rpath,$R/build/bin -o build/refdump     # R=~/.cache/tessel-ref
  tools/synth_shapes_ref.py build/refdump PRESET SHAPE [PRESET SHAPE ...]

Entries with the same preset and shape are replaced; others are kept."""
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

REF = Path("tests/plugins/arch2/synth_shapes_llama_cpp.json")


def record(refdump, preset, shape, ids, seed, tmp):
    gguf = Path(tmp) / "m.gguf"
    out = Path(tmp) / "logits.f32"
    subprocess.run(["build/bin/tessel", "synth", "--preset", preset, "--shape", shape, "--seed", str(seed),
                    "-o", str(gguf)], check=True, capture_output=True)
    subprocess.run([refdump, str(gguf), str(out)] + [str(i) for i in ids], check=True, capture_output=True)
    data = out.read_bytes()
    n = len(data) // 4
    vals = struct.unpack(f"<{n}f", data)
    v = n // len(ids)
    rows = [vals[t * v:(t + 1) * v] for t in range(len(ids))]
    argmax, margin = [], []
    for r in rows:
        top = sorted(range(v), key=lambda i: -r[i])[:2]
        argmax.append(top[0])
        margin.append(round(r[top[0]] - r[top[1]], 5))
    return {"preset": preset, "shape": shape, "last_row": [round(x, 6) for x in rows[-1]],
            "argmax": argmax, "margin": margin}


def main():
    refdump, pairs = sys.argv[1], sys.argv[2:]
    if not pairs or len(pairs) % 2:
        sys.exit(__doc__)
    ref = json.loads(REF.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        for preset, shape in zip(pairs[::2], pairs[1::2]):
            entry = record(refdump, preset, shape, ref["token_ids"], ref["seed"], tmp)
            ref["models"] = [m for m in ref["models"] if (m["preset"], m["shape"]) != (preset, shape)] + [entry]
            print(preset, shape, "argmax", entry["argmax"][:5])
    REF.write_text(json.dumps(ref, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
