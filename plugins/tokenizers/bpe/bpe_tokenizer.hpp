#pragma once
// llama.cpp's byte-level BPE tokenizer (llm_tokenizer_bpe_session): the text
// is split into words by the pre-tokenizer of tokenizer.ggml.pre, each word
// becomes GPT-2 byte-encoded characters (raw UTF-8 for gemma4-style vocabs),
// and adjacent symbols are merged by tokenizer.ggml.merges rank, lowest rank
// first, leftmost first on ties.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pre_types.hpp"
#include "regex_split.hpp"
#include "tessel/tensor.hpp"
#include "tessel/vocab.hpp"

namespace tessel::bpe {

// The tokenizer.ggml.model values this plugin reads and llama.cpp's defaults
// for them (gemma4's vocabularies carry their own pre-tokenizer name).
inline constexpr VocabModel kModels[] = {{.name = "gpt2", .type = VocabType::BPE, .bos = 11, .eos = 11},
                                         {.name = "gemma4", .type = VocabType::BPE, .pre = "gemma4"}};

// Merge ranks over interned strings: every token text and every string a
// merge line mentions has an id (token ids first), so the merge loop compares
// integers and never builds strings.
class Merges {
 public:
  // Reads tokenizer.ggml.merges lines ("left right"; the split is the first
  // space after the first byte, as in llama.cpp; a pair's first line wins).
  void load(const std::vector<std::string>& lines, const Vocab& vocab);

  struct Rule {
    int32_t rank;
    int32_t merged;  // id of left+right
  };
  // nullptr when the pair has no merge.
  const Rule* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t k = key(left, right);
    for (size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == k) return &s.rule;
      if (s.key == kEmpty) return nullptr;
    }
  }
  // Id of a string (a token id when it is a token); -1 when no token or merge has it.
  int32_t id_of(std::string_view s) const;
  size_t size() const { return n_rules_; }

 private:
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  static size_t hash(uint64_t k) { return size_t((k * 0x9E3779B97F4A7C15ull) >> 20); }
  int32_t intern(std::string_view s);

  // Open addressing with linear probing: the merge loop's hot lookup.
  static constexpr uint64_t kEmpty = ~uint64_t(0);  // ids are never both -1
  struct Slot {
    uint64_t key = kEmpty;
    Rule rule{};
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;

  const Vocab* vocab_ = nullptr;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> extra_;  // non-token strings
  size_t n_rules_ = 0;
};

class BpeTokenizer : public VocabTokenizer {
 public:
  // Throws tessel::Error naming the file and key when the metadata is unusable
  // (not a BPE vocabulary, unknown tokenizer.ggml.pre, missing merges...).
  explicit BpeTokenizer(const ModelFile& file);

  const PreTokenizer& pre_tokenizer() const { return *pre_; }
  // The words one raw-text fragment splits into (after whitespace escaping).
  std::vector<std::string> words(const std::string& text) const;

 protected:
  void tokenize_fragment(const std::string& text, bool after_special,
                         std::vector<TokenId>& out) const override;

 private:
  void tokenize_word(std::string_view word, std::vector<TokenId>& out) const;
  void emit_unknown(std::string_view text, std::vector<TokenId>& out) const;
  // Interned id of the one-character symbol `ch`.
  int32_t symbol_id(std::string_view ch) const;

  const PreTokenizer* pre_ = nullptr;
  std::unique_ptr<Splitter> splitter_;
  Merges merges_;
  TokenId byte_token_[256];  // fallback per raw byte of a symbol that is not a token
  // Interned ids of the GPT-2 byte characters, by code point (U+0021..U+0143).
  std::vector<int32_t> gpt2_char_id_;
};

}  // namespace tessel::bpe
