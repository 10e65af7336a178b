// tokenizer.json import: the input is tokenizer.json text, optionally
// followed by a NUL byte and tokenizer_config.json text. Either metadata comes
// out or tessel::Error (never an nlohmann exception, never a huge allocation).
#include <cstddef>
#include <cstdint>
#include <string>

#include "tessel/error.hpp"
#include "tessel/tokenizer_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string all(reinterpret_cast<const char*>(data), size);
  const size_t nul = all.find('\0');
  const std::string tok = all.substr(0, nul);
  const std::string cfg = nul == std::string::npos ? "" : all.substr(nul + 1);
  try {
    (void)tessel::import_tokenizer_json(tok, "tokenizer.json", cfg, cfg.empty() ? "" : "tokenizer_config.json");
  } catch (const tessel::Error&) {
  }
  return 0;
}
