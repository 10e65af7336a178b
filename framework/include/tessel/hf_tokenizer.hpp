#pragma once
// Hugging Face tokenizer.json (+ tokenizer_config.json) as GGUF tokenizer.* (BPE or WordPiece)
// metadata, laid out as llama.cpp's convert_hf_to_gguf.py lays it out. Used
// by `tessel convert-tokenizer` and by the safetensors checkpoint format.
#include <cstdint>
#include <filesystem>

#include "tessel/metadata.hpp"

namespace tessel {

// `config` may be empty (no tokenizer_config.json). Throws tessel::Error
// naming the file and the key that is missing or unsupported.
// `n_vocab` (config.json's vocab_size, 0 if unknown) pads the token list to the
// embedding's row count with [PADn] tokens, as llama.cpp's converter does.
Metadata import_hf_tokenizer(const std::filesystem::path& tokenizer_json, const std::filesystem::path& config,
                             int64_t n_vocab = 0);

}  // namespace tessel
