#pragma once
// llama.cpp's BPE pre-tokenizers: every tokenizer.ggml.pre value it accepts,
// the vocab defaults that value sets (llama_vocab::impl::load) and the list
// of split regexes it runs (llm_tokenizer_bpe's constructor).
#include <string>
#include <string_view>
#include <vector>

#include "tessel/vocab.hpp"

namespace tessel::bpe {

struct PreTokenizer {
  std::string name;                 // the canonical tokenizer.ggml.pre value
  std::vector<std::string> regexes;  // applied one after another, each inside the last one's pieces
  bool byte_encode = true;           // GPT-2 byte-level symbols; false: raw UTF-8 (+ <0xNN> fallback)
  bool escape_whitespaces = false;   // ' ' -> U+2581 before splitting (SPM-style BPE)
  bool clean_spaces = true;          // clean_up_tokenization_spaces on decode
  bool ignore_merges = false;        // a piece that is a whole token is taken as is
  bool add_bos = false;              // forces add_bos (the file's add_bos_token key still wins)
  bool add_sep = false;
  bool no_bos = false;               // chatglm: BOS id reset (the file's bos id still wins)
  bool newline_words_whole = false;  // gemma4: an all-'\n' piece that is a token stays whole
};

// The pre-tokenizer for a tokenizer.ggml.pre value ("" = llama.cpp's "default",
// with its warning). Throws tessel::Error naming `source` and the value when
// llama.cpp does not know it.
const PreTokenizer& find_pre_tokenizer(std::string_view pre, const std::string& source);

// Every value find_pre_tokenizer accepts (for tests and `tessel plugins`).
std::vector<std::string> known_pre_tokenizers();

// Applies a pre-tokenizer's vocab defaults the way llama.cpp's load() does for
// BPE vocabs (used as Vocab::load's PreDefaults).
void apply_pre_defaults(const PreTokenizer& p, Vocab& v);

}  // namespace tessel::bpe
