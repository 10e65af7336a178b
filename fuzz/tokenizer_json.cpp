// tokenizer.json import (tessel::import_hf_tokenizer, what `convert-tokenizer`
// and the safetensors format run): the input is tokenizer.json text,
// optionally followed by a NUL byte and tokenizer_config.json text. Either
// metadata comes out or tessel::Error (never an nlohmann exception, never a
// huge allocation).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz_file.hpp"
#include "tessel/error.hpp"
#include "tessel/hf_tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t tok_size = nul ? size_t(nul - data) : size;
  const auto tok = fuzz::as_file(data, tok_size, ".tokenizer.json");
  std::filesystem::path cfg;
  if (nul) cfg = fuzz::as_file(nul + 1, size - tok_size - 1, ".tokenizer_config.json");
  try {
    (void)tessel::import_hf_tokenizer(tok, cfg);
  } catch (const tessel::Error&) {
  }
  return 0;
}
