// Plugin entry: the "wpm" tokenizer (tokenizer.ggml.model = bert).
#include "wpm.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make_wpm() { return tessel::wpm::make_factory(); }
}  // namespace

TESSEL_PLUGIN("tokenizer", "wpm", "0.1.0",
              "WordPiece (llama.cpp's WPM): BERT normalization, longest-match pieces", "bert",
              make_wpm)
