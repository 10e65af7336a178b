// Logits of every position for given token ids through llama.cpp's public C API
// (the reference for tests/plugins/arch2/synth_shapes_llama_cpp.json). Build against
// the reference build (../shared/reference/llama-cpp.sh):
//   R=~/.cache/tessel-ref; g++ -O1 -std=c++17 tools/refdump/refdump.cpp -I$R/llama.cpp/include \
//     -I$R/llama.cpp/ggml/include -L$R/build/bin -lllama -Wl,-rpath,$R/build/bin -o refdump
//   ./refdump MODEL.gguf OUT.f32 ID...    (writes n_ids x n_vocab float32)
//   REFDUMP_N_CTX=N sets the context (default 512).
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "llama.h"
int main(int argc, char** argv) {
  if (argc < 4) { std::fprintf(stderr, "usage: model out.bin id...\n"); return 1; }
  llama_backend_init();
  auto mp = llama_model_default_params();
  llama_model* m = llama_model_load_from_file(argv[1], mp);
  if (!m) return 2;
  auto cp = llama_context_default_params();
  cp.n_ctx = 512; cp.n_batch = 512; cp.n_ubatch = 512; cp.n_seq_max = 1;
  if (const char* n = std::getenv("REFDUMP_N_CTX")) cp.n_ctx = uint32_t(std::atoi(n));  // e.g. LongRoPE's choice
  cp.n_threads = 2; cp.n_threads_batch = 2;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  llama_context* c = llama_init_from_model(m, cp);
  std::vector<llama_token> ids;
  for (int i = 3; i < argc; ++i) ids.push_back(std::atoi(argv[i]));
  llama_batch b = llama_batch_init(int(ids.size()), 0, 1);
  for (size_t i = 0; i < ids.size(); ++i) {
    b.token[i] = ids[i]; b.pos[i] = int(i); b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1;
  }
  b.n_tokens = int(ids.size());
  if (llama_decode(c, b)) return 3;
  const int V = llama_vocab_n_tokens(llama_model_get_vocab(m));
  FILE* f = std::fopen(argv[2], "wb");
  for (size_t i = 0; i < ids.size(); ++i) std::fwrite(llama_get_logits_ith(c, int(i)), 4, size_t(V), f);
  std::fclose(f);
  std::printf("%d x %d\n", int(ids.size()), V);
  return 0;
}
