// Plugin entry: the "tokens" input adapter.
#include "tokens.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make() { return tessel::inputs::make_tokens_adapter(); }
}  // namespace

TESSEL_PLUGIN("input", "tokens", "0.1.0",
              "Text through the model's tokenizer (BOS only at the start) or explicit token ids",
              "", make)
