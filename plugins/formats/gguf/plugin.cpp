// Plugin entry: the "gguf" weight format (reader and writer).
#include "gguf.hpp"
#include "tessel/plugin.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make_gguf() { return std::make_unique<tessel::gguf::GgufFormat>(); }
}  // namespace

TESSEL_PLUGIN("format", "gguf", "0.1.0", "GGUF v2/v3 weights: mmap reader, byte-exact writer", "gguf", make_gguf)
