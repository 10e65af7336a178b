#pragma once
// Hugging Face tokenizer.json import: a BPE model over SentencePiece-style
// pieces (U+2581 spaces, byte fallback, e.g. Gemma 3) becomes vocab-only GGUF
// metadata in llama.cpp's SPM ("llama") layout. Used by `tessel
// convert-tokenizer`; a library function so it can be fuzzed and tested.
#include <string>

#include "tessel/metadata.hpp"

namespace tessel {

// `config_json` is tokenizer_config.json's text, or empty. Throws
// tessel::Error naming `source` (or `config_source`) for invalid JSON, a
// layout it does not understand, or a vocabulary it cannot map.
Metadata import_tokenizer_json(const std::string& tokenizer_json, const std::string& source,
                               const std::string& config_json = "", const std::string& config_source = "");

}  // namespace tessel
