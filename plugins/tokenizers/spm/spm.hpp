#pragma once
// llama.cpp's SPM tokenizer (llm_tokenizer_spm): spaces become U+2581, a space
// is prefixed after BOS/special tokens when add_space_prefix is set, and
// adjacent symbols are merged highest score first; pieces that never formed a
// token fall back to <0xNN> byte tokens.
#include <memory>

#include "tessel/tokenizer.hpp"
#include "tessel/vocab.hpp"

namespace tessel::spm {

class SpmTokenizer : public VocabTokenizer {
 public:
  explicit SpmTokenizer(Vocab vocab);

 protected:
  void tokenize_fragment(const std::string& text, bool after_special,
                         std::vector<TokenId>& out) const override;
};

// Builds an SpmTokenizer from a file's tokenizer.ggml.* metadata.
std::unique_ptr<Tokenizer> make_tokenizer(const ModelFile& file);

// The tokenizer.ggml.model values this plugin reads and llama.cpp's defaults for them.
inline constexpr VocabModel kModels[] = {{.name = "llama", .type = VocabType::SPM, .bos = 1, .eos = 2, .unk = 0}};
std::unique_ptr<TokenizerFactory> make_factory();

}  // namespace tessel::spm
