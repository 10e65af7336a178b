#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets (tools/fuzz.sh), made from ../shared
and the repo: small, real-looking inputs each target's parser accepts.

    tools/fuzz_seeds.py TARGET OUT_DIR SHARED_DIR REPO_DIR [MAX_BYTES]

Seeds larger than MAX_BYTES (the run's -max_len) are left out: libFuzzer
would only cut them. model-load also gets tiny models of every synth preset
the architecture plugins offer, written by `$TESSEL_BIN synth` (the build's
tessel), so most executions load and run a model of a few dozen KiB.
"""
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
# ggml type id -> (block elements, block bytes)
BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
          9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
          15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
          21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4),
          27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17)}


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def get(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.o)
        self.o += struct.calcsize(fmt)
        return v[0]

    def string(self):
        n = self.get('<Q')
        s = self.b[self.o:self.o + n]
        self.o += n
        return s


def enc_str(s):
    return struct.pack('<Q', len(s)) + s


def shrink_value(r, t):
    if t == 8:
        return enc_str(r.string()[:64])
    if t == 9:
        et, n = r.get('<I'), r.get('<Q')
        keep = min(n, 8)
        if et in (8, 9):
            parts = [shrink_value(r, et) for _ in range(n)][:keep]
        else:
            size = SIZES[et]
            parts = [r.b[r.o:r.o + size * keep]]
            r.o += size * n
        return struct.pack('<IQ', et, keep) + b''.join(parts)
    v = r.b[r.o:r.o + SIZES[t]]
    r.o += SIZES[t]
    return v


def shrunk_gguf(path):
    """The file's metadata (arrays cut to 8 items, strings to 64 bytes) and at
    most 12 tensors of one block row each, data zeroed: a few KiB."""
    r = Reader(open(path, 'rb').read())
    r.o = 4
    version, n_tensors, n_kv = r.get('<I'), r.get('<Q'), r.get('<Q')
    kvs, alignment = [], 32
    for _ in range(n_kv):
        key, t = r.string(), r.get('<I')
        value = shrink_value(r, t)
        if key == b'general.alignment':
            alignment = struct.unpack('<I', value)[0]
        kvs.append(enc_str(key) + struct.pack('<I', t) + value)
    infos, offset = [], 0
    for k in range(n_tensors):
        name, nd = r.string(), r.get('<I')
        ne = [r.get('<Q') for _ in range(nd)]
        t, _ = r.get('<I'), r.get('<Q')
        if k >= 12:
            continue
        be, bb = BLOCKS[t]
        infos.append(enc_str(name) + struct.pack('<I', nd) + struct.pack('<Q', be) +
                     b''.join(struct.pack('<Q', 1) for _ in ne[1:]) + struct.pack('<IQ', t, offset))
        offset += (bb + alignment - 1) // alignment * alignment
    img = b'GGUF' + struct.pack('<IQQ', version, len(infos), len(kvs)) + b''.join(kvs) + b''.join(infos)
    if infos:
        img += b'\0' * (-len(img) % alignment) + b'\0' * offset
    return img


def all_ggufs(shared):
    return sorted(glob.glob(os.path.join(shared, 'models', '**', '*.gguf'), recursive=True) +
                  glob.glob(os.path.join(shared, 'golden', '**', '*.gguf'), recursive=True))


def npy(descr, shape, payload):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += ' ' * ((64 - (10 + len(h) + 1) % 64) % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode() + payload


def png(w, h, rgb=True):
    rows = b''
    for y in range(h):
        rows += b'\0' + bytes((x * 37 + y * 11 + c * 5) & 255 for x in range(w) for c in range(3 if rgb else 1))

    def chunk(tag, data):
        return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', zlib.crc32(tag + data) & 0xffffffff)
    ihdr = struct.pack('>IIBBBBB', w, h, 8, 2 if rgb else 0, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')


def bmp(w, h):
    row = bytes((x * 7 + c) & 255 for x in range(w) for c in range(3))
    row += b'\0' * (-len(row) % 4)
    data = row * h
    header = b'BM' + struct.pack('<IHHI', 54 + len(data), 0, 0, 54)
    info = struct.pack('<IiiHHIIiiII', 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    return header + info + data


# Tiny shapes for `tessel synth --shape`: every preset's architecture at a
# few KiB of weights (n_vocab 260 is the smallest the synthetic vocabularies
# take). An architecture that refuses one shape gets the next.
TINY_SHAPES = ['n_embd=16,n_layer=1,n_head=2,n_head_kv=1,head_dim=8,n_ff=32,n_vocab=260,n_ctx=32',
               'n_embd=16,n_layer=2,n_head=2,n_head_kv=2,head_dim=8,n_ff=32,n_vocab=260,n_ctx=32,tied=1',
               # clip: n_ctx is the image side (a multiple of 56), n_vocab the text width
               'n_embd=16,n_layer=1,n_head=2,n_head_kv=2,head_dim=8,n_ff=32,n_vocab=16,n_ctx=56']
# Quantized variants need rows of whole blocks (32 elements).
TINY_QUANT_SHAPES = ['n_embd=32,n_layer=1,n_head=2,n_head_kv=1,head_dim=16,n_ff=64,n_vocab=260,n_ctx=32',
                     'n_embd=32,n_layer=1,n_head=2,n_head_kv=2,head_dim=16,n_ff=64,n_vocab=32,n_ctx=56']


def tiny_models():
    """(name, bytes) of small synthetic models of every synth preset, F32 and
    two quantized types; nothing when $TESSEL_BIN is not set."""
    tessel = os.environ.get('TESSEL_BIN')
    if not tessel:
        return
    listing = subprocess.run([tessel, 'synth', '--list'], capture_output=True, text=True)
    if listing.returncode != 0:
        print('fuzz_seeds: no tiny models: %s synth --list failed: %s' % (tessel, listing.stderr.strip()),
              file=sys.stderr)
        return
    presets = [line.split()[0] for line in listing.stdout.splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        for preset in presets:
            for typ, shapes in (('F32', TINY_SHAPES), ('Q8_0', TINY_QUANT_SHAPES), ('Q4_0', TINY_QUANT_SHAPES)):
                out = os.path.join(tmp, 'm.gguf')
                for shape in shapes:
                    r = subprocess.run([tessel, 'synth', '--preset', preset, '--shape', shape, '--type', typ,
                                        '-t', '1', '-o', out], capture_output=True, text=True)
                    if r.returncode == 0:
                        yield 'tiny-%s-%s.gguf' % (preset, typ), open(out, 'rb').read()
                        break
                else:
                    print('fuzz_seeds: no tiny %s %s: %s' % (preset, typ, r.stderr.strip()), file=sys.stderr)


def seeds(target, shared, repo):
    if target == 'gguf-reader':
        for p in all_ggufs(shared):
            yield os.path.basename(p), shrunk_gguf(p)
    elif target == 'model-load':
        # Tiny synthetic models of every architecture (cheap to load and run),
        # and whole shared models (the loader needs real shapes).
        yield from tiny_models()
        for p in all_ggufs(shared):
            if os.path.getsize(p) <= 3 << 20 and 'vocab' not in p:
                yield os.path.basename(p), open(p, 'rb').read()
    elif target == 'config':
        for p in sorted(glob.glob(os.path.join(repo, 'configs', '*.yaml'))):
            yield os.path.basename(p), open(p, 'rb').read()
        yield 'small.yaml', (b'task: embed\nmodel: { path: m.gguf, format: auto }\n'
                             b'inputs:\n  - { adapter: embeddings, file: r.npy, params: { scale: 2 } }\n'
                             b'runtime: { threads: 1, context: 64, batch: 8, kv_type: f32 }\n'
                             b'embed: { pooling: mean, normalize: 2, output: json, dims: 4 }\n')
        yield 'sampler.yaml', (b'model: m.gguf\ngenerate:\n  max_tokens: 4\n  stop: [a, b]\n'
                               b'  sampler: { temperature: 0.5, top_k: 4, top_p: 0.9, min_p: 0.1, seed: 3 }\n')
    elif target == 'npy':
        for i, p in enumerate(sorted(glob.glob(os.path.join(shared, 'golden', '**', '*.npy'), recursive=True))):
            if os.path.getsize(p) <= 16 << 10 and i % 20 == 0:
                yield 'golden-%d.npy' % i, open(p, 'rb').read()
        yield 'f4.npy', npy('<f4', '(2, 3)', struct.pack('<6f', *range(6)))
        yield 'f2.npy', npy('<f2', '(1, 2, 4)', b'\0\x3c' * 8)
        yield 'i8.npy', npy('<i8', '(3,)', struct.pack('<3q', 1, -2, 3))
        yield 'u1.npy', npy('|u1', '(4,)', b'\1\2\3\4')
    elif target == 'embedding-json':
        yield 'openai.json', json.dumps({'data': [{'embedding': [0.1, 0.2, 0.3]}, {'embedding': [1, 2, 3]}]}).encode()
        yield 'rows.json', json.dumps([[0.5, -1.0], [2.0, 3.5]]).encode()
        yield 'nested.json', json.dumps({'data': [{'embedding': [[1.0, 2.0], [3.0, 4.0]]}]}).encode()
    elif target == 'image':
        yield 'rgb.png', png(9, 7)
        yield 'gray.png', png(5, 5, rgb=False)
        yield 'image.bmp', bmp(6, 4)
        yield 'image.ppm', b'P6\n4 3\n255\n' + bytes(range(36))
    elif target == 'tokenizer':
        vocabs = sorted(glob.glob(os.path.join(shared, 'models', 'vocab', '*.gguf')))
        n = 0
        for i, v in enumerate(vocabs):
            inp = v + '.inp'
            if not os.path.exists(inp):
                continue
            for text in open(inp, 'rb').read().split(b'\n__ggml_vocab_test__\n')[:12]:
                yield 'v%d-%d' % (i, n), bytes([i | 0x80]) + text
                n += 1
    elif target == 'tokenizer-json':
        vocab = {'<unk>': 0, '<s>': 1, '</s>': 2, '<0x41>': 3, '\u2581': 4, 'a': 5, 'b': 6, 'ab': 7, '\u2581ab': 8}
        tok = {'model': {'type': 'BPE', 'vocab': vocab, 'merges': ['a b', ['\u2581', 'ab']], 'byte_fallback': True,
                         'unk_token': '<unk>'},
               'added_tokens': [{'id': 9, 'content': '<start_of_turn>', 'special': True}],
               'normalizer': {'type': 'Sequence', 'normalizers': [{'type': 'Prepend', 'prepend': '\u2581'}]},
               'post_processor': {'type': 'TemplateProcessing', 'single': [{'SpecialToken': {'id': '<s>'}},
                                                                           {'Sequence': {'id': 'A'}}]}}
        cfg = {'bos_token': '<s>', 'eos_token': {'content': '</s>'}, 'add_bos_token': True, 'chat_template': '{{x}}'}
        yield 'small.json', json.dumps(tok).encode()
        yield 'with-config.json', json.dumps(tok).encode() + b'\0' + json.dumps(cfg).encode()
    elif target == 'chat-template':
        # Each real template alone (the target's default conversation) and with
        # each shared conversation after a NUL.
        folder = os.path.join(shared, 'chat-templates')
        convs = json.load(open(os.path.join(folder, 'conversations.json')))
        for p in sorted(glob.glob(os.path.join(folder, '*.jinja'))):
            src = open(p, 'rb').read()
            name = os.path.basename(p)[:-len('.jinja')]
            yield name, src
            for cname, msgs in sorted(convs.items()):
                yield '%s.%s' % (name, cname), src + b'\0' + json.dumps(msgs).encode()
    elif target == 'serve-request':
        convs = json.load(open(os.path.join(shared, 'chat-templates', 'conversations.json')))
        for cname, msgs in sorted(convs.items()):
            yield 'chat-%s.json' % cname, json.dumps({'messages': msgs, 'max_tokens': 8}).encode()
        yield 'chat-full.json', json.dumps({
            'model': 'stories260K.gguf', 'messages': [{'role': 'user', 'content': [{'type': 'text', 'text': 'Hi'}]}],
            'temperature': 0.7, 'top_p': 0.9, 'top_k': 40, 'min_p': 0.05, 'typical_p': 1, 'seed': 3,
            'presence_penalty': 0.1, 'frequency_penalty': 0.2, 'repeat_penalty': 1.1, 'repeat_last_n': 64,
            'stop': ['\n', 'The'], 'stream': True, 'stream_options': {'include_usage': True},
            'logprobs': True, 'top_logprobs': 2, 'n': 1, 'ignore_eos': False}).encode()
        yield 'completion-text.json', json.dumps({'prompt': 'Once upon a time', 'max_tokens': 4,
                                                  'logprobs': 2, 'stop': 'x'}).encode()
        yield 'completion-ids.json', json.dumps({'prompt': [1, 403, 407, 261], 'n_predict': 4}).encode()
    elif target == 'safetensors-header':
        # The header with its data section: two tensors, metadata, every field form.
        def st(header, data):
            h = json.dumps(header).encode()
            return struct.pack('<Q', len(h)) + h + data
        yield 'two.safetensors', st({'__metadata__': {'format': 'pt'},
                                     'a.weight': {'dtype': 'F32', 'shape': [2, 3], 'data_offsets': [0, 24]},
                                     'b.bias': {'dtype': 'BF16', 'shape': [4], 'data_offsets': [24, 32]}},
                                    bytes(range(32)))
        yield 'scalar.safetensors', st({'s': {'dtype': 'I64', 'shape': [], 'data_offsets': [0, 8]}}, bytes(8))
        yield 'empty.safetensors', st({}, b'')
        types, at = {}, 0
        for d, size in (('F16', 2), ('U8', 1), ('BOOL', 1), ('F8_E4M3', 1), ('F64', 8)):
            types['%s.t' % d] = {'dtype': d, 'shape': [1], 'data_offsets': [at, at + size]}
            at += size
        yield 'types.safetensors', st(types, bytes(at))
    else:
        raise SystemExit('fuzz_seeds: unknown target ' + target)


def main():
    target, out, shared, repo = sys.argv[1:5]
    max_bytes = int(sys.argv[5]) if len(sys.argv) > 5 else None
    os.makedirs(out, exist_ok=True)
    count = 0
    for name, data in seeds(target, shared, repo):
        if max_bytes is not None and len(data) > max_bytes:
            continue
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
        count += 1
    print('fuzz_seeds: %d seeds for %s' % (count, target), file=sys.stderr)


if __name__ == '__main__':
    main()
