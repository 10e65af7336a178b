// The "bpe" tokenizer plugin: byte-level BPE as llama.cpp runs it, for
// tokenizer.ggml.model gpt2 (every tokenizer.ggml.pre llama.cpp knows) and
// gemma4 (SPM-style BPE on raw UTF-8).
#include "bpe_tokenizer.hpp"
#include "tessel/plugin.hpp"
#include "tessel/tokenizer.hpp"

namespace {

class BpeFactory : public tessel::TokenizerFactory {
 public:
  std::unique_ptr<tessel::Tokenizer> create(const tessel::ModelFile& file) const override {
    return std::make_unique<tessel::bpe::BpeTokenizer>(file);
  }
};

std::unique_ptr<tessel::PluginObject> make_bpe() { return std::make_unique<BpeFactory>(); }

}  // namespace

TESSEL_PLUGIN("tokenizer", "bpe", "0.1.0",
              "byte-level BPE with llama.cpp's pre-tokenizers (gpt2, gemma4)", "gpt2,gemma4",
              make_bpe)
