// Every tokenizer kind (SentencePiece, byte-level BPE with several
// pre-tokenizers, WordPiece) on arbitrary bytes: encode with and without
// special-token parsing, decode what came out, and print each piece. The
// vocabularies are the shared ggml-vocab-*.gguf files, loaded once; the first
// input byte picks one (low 5 bits) and the options (high 3 bits).
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/tokenizer.hpp"

namespace {

struct Loaded {
  std::shared_ptr<tessel::Registry> reg;
  std::vector<std::shared_ptr<tessel::ModelFile>> files;
  std::vector<std::shared_ptr<tessel::Tokenizer>> toks;
};

Loaded& loaded() {
  static Loaded l = [] {
    Loaded l;
    l.reg = tessel::make_registry();
    const char* env = std::getenv("TESSEL_SHARED");
    std::filesystem::path shared = env && *env ? env : TESSEL_FUZZ_SHARED;
    std::vector<std::filesystem::path> paths;
    for (const auto& e : std::filesystem::directory_iterator(shared / "models" / "vocab"))
      if (e.path().extension() == ".gguf") paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
      auto f = tessel::open_model_file(*l.reg, p);
      l.files.push_back(f);
      l.toks.push_back(tessel::make_tokenizer(*l.reg, f, "auto"));
    }
    if (l.toks.empty()) {
      std::fprintf(stderr, "fuzz-tokenizer: no vocab files under %s/models/vocab (set TESSEL_SHARED)\n",
                   shared.c_str());
      std::abort();
    }
    return l;
  }();
  return l;
}

}  // namespace

// Loading the ten vocabularies (one of 262k tokens) takes seconds in an ASan
// build: done before the first input so it doesn't count against -timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)loaded();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Loaded& l = loaded();
  const tessel::Tokenizer& tok = *l.toks[(data[0] & 0x1f) % l.toks.size()];
  const bool parse_special = data[0] & 0x80;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    std::vector<tessel::TokenId> ids = tok.encode(text, tessel::EncodeOptions{true, parse_special});
    (void)tok.decode(ids, tessel::DecodeOptions{bool(data[0] & 0x40), bool(data[0] & 0x20)});
    for (tessel::TokenId id : ids) (void)tok.piece(id);
  } catch (const tessel::Error&) {
  }
  return 0;
}
