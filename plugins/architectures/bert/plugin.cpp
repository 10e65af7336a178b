// Plugin entry: the "bert" architecture.
#include "bert.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make() { return tessel::bert::make_architecture(); }
}  // namespace

TESSEL_PLUGIN("architecture", "bert", "0.1.0",
              "BERT encoder (BGE, MiniLM): learned positions, LayerNorm, GELU FFN, CLS/mean pooling",
              "bert", make)
