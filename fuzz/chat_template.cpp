// The chat-template (Jinja) engine: the input is a template, optionally
// followed by a NUL and a messages JSON document (seeds: the shared real
// models' templates with each shared conversation). Parsing and rendering
// must either work or throw tessel::Error; the hook lives next to the engine
// (tessel::chat_template_fuzz_one) so it sees the engine's own types.
#include <cstddef>
#include <cstdint>

#include "tessel/jinja.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return tessel::chat_template_fuzz_one(data, size);
}
