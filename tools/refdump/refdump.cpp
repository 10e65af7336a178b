// Reference outputs through llama.cpp's public C API (the reference for
// tests/plugins/arch2/synth_shapes_llama_cpp.json, and for
// tests/plugins/safetensors/reference_test.cpp, which builds it itself when the
// reference build exists). Build against the reference build by hand:
//   R=~/.cache/tessel-ref
//   g++ -O1 -std=c++17 tools/refdump/refdump.cpp -I$R/llama.cpp/include -I$R/llama.cpp/ggml/include
//       -L$R/build/bin -lllama -Wl,-rpath,$R/build/bin -o refdump
//   ./refdump MODEL.gguf OUT.f32 ID...
//       logits of every position: n_ids x n_vocab float32
//   ./refdump --embed MODEL.gguf OUT.f32 TEXT [none|mean|cls|last]
//       TEXT tokenized by llama.cpp (add_special, parse_special, as llama-embedding),
//       the ids printed on stdout, the pooled embedding (n_embd float32, not
//       normalized) written; pooling defaults to the model's
// Context: n_ctx 512 (REFDUMP_N_CTX=N sets it, e.g. LongRoPE's choice), 2 threads,
// flash attention off. Exit 2: llama.cpp refused the model.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "llama.h"

namespace {

llama_context* open_context(llama_model* m, bool embeddings, enum llama_pooling_type pooling) {
  auto cp = llama_context_default_params();
  cp.n_ctx = 512; cp.n_batch = 512; cp.n_ubatch = 512; cp.n_seq_max = 1;
  if (const char* n = std::getenv("REFDUMP_N_CTX")) cp.n_ctx = uint32_t(std::atoi(n));  // e.g. LongRoPE's choice
  cp.n_threads = 2; cp.n_threads_batch = 2;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  cp.embeddings = embeddings;
  cp.pooling_type = pooling;
  return llama_init_from_model(m, cp);
}

bool write_floats(const char* path, const float* v, size_t n) {
  FILE* f = std::fopen(path, "wb");
  if (!f) return false;
  const bool ok = std::fwrite(v, 4, n, f) == n;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  const bool embed = argc > 1 && std::strcmp(argv[1], "--embed") == 0;
  if (argc < 4 || (embed && argc < 5)) {
    std::fprintf(stderr, "usage: refdump MODEL OUT ID... | refdump --embed MODEL OUT TEXT [POOLING]\n");
    return 1;
  }
  const char* model_path = argv[embed ? 2 : 1];
  const char* out_path = argv[embed ? 3 : 2];
  enum llama_pooling_type pooling = LLAMA_POOLING_TYPE_UNSPECIFIED;
  if (embed && argc > 5) {
    const std::string p = argv[5];
    pooling = p == "none" ? LLAMA_POOLING_TYPE_NONE : p == "mean" ? LLAMA_POOLING_TYPE_MEAN
            : p == "cls" ? LLAMA_POOLING_TYPE_CLS : p == "last" ? LLAMA_POOLING_TYPE_LAST
            : LLAMA_POOLING_TYPE_UNSPECIFIED;
  }
  llama_backend_init();
  llama_model* m = llama_model_load_from_file(model_path, llama_model_default_params());
  if (!m) { std::fprintf(stderr, "refdump: llama.cpp could not load %s\n", model_path); return 2; }
  llama_context* c = open_context(m, embed, pooling);
  if (!c) { std::fprintf(stderr, "refdump: no context for %s\n", model_path); return 2; }
  const llama_vocab* vocab = llama_model_get_vocab(m);

  std::vector<llama_token> ids;
  if (embed) {
    const std::string text = argv[4];
    ids.resize(text.size() + 8);
    const int n = llama_tokenize(vocab, text.data(), int32_t(text.size()), ids.data(), int32_t(ids.size()), true, true);
    if (n < 0) { std::fprintf(stderr, "refdump: tokenization failed\n"); return 3; }
    ids.resize(size_t(n));
    for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
    std::printf("\n");
  } else {
    for (int i = 3; i < argc; ++i) ids.push_back(std::atoi(argv[i]));
  }
  llama_batch b = llama_batch_init(int(ids.size()), 0, 1);
  for (size_t i = 0; i < ids.size(); ++i) {
    b.token[i] = ids[i]; b.pos[i] = int(i); b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1;
  }
  b.n_tokens = int(ids.size());
  if (llama_decode(c, b)) { std::fprintf(stderr, "refdump: llama_decode failed\n"); return 3; }
  bool ok = true;
  if (embed) {
    const float* e = llama_get_embeddings_seq(c, 0);
    if (!e) { std::fprintf(stderr, "refdump: no pooled embedding (pooling none?)\n"); return 3; }
    ok = write_floats(out_path, e, size_t(llama_model_n_embd(m)));
  } else {
    const int V = llama_vocab_n_tokens(vocab);
    std::vector<float> all;
    for (size_t i = 0; i < ids.size(); ++i) {
      const float* row = llama_get_logits_ith(c, int(i));
      all.insert(all.end(), row, row + V);
    }
    ok = write_floats(out_path, all.data(), all.size());
    std::printf("%d x %d\n", int(ids.size()), V);
  }
  if (!ok) { std::fprintf(stderr, "refdump: writing %s failed\n", out_path); return 4; }
  llama_batch_free(b);
  llama_free(c);
  llama_model_free(m);
  llama_backend_free();
  return 0;
}
