// Plugin entry: the "spm" tokenizer (tokenizer.ggml.model = llama).
#include "spm.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make_spm() { return tessel::spm::make_factory(); }
}  // namespace

TESSEL_PLUGIN("tokenizer", "spm", "0.1.0",
              "SentencePiece-style BPE (llama.cpp's SPM): score-ordered merges, byte fallback",
              "llama", make_spm)
