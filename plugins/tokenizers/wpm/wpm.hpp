#pragma once
// llama.cpp's WPM tokenizer (llm_tokenizer_wpm): BERT-style normalization
// (lower-casing, accent stripping through NFD, control characters dropped),
// words split on whitespace, punctuation, ASCII symbols and CJK ideographs,
// then each "\u2581"+word covered by the longest vocabulary matches from the
// left (llama.cpp's converter stores word starts with U+2581 and continuations
// without "##"). A word that cannot be covered becomes [UNK].
#include <memory>
#include <string>
#include <vector>

#include "tessel/tokenizer.hpp"
#include "tessel/vocab.hpp"

namespace tessel::wpm {

class WpmTokenizer : public VocabTokenizer {
 public:
  explicit WpmTokenizer(Vocab vocab);

  // The normalized words of `text` (exposed for tests).
  static std::vector<std::string> preprocess(std::string_view text, bool lowercase,
                                             bool strip_accents);

 protected:
  void tokenize_fragment(const std::string& text, bool after_special,
                         std::vector<TokenId>& out) const override;
};

std::unique_ptr<Tokenizer> make_tokenizer(const ModelFile& file);

// The tokenizer.ggml.model values this plugin reads and llama.cpp's defaults for them.
inline constexpr VocabModel kModels[] = {
    {.name = "bert", .type = VocabType::WPM, .bos = 101, .unk = 100, .sep = 102, .pad = 0, .mask = 103}};
std::unique_ptr<TokenizerFactory> make_factory();

}  // namespace tessel::wpm
