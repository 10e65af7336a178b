// Plugin entry: the "bert" architecture.
#include "bert.hpp"
TESSEL_PLUGIN("architecture", "bert", "0.1.0",
              "BERT encoder (BGE, MiniLM): learned positions, LayerNorm, GELU FFN, CLS/mean pooling", "bert",
              []() -> std::unique_ptr<tessel::PluginObject> { return tessel::bert::make_architecture(); })
